// Status propagation macros for code returning `absl::Status` or
// `absl::StatusOr<T>`. Debian's Abseil 20220623 has no macros of its own; ours
// carry the `MVL_` prefix so they never collide with a later Abseil's.
#ifndef MAMMOVL_CORE_STATUS_MACROS_H_
#define MAMMOVL_CORE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an `absl::Status` or `absl::StatusOr<T>`) once and returns
// its status from the enclosing function when it is not OK.
#define MVL_RETURN_IF_ERROR(expr)                                      \
  do {                                                                 \
    const absl::Status mvl_status_ =                                   \
        ::mammovl::core_internal::ToStatus((expr));                    \
    if (!mvl_status_.ok()) return mvl_status_;                         \
  } while (false)

// Evaluates `rexpr` (an `absl::StatusOr<T>`); on error returns its status from
// the enclosing function, otherwise move-assigns the value to `lhs`, which
// may be a declaration (`auto x`, `const Foo& y` is not allowed) or an
// existing lvalue. Use at statement level only.
#define MVL_ASSIGN_OR_RETURN(lhs, rexpr)                                \
  MVL_ASSIGN_OR_RETURN_IMPL_(                                           \
      MVL_STATUS_MACROS_CONCAT_(mvl_statusor_, __LINE__), lhs, rexpr)

#define MVL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#define MVL_STATUS_MACROS_CONCAT_INNER_(x, y) x##y
#define MVL_STATUS_MACROS_CONCAT_(x, y) MVL_STATUS_MACROS_CONCAT_INNER_(x, y)

namespace mammovl::core_internal {

inline const absl::Status& ToStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& ToStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace mammovl::core_internal

#endif  // MAMMOVL_CORE_STATUS_MACROS_H_
