// File helpers with the guarantees MammoVL's outputs rely on: a file written
// through `AtomicFileWriter` / `WriteFileAtomically` either appears complete
// under its final name or not at all (temp file in the same folder, fsync,
// rename, fsync of the folder). `MappedFile` gives zero-copy read access.
// All errors name the path. No LibTorch.
#ifndef MAMMOVL_CORE_FILE_IO_H_
#define MAMMOVL_CORE_FILE_IO_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::core {

// Returns the whole content of `path`. NotFound if it does not exist.
absl::StatusOr<std::string> ReadFileToString(absl::string_view path);

// Writes `contents` to `path` atomically (see `AtomicFileWriter`).
absl::Status WriteFileAtomically(absl::string_view path,
                                 absl::string_view contents);

// Creates `path` and its missing parents (like `mkdir -p`).
absl::Status MakeDirectories(absl::string_view path);

// Returns true if `path` names an existing file or folder.
bool PathExists(absl::string_view path);

// Returns the size in bytes of the file at `path`.
absl::StatusOr<int64_t> FileSize(absl::string_view path);

// Removes the temporary files `AtomicFileWriter` leaves behind when its
// process is killed before `Commit()`: hidden files named
// `.<name>.tmp.<pid>.<n>` in `dir` (and its subfolders when `recursive`)
// whose pid is no running process on this machine. Files of live writers
// are kept. A missing `dir` is not an error. Returns how many were removed.
// Run it at the start of a run that owns `dir` (e.g. before resuming).
absl::StatusOr<int64_t> RemoveStaleTempFiles(absl::string_view dir, bool recursive);

// True if `name` (a file name without folder) is an `AtomicFileWriter`
// temporary file name; sets `*pid` to the writer's process id.
bool IsAtomicTempFileName(absl::string_view name, int64_t* pid);

// Writes a file under a temporary name in the target's folder and moves it to
// its final name only in `Commit()`. If the writer is destroyed without a
// successful `Commit()`, the temporary file is removed and the previous file
// at `path` (if any) is untouched. Not thread-safe. Movable, not copyable.
class AtomicFileWriter {
 public:
  // Opens a temporary file next to `path`. The folder must exist.
  static absl::StatusOr<AtomicFileWriter> Open(absl::string_view path);

  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  // Appends `data`. Errors (e.g. ResourceExhausted on a full disk) name the
  // final path; after an error only destruction is meaningful.
  absl::Status Append(absl::string_view data);

  // Flushes and fsyncs the data, renames the file to its final name and
  // fsyncs the folder. The writer is closed afterwards.
  absl::Status Commit();

  const std::string& path() const { return path_; }

 private:
  AtomicFileWriter(std::string path, std::string temp_path, int fd)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}
  void Abandon();

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
};

// A read-only memory mapping of a whole file. An empty file maps to an empty
// view. Movable, not copyable; unmaps on destruction.
class MappedFile {
 public:
  static absl::StatusOr<MappedFile> Open(absl::string_view path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  absl::string_view data() const {
    return absl::string_view(static_cast<const char*>(addr_), size_);
  }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, void* addr, size_t size)
      : path_(std::move(path)), addr_(addr), size_(size) {}
  void Unmap();

  std::string path_;
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_FILE_IO_H_
