// Read-only access to zip archives such as the container `torch.save` writes:
// the central directory (ZIP64 included) is parsed from a `MappedFile`, stored
// entries are returned as zero-copy views and deflated entries are inflated.
// Every offset and length is checked against the file size. No LibTorch.
#ifndef MAMMOVL_CORE_ZIP_ARCHIVE_H_
#define MAMMOVL_CORE_ZIP_ARCHIVE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/file_io.h"

namespace mammovl::core {

// One file in a zip archive, as described by its central directory record
// and checked against its local header.
struct ZipEntry {
  enum class Method { kStored = 0, kDeflated = 8 };

  std::string name;
  Method method = Method::kStored;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
  // Offset of the first byte of the (possibly compressed) data in the file.
  uint64_t data_offset = 0;
};

class ZipArchive {
 public:
  struct Options {
    // Check each entry's CRC-32 when it is read.
    bool verify_crc32 = true;
    // Upper bound on the number of entries, against hostile directories.
    uint64_t max_entries = 1 << 20;
  };

  // Maps `path` and parses its central directory. Errors name the file:
  // NotFound if it does not exist, InvalidArgument if it is not a zip archive
  // (no end-of-central-directory record), DataLoss if records are truncated,
  // inconsistent or point outside the file, Unimplemented for multi-disk
  // archives, encryption and compression methods other than stored/deflated.
  static absl::StatusOr<ZipArchive> Open(absl::string_view path,
                                         const Options& options);
  static absl::StatusOr<ZipArchive> Open(absl::string_view path) {
    return Open(path, Options());
  }

  ZipArchive(ZipArchive&&) = default;
  ZipArchive& operator=(ZipArchive&&) = default;
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  // Entries in central-directory order.
  const std::vector<ZipEntry>& entries() const { return entries_; }

  // Returns the entry called `name`, or nullptr.
  const ZipEntry* Find(absl::string_view name) const;

  // Returns the uncompressed bytes of `entry` (which must come from this
  // archive). Stored entries are a view into the mapping, valid as long as
  // the archive; deflated entries are inflated into `*buffer` and the view
  // points there. DataLoss (naming the file and the entry) on a CRC mismatch,
  // corrupt deflate data or a size that differs from the directory's.
  absl::StatusOr<absl::string_view> Read(const ZipEntry& entry,
                                         std::string* buffer) const;

  const std::string& path() const { return file_.path(); }

 private:
  ZipArchive(MappedFile file, Options options)
      : file_(std::move(file)), options_(options) {}
  absl::Status Parse();

  MappedFile file_;
  Options options_;
  std::vector<ZipEntry> entries_;
  absl::flat_hash_map<std::string, size_t> index_;
};

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_ZIP_ARCHIVE_H_
