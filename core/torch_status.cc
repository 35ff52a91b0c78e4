#include "core/torch_status.h"

#include <stdexcept>
#include <string>

#include <glog/logging.h>

#include "absl/strings/str_cat.h"

namespace mammovl::core {
namespace {

std::string Message(absl::string_view context, absl::string_view what) {
  // Torch messages sometimes end with a newline; keep statuses on one line.
  while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) {
    what.remove_suffix(1);
  }
  return context.empty() ? std::string(what) : absl::StrCat(context, ": ", what);
}

}  // namespace

absl::Status StatusFromTorchError(absl::string_view context, const c10::Error& error) {
  VLOG(1) << context << ": " << error.what();
  const std::string message = Message(context, error.what_without_backtrace());
  if (dynamic_cast<const c10::IndexError*>(&error) != nullptr ||
      dynamic_cast<const c10::ValueError*>(&error) != nullptr ||
      dynamic_cast<const c10::TypeError*>(&error) != nullptr) {
    return absl::InvalidArgumentError(message);
  }
  if (dynamic_cast<const c10::NotImplementedError*>(&error) != nullptr) {
    return absl::UnimplementedError(message);
  }
  if (dynamic_cast<const c10::OutOfMemoryError*>(&error) != nullptr) {
    return absl::ResourceExhaustedError(message);
  }
  return absl::InternalError(message);
}

absl::Status StatusFromException(absl::string_view context, const std::exception& error) {
  const std::string message = Message(context, error.what());
  if (dynamic_cast<const std::bad_alloc*>(&error) != nullptr) {
    return absl::ResourceExhaustedError(message);
  }
  if (dynamic_cast<const std::invalid_argument*>(&error) != nullptr ||
      dynamic_cast<const std::out_of_range*>(&error) != nullptr) {
    return absl::InvalidArgumentError(message);
  }
  return absl::InternalError(message);
}

}  // namespace mammovl::core
