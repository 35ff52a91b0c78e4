// The boundary between LibTorch, which reports errors by throwing
// `c10::Error`, and MammoVL's `absl::Status` APIs. Library entry points that
// call into torch wrap the call in `RunTorch`, so no exception escapes them.
// Includes only c10's exception header, not <torch/torch.h>.
#ifndef MAMMOVL_CORE_TORCH_STATUS_H_
#define MAMMOVL_CORE_TORCH_STATUS_H_

#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include <c10/util/Exception.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::core {

// Returns the Status for a caught torch error, prefixed with `context`:
// IndexError/ValueError/TypeError → InvalidArgument, NotImplementedError →
// Unimplemented, OutOfMemoryError → ResourceExhausted, others → Internal.
// The message is the error without its C++ backtrace.
absl::Status StatusFromTorchError(absl::string_view context, const c10::Error& error);

// Returns the Status for any other caught exception: std::bad_alloc →
// ResourceExhausted, std::invalid_argument/out_of_range → InvalidArgument,
// others → Internal.
absl::Status StatusFromException(absl::string_view context, const std::exception& error);

// Runs `f()` and returns its result, or the Status for what it threw.
// `f` returning void gives `absl::Status`; `f` returning `absl::Status` or
// `absl::StatusOr<T>` is passed through; any other `T` gives
// `absl::StatusOr<T>`. `context` says what was being done
// ("loading encoder from 'x.tar'") and starts the error message.
template <typename F>
auto RunTorch(absl::string_view context, F&& f) {
  using R = std::invoke_result_t<F>;
  using Out = std::conditional_t<std::is_void_v<R>, absl::Status,
              std::conditional_t<std::is_same_v<R, absl::Status>, absl::Status,
                                 absl::StatusOr<R>>>;
  constexpr bool kIsStatusOr =
      !std::is_void_v<R> && !std::is_same_v<R, absl::Status> &&
      std::is_constructible_v<R, absl::Status> &&
      std::is_same_v<R, std::decay_t<R>>;
  using Result = std::conditional_t<kIsStatusOr, R, Out>;
  try {
    if constexpr (std::is_void_v<R>) {
      std::forward<F>(f)();
      return Result(absl::OkStatus());
    } else {
      return Result(std::forward<F>(f)());
    }
  } catch (const c10::Error& e) {
    return Result(StatusFromTorchError(context, e));
  } catch (const std::exception& e) {
    return Result(StatusFromException(context, e));
  } catch (...) {
    return Result(absl::InternalError(std::string(context) + ": unknown exception"));
  }
}

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_TORCH_STATUS_H_
