// Keeps paths read from tables (image lists, label tables) inside the folder
// they are relative to. A table row naming "../../etc/shadow", an absolute
// path or a symlink that leads out of the dataset root is refused with a
// message naming the table, row and field, unless the configuration allows
// paths outside the root. No LibTorch.
#ifndef MAMMOVL_CORE_PATH_CONFINEMENT_H_
#define MAMMOVL_CORE_PATH_CONFINEMENT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mammovl::core {

class PathConfinement {
 public:
  // `root`: the folder table paths are joined to ("" = the working folder).
  // `allow_outside`: every path is accepted (a config's
  // `allow_paths_outside_root`).
  PathConfinement(std::string root, bool allow_outside);

  // Checks `path`, made by joining `root` and parts read from a table (as
  // `root + "/" + relative`): the relative part must not be absolute (nor
  // hold "//", the mark of an absolute part joined to a relative one), its
  // ".." components must never climb above `root`, and, with
  // `resolve_symlinks` and an existing file, the file's real path (symlinks
  // resolved) must lie inside the root's real path. InvalidArgument
  // starting with `where` (table, row, field) otherwise.
  absl::Status Check(absl::string_view path, absl::string_view where,
                     bool resolve_symlinks) const;

  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::string real_root_;  // empty when the root does not exist
  bool allow_outside_;
};

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_PATH_CONFINEMENT_H_
