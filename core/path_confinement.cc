#include "core/path_confinement.h"

#include <limits.h>
#include <stdlib.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mammovl::core {
namespace {

std::string RealPath(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) return std::string();
  std::string out(real);
  ::free(real);
  return out;
}

absl::Status Refuse(absl::string_view where, absl::string_view path, absl::string_view root,
                    absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      where, ": path '", path, "' ", why, " the dataset root '", root.empty() ? "." : root,
      "'; paths from tables must stay inside it (set allow_paths_outside_root to allow "
      "others)"));
}

}  // namespace

PathConfinement::PathConfinement(std::string root, bool allow_outside)
    : root_(std::move(root)), allow_outside_(allow_outside) {
  if (!allow_outside_) real_root_ = RealPath(root_.empty() ? "." : root_);
}

absl::Status PathConfinement::Check(absl::string_view path, absl::string_view where,
                                    bool resolve_symlinks) const {
  if (allow_outside_) return absl::OkStatus();
  absl::string_view relative = path;
  if (!root_.empty() && absl::ConsumePrefix(&relative, root_)) {
    // The separator the join added (none when root ends with '/').
    if (root_.back() != '/' && !absl::ConsumePrefix(&relative, "/")) relative = path;
  } else if (!root_.empty()) {
    relative = path;  // not made from root: judged as a whole
  }
  if (absl::StartsWith(relative, "/")) return Refuse(where, path, root_, "is absolute, outside");
  int depth = 0;
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    // "a//b": an absolute value joined to a relative one.
    if (part.empty()) return Refuse(where, path, root_, "has an absolute part ('//'), outside");
    if (part == ".") continue;
    if (part == "..") {
      if (--depth < 0) return Refuse(where, path, root_, "climbs ('..') out of");
    } else {
      ++depth;
    }
  }
  if (resolve_symlinks && !real_root_.empty()) {
    const std::string real = RealPath(std::string(path));
    if (!real.empty() && real != real_root_ &&
        !absl::StartsWith(real, real_root_ == "/" ? "/" : real_root_ + "/")) {
      return Refuse(where, path, root_,
                    absl::StrCat("resolves (through a symlink) to '", real, "', outside"));
    }
  }
  return absl::OkStatus();
}

}  // namespace mammovl::core
