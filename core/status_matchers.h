// GoogleTest matchers for `absl::Status` / `absl::StatusOr<T>` (Debian's
// Abseil predates its own): `IsOk()`, `StatusIs(code, message_matcher)`, and
// the `MVL_EXPECT_OK`, `MVL_ASSERT_OK`, `MVL_ASSERT_OK_AND_ASSIGN` macros.
// Test-only.
#ifndef MAMMOVL_CORE_STATUS_MATCHERS_H_
#define MAMMOVL_CORE_STATUS_MATCHERS_H_

#include <ostream>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace status_matchers_internal {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOkMatcher, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

MATCHER_P2(StatusIsMatcher, code, message_matcher,
           "has code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

}  // namespace status_matchers_internal

inline auto IsOk() { return status_matchers_internal::IsOkMatcher(); }

template <typename M>
auto StatusIs(absl::StatusCode code, M message_matcher) {
  return status_matchers_internal::StatusIsMatcher(
      code, ::testing::Matcher<std::string>(message_matcher));
}
inline auto StatusIs(absl::StatusCode code) {
  return StatusIs(code, ::testing::_);
}

}  // namespace mammovl::core

#define MVL_EXPECT_OK(expr) EXPECT_THAT((expr), ::mammovl::core::IsOk())
#define MVL_ASSERT_OK(expr) ASSERT_THAT((expr), ::mammovl::core::IsOk())

#define MVL_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                           \
  MVL_ASSERT_OK_AND_ASSIGN_IMPL_(                                      \
      MVL_MATCHERS_CONCAT_(mvl_matchers_statusor_, __LINE__), lhs, rexpr)
#define MVL_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr)            \
  auto statusor = (rexpr);                                              \
  ASSERT_TRUE(statusor.ok()) << statusor.status();                      \
  lhs = std::move(statusor).value()
#define MVL_MATCHERS_CONCAT_INNER_(x, y) x##y
#define MVL_MATCHERS_CONCAT_(x, y) MVL_MATCHERS_CONCAT_INNER_(x, y)

#endif  // MAMMOVL_CORE_STATUS_MATCHERS_H_
