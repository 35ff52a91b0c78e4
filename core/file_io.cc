#include "core/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mammovl::core {
namespace {

absl::Status ErrnoStatus(int err, absl::string_view what,
                         absl::string_view path) {
  std::string message = absl::StrCat(what, " '", path, "': ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EFBIG:
    case EDQUOT:
    case ENOMEM:
      return absl::ResourceExhaustedError(message);
    case EISDIR:
    case ENOTDIR:
    case ENAMETOOLONG:
      return absl::InvalidArgumentError(message);
    default:
      return absl::UnknownError(message);
  }
}

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status FsyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open folder", dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems do not support fsync on folders; that is not an error.
  if (rc != 0 && err != EINVAL && err != EROFS) {
    return ErrnoStatus(err, "cannot fsync folder", dir);
  }
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(absl::string_view path) {
  const std::string p(path);
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", p);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "cannot stat", p);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat("'", p, "' is a folder, not a file"));
  }
  std::string out;
  out.reserve(st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0);
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "cannot read", p);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

absl::Status WriteFileAtomically(absl::string_view path,
                                 absl::string_view contents) {
  absl::StatusOr<AtomicFileWriter> writer = AtomicFileWriter::Open(path);
  if (!writer.ok()) return writer.status();
  if (absl::Status s = writer->Append(contents); !s.ok()) return s;
  return writer->Commit();
}

absl::Status MakeDirectories(absl::string_view path) {
  std::string p(path);
  if (p.empty()) return absl::InvalidArgumentError("empty folder path");
  for (size_t i = 1; i <= p.size(); ++i) {
    if (i != p.size() && p[i] != '/') continue;
    const std::string prefix = p.substr(0, i);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "cannot create folder", prefix);
    }
  }
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return ErrnoStatus(errno, "cannot stat", p);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("'", p, "' exists and is not a folder"));
  }
  return absl::OkStatus();
}

bool PathExists(absl::string_view path) {
  struct stat st;
  return ::stat(std::string(path).c_str(), &st) == 0;
}

absl::StatusOr<int64_t> FileSize(absl::string_view path) {
  struct stat st;
  const std::string p(path);
  if (::stat(p.c_str(), &st) != 0) return ErrnoStatus(errno, "cannot stat", p);
  return static_cast<int64_t>(st.st_size);
}

bool IsAtomicTempFileName(absl::string_view name, int64_t* pid) {
  // ".<base>.tmp.<pid>.<counter>" with a non-empty base.
  if (name.size() < 2 || name[0] != '.') return false;
  const size_t last_dot = name.rfind('.');
  if (last_dot == absl::string_view::npos || last_dot == 0) return false;
  const size_t pid_dot = name.rfind('.', last_dot - 1);
  if (pid_dot == absl::string_view::npos || pid_dot < 5) return false;
  if (name.substr(pid_dot - 4, 4) != ".tmp" || pid_dot - 4 < 2) return false;
  uint64_t counter = 0;
  int64_t p = 0;
  if (!absl::SimpleAtoi(name.substr(last_dot + 1), &counter)) return false;
  if (!absl::SimpleAtoi(name.substr(pid_dot + 1, last_dot - pid_dot - 1), &p) || p <= 0) {
    return false;
  }
  if (pid != nullptr) *pid = p;
  return true;
}

absl::StatusOr<int64_t> RemoveStaleTempFiles(absl::string_view dir, bool recursive) {
  const std::string root(dir);
  DIR* handle = ::opendir(root.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return 0;
    return ErrnoStatus(errno, "cannot list folder", root);
  }
  int64_t removed = 0;
  std::vector<std::string> subdirs;
  absl::Status status;
  while (true) {
    errno = 0;
    const struct dirent* entry = ::readdir(handle);
    if (entry == nullptr) {
      if (errno != 0) status = ErrnoStatus(errno, "cannot list folder", root);
      break;
    }
    const absl::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    const std::string path = absl::StrCat(root, "/", name);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;  // gone meanwhile
    if (S_ISDIR(st.st_mode)) {
      if (recursive) subdirs.push_back(path);
      continue;
    }
    int64_t pid = 0;
    if (!S_ISREG(st.st_mode) || !IsAtomicTempFileName(name, &pid)) continue;
    // A writer that still runs keeps its file (kill(pid, 0) succeeds, or
    // fails with EPERM for another user's live process).
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      status = ErrnoStatus(errno, "cannot remove stale temporary file", path);
      break;
    }
    ++removed;
  }
  ::closedir(handle);
  if (!status.ok()) return status;
  for (const std::string& sub : subdirs) {
    absl::StatusOr<int64_t> n = RemoveStaleTempFiles(sub, true);
    if (!n.ok()) return n.status();
    removed += *n;
  }
  return removed;
}

// --- AtomicFileWriter ------------------------------------------------------

absl::StatusOr<AtomicFileWriter> AtomicFileWriter::Open(absl::string_view path) {
  static std::atomic<uint64_t> counter{0};
  std::string final_path(path);
  if (final_path.empty() || final_path.back() == '/') {
    return absl::InvalidArgumentError(absl::StrCat("not a file path: '", final_path, "'"));
  }
  // Hidden name in the same folder, so rename() stays on one file system and
  // half-written files are never mistaken for outputs.
  const std::string dir = DirName(final_path);
  const std::string base = final_path.substr(final_path.rfind('/') + 1);
  const std::string temp_path =
      absl::StrCat(dir, "/.", base, ".tmp.", ::getpid(), ".", counter++);
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "cannot create temporary file for", final_path);
  return AtomicFileWriter(std::move(final_path), temp_path, fd);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(std::exchange(other.fd_, -1)) {}

AtomicFileWriter& AtomicFileWriter::operator=(AtomicFileWriter&& other) noexcept {
  if (this != &other) {
    Abandon();
    path_ = std::move(other.path_);
    temp_path_ = std::move(other.temp_path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

AtomicFileWriter::~AtomicFileWriter() { Abandon(); }

void AtomicFileWriter::Abandon() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
    fd_ = -1;
  }
}

absl::Status AtomicFileWriter::Append(absl::string_view data) {
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat("'", path_, "' is already closed"));
  return WriteAll(fd_, data, path_);
}

absl::Status AtomicFileWriter::Commit() {
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat("'", path_, "' is already closed"));
  if (::fsync(fd_) != 0) {
    const int err = errno;
    Abandon();
    return ErrnoStatus(err, "cannot fsync", path_);
  }
  if (::close(fd_) != 0) {
    const int err = errno;
    fd_ = -1;
    ::unlink(temp_path_.c_str());
    return ErrnoStatus(err, "cannot close", path_);
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp_path_.c_str());
    return ErrnoStatus(err, "cannot rename temporary file to", path_);
  }
  return FsyncDirectory(DirName(path_));
}

// --- MappedFile ------------------------------------------------------------

absl::StatusOr<MappedFile> MappedFile::Open(absl::string_view path) {
  std::string p(path);
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", p);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "cannot stat", p);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat("'", p, "' is not a regular file"));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* addr = nullptr;
  if (size > 0) {
    addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "cannot map", p);
    }
  }
  ::close(fd);
  return MappedFile(std::move(p), addr, size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      addr_(std::exchange(other.addr_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Unmap();
    path_ = std::move(other.path_);
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { Unmap(); }

void MappedFile::Unmap() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
  addr_ = nullptr;
  size_ = 0;
}

}  // namespace mammovl::core
