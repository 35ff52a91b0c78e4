#include "core/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mammovl::core {
namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndOfCentralDirSignature = 0x06054b50;
constexpr uint32_t kZip64EndOfCentralDirSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;

constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndOfCentralDirSize = 22;
constexpr size_t kZip64EndOfCentralDirSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kMaxCommentSize = 0xffff;
constexpr uint16_t kZip64ExtraId = 0x0001;

// Deflate cannot compress better than about 1032:1; a directory that claims
// more is lying, and believing it would allocate unbounded memory.
constexpr uint64_t kMaxDeflateRatio = 1032;

uint16_t Le16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(u[0] | (u[1] << 8));
}
uint32_t Le32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) | (static_cast<uint32_t>(u[1]) << 8) |
         (static_cast<uint32_t>(u[2]) << 16) |
         (static_cast<uint32_t>(u[3]) << 24);
}
uint64_t Le64(const char* p) {
  return static_cast<uint64_t>(Le32(p)) |
         (static_cast<uint64_t>(Le32(p + 4)) << 32);
}

// True if [offset, offset + length) lies within [0, limit).
bool InRange(uint64_t offset, uint64_t length, uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

std::string Where(absl::string_view path) {
  return absl::StrCat("zip archive '", path, "'");
}
std::string Where(absl::string_view path, absl::string_view entry) {
  return absl::StrCat("zip archive '", path, "', entry '", entry, "'");
}

// Replaces the 0xffffffff placeholders of a central directory record with the
// values of its ZIP64 extended-information extra field.
absl::Status ApplyZip64Extra(absl::string_view extra, absl::string_view path,
                             ZipEntry* entry, bool need_uncompressed,
                             bool need_compressed, bool need_offset) {
  while (!extra.empty()) {
    if (extra.size() < 4) {
      return absl::DataLossError(absl::StrCat(
          Where(path, entry->name), ": truncated extra field header"));
    }
    const uint16_t id = Le16(extra.data());
    const uint16_t size = Le16(extra.data() + 2);
    extra.remove_prefix(4);
    if (size > extra.size()) {
      return absl::DataLossError(absl::StrCat(
          Where(path, entry->name), ": extra field 0x", absl::Hex(id), " of ",
          size, " bytes overruns the record"));
    }
    absl::string_view body = extra.substr(0, size);
    extra.remove_prefix(size);
    if (id != kZip64ExtraId) continue;
    auto take = [&](uint64_t* out, const char* what) -> absl::Status {
      if (body.size() < 8) {
        return absl::DataLossError(absl::StrCat(
            Where(path, entry->name), ": ZIP64 extra field lacks the ", what));
      }
      *out = Le64(body.data());
      body.remove_prefix(8);
      return absl::OkStatus();
    };
    if (need_uncompressed) {
      MVL_RETURN_IF_ERROR(take(&entry->uncompressed_size, "uncompressed size"));
      need_uncompressed = false;
    }
    if (need_compressed) {
      MVL_RETURN_IF_ERROR(take(&entry->compressed_size, "compressed size"));
      need_compressed = false;
    }
    if (need_offset) {
      MVL_RETURN_IF_ERROR(
          take(&entry->local_header_offset, "local header offset"));
      need_offset = false;
    }
  }
  if (need_uncompressed || need_compressed || need_offset) {
    return absl::DataLossError(
        absl::StrCat(Where(path, entry->name),
                     ": sizes or offset marked as ZIP64 but no ZIP64 extra "
                     "field holds them"));
  }
  return absl::OkStatus();
}

absl::Status Inflate(absl::string_view in, uint64_t expected_size,
                     std::string* out, absl::string_view path,
                     absl::string_view name) {
  // One spare byte reveals a stream that inflates to more than declared.
  out->assign(static_cast<size_t>(expected_size) + 1, '\0');
  z_stream stream;
  std::memset(&stream, 0, sizeof(stream));
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) {
    return absl::ResourceExhaustedError(
        absl::StrCat(Where(path, name), ": cannot initialise zlib"));
  }
  // zlib counts in uInt (32 bits): feed large buffers in pieces.
  constexpr uint64_t kChunk = std::numeric_limits<uInt>::max();
  size_t in_pos = 0;
  size_t out_pos = 0;
  int rc = Z_OK;
  while (true) {
    if (stream.avail_in == 0 && in_pos < in.size()) {
      const uint64_t n = std::min<uint64_t>(kChunk, in.size() - in_pos);
      stream.next_in =
          reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
      stream.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    if (stream.avail_out == 0 && out_pos < out->size()) {
      const uint64_t n = std::min<uint64_t>(kChunk, out->size() - out_pos);
      stream.next_out = reinterpret_cast<Bytef*>(&(*out)[out_pos]);
      stream.avail_out = static_cast<uInt>(n);
      out_pos += n;
    }
    rc = inflate(&stream, Z_NO_FLUSH);
    // Z_BUF_ERROR: no progress possible (input or output exhausted).
    if (rc != Z_OK) break;
  }
  const uint64_t produced = stream.total_out;
  inflateEnd(&stream);
  if (produced > expected_size) {
    return absl::DataLossError(
        absl::StrCat(Where(path, name), ": inflates to more than the ",
                     expected_size, " bytes the directory declares"));
  }
  if (rc != Z_STREAM_END) {
    return absl::DataLossError(absl::StrCat(
        Where(path, name), ": corrupt or truncated deflate data (zlib code ",
        rc, " after ", produced, " of ", expected_size, " bytes)"));
  }
  if (produced != expected_size) {
    return absl::DataLossError(
        absl::StrCat(Where(path, name), ": inflates to ", produced,
                     " bytes, the directory declares ", expected_size));
  }
  out->resize(static_cast<size_t>(expected_size));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ZipArchive> ZipArchive::Open(absl::string_view path,
                                            const Options& options) {
  MVL_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  ZipArchive archive(std::move(file), options);
  MVL_RETURN_IF_ERROR(archive.Parse());
  return archive;
}

absl::Status ZipArchive::Parse() {
  const absl::string_view data = file_.data();
  const std::string& path = file_.path();
  const uint64_t size = data.size();
  if (size < kEndOfCentralDirSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        Where(path), ": not a zip archive (", size,
        " bytes, too short for an end-of-central-directory record)"));
  }

  // The end-of-central-directory record is the last 22 bytes plus a comment
  // of at most 64 KiB; search backwards for its signature.
  uint64_t eocd = std::numeric_limits<uint64_t>::max();
  const uint64_t lowest = size - kEndOfCentralDirSize > kMaxCommentSize
                              ? size - kEndOfCentralDirSize - kMaxCommentSize
                              : 0;
  // The signature may also occur inside a comment. Prefer a record whose
  // central directory ends right where the record (or its ZIP64 locator)
  // begins, as in every archive without prepended data; otherwise take the
  // last record whose comment fits in the file.
  uint64_t fallback = std::numeric_limits<uint64_t>::max();
  for (uint64_t pos = size - kEndOfCentralDirSize + 1; pos-- > lowest;) {
    if (Le32(data.data() + pos) != kEndOfCentralDirSignature ||
        Le16(data.data() + pos + 20) > size - pos - kEndOfCentralDirSize) {
      continue;
    }
    const uint64_t cd_end =
        static_cast<uint64_t>(Le32(data.data() + pos + 12)) +
        Le32(data.data() + pos + 16);
    const bool zip64_locator =
        pos >= kZip64LocatorSize &&
        Le32(data.data() + pos - kZip64LocatorSize) == kZip64LocatorSignature;
    if (cd_end == pos || zip64_locator) {
      eocd = pos;
      break;
    }
    if (fallback == std::numeric_limits<uint64_t>::max()) fallback = pos;
  }
  if (eocd == std::numeric_limits<uint64_t>::max()) eocd = fallback;
  if (eocd == std::numeric_limits<uint64_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        Where(path),
        ": not a zip archive or truncated (no end-of-central-directory "
        "record)"));
  }
  const char* e = data.data() + eocd;
  uint32_t disk = Le16(e + 4);
  uint32_t cd_disk = Le16(e + 6);
  uint64_t entries_on_disk = Le16(e + 8);
  uint64_t entry_count = Le16(e + 10);
  uint64_t cd_size = Le32(e + 12);
  uint64_t cd_offset = Le32(e + 16);
  // The central directory must end where the (ZIP64) end records begin.
  uint64_t cd_limit = eocd;

  if (eocd >= kZip64LocatorSize &&
      Le32(data.data() + eocd - kZip64LocatorSize) == kZip64LocatorSignature) {
    const char* loc = data.data() + eocd - kZip64LocatorSize;
    const uint64_t z64_offset = Le64(loc + 8);
    const uint32_t total_disks = Le32(loc + 16);
    if (Le32(loc + 4) != 0 || total_disks > 1) {
      return absl::UnimplementedError(
          absl::StrCat(Where(path), ": multi-disk archives are not supported"));
    }
    const uint64_t locator_pos = eocd - kZip64LocatorSize;
    if (!InRange(z64_offset, kZip64EndOfCentralDirSize, locator_pos)) {
      return absl::DataLossError(
          absl::StrCat(Where(path), ": ZIP64 end-of-central-directory offset ",
                       z64_offset, " is outside the file (", size, " bytes)"));
    }
    const char* z = data.data() + z64_offset;
    if (Le32(z) != kZip64EndOfCentralDirSignature) {
      return absl::DataLossError(absl::StrCat(
          Where(path), ": no ZIP64 end-of-central-directory record at offset ",
          z64_offset));
    }
    disk = Le32(z + 16);
    cd_disk = Le32(z + 20);
    entries_on_disk = Le64(z + 24);
    entry_count = Le64(z + 32);
    cd_size = Le64(z + 40);
    cd_offset = Le64(z + 48);
    cd_limit = z64_offset;
  }

  if (disk != 0 || cd_disk != 0 || entries_on_disk != entry_count) {
    return absl::UnimplementedError(
        absl::StrCat(Where(path), ": multi-disk archives are not supported"));
  }
  if (!InRange(cd_offset, cd_size, cd_limit)) {
    return absl::DataLossError(absl::StrCat(
        Where(path), ": central directory (offset ", cd_offset, ", ", cd_size,
        " bytes) does not fit before its end record at offset ", cd_limit,
        " (file of ", size, " bytes; truncated?)"));
  }
  if (entry_count > options_.max_entries) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(path), ": ", entry_count,
                     " entries exceed the limit of ", options_.max_entries));
  }
  if (entry_count > cd_size / kCentralHeaderSize) {
    return absl::DataLossError(absl::StrCat(Where(path), ": ", entry_count,
                                            " entries cannot fit in a central "
                                            "directory of ",
                                            cd_size, " bytes"));
  }

  entries_.reserve(static_cast<size_t>(entry_count));
  uint64_t pos = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < entry_count; ++i) {
    if (!InRange(pos, kCentralHeaderSize, cd_end)) {
      return absl::DataLossError(absl::StrCat(
          Where(path), ": central directory record ", i, " at offset ", pos,
          " runs past the end of the directory"));
    }
    const char* c = data.data() + pos;
    if (Le32(c) != kCentralHeaderSignature) {
      return absl::DataLossError(absl::StrCat(
          Where(path), ": bad signature for central directory record ", i,
          " at offset ", pos));
    }
    const uint16_t flags = Le16(c + 8);
    const uint16_t method = Le16(c + 10);
    const uint16_t name_len = Le16(c + 28);
    const uint16_t extra_len = Le16(c + 30);
    const uint16_t comment_len = Le16(c + 32);
    const uint64_t record_size =
        kCentralHeaderSize + name_len + extra_len + comment_len;
    if (!InRange(pos, record_size, cd_end)) {
      return absl::DataLossError(absl::StrCat(
          Where(path), ": central directory record ", i, " at offset ", pos,
          " runs past the end of the directory"));
    }
    ZipEntry entry;
    entry.name.assign(c + kCentralHeaderSize, name_len);
    entry.crc32 = Le32(c + 16);
    entry.compressed_size = Le32(c + 20);
    entry.uncompressed_size = Le32(c + 24);
    entry.local_header_offset = Le32(c + 42);
    const uint16_t disk_start = Le16(c + 34);
    MVL_RETURN_IF_ERROR(ApplyZip64Extra(
        absl::string_view(c + kCentralHeaderSize + name_len, extra_len), path,
        &entry, entry.uncompressed_size == 0xffffffffu,
        entry.compressed_size == 0xffffffffu,
        entry.local_header_offset == 0xffffffffu));
    pos += record_size;

    if (disk_start != 0 && disk_start != 0xffff) {
      return absl::UnimplementedError(
          absl::StrCat(Where(path, entry.name), ": starts on disk ", disk_start,
                       "; multi-disk archives are not supported"));
    }
    if (flags & 0x41) {
      return absl::UnimplementedError(
          absl::StrCat(Where(path, entry.name),
                       ": encrypted entries are not "
                       "supported"));
    }
    if (method == 0) {
      entry.method = ZipEntry::Method::kStored;
      if (entry.compressed_size != entry.uncompressed_size) {
        return absl::DataLossError(absl::StrCat(
            Where(path, entry.name), ": stored entry with compressed size ",
            entry.compressed_size, " != uncompressed size ",
            entry.uncompressed_size));
      }
    } else if (method == 8) {
      entry.method = ZipEntry::Method::kDeflated;
    } else {
      return absl::UnimplementedError(
          absl::StrCat(Where(path, entry.name), ": compression method ", method,
                       " is not supported (only stored and deflated)"));
    }

    // The local header repeats the name and has its own extra field; the
    // data follows it. Sizes in it may be zero (data descriptor), so the
    // central directory's sizes are authoritative.
    const uint64_t lho = entry.local_header_offset;
    if (!InRange(lho, kLocalHeaderSize, cd_offset)) {
      return absl::DataLossError(
          absl::StrCat(Where(path, entry.name), ": local header offset ", lho,
                       " is outside the data area (", cd_offset, " bytes)"));
    }
    const char* l = data.data() + lho;
    if (Le32(l) != kLocalHeaderSignature) {
      return absl::DataLossError(
          absl::StrCat(Where(path, entry.name),
                       ": bad local header signature at offset ", lho));
    }
    const uint16_t local_name_len = Le16(l + 26);
    const uint16_t local_extra_len = Le16(l + 28);
    const uint64_t header_size =
        kLocalHeaderSize + local_name_len + local_extra_len;
    if (!InRange(lho, header_size, cd_offset)) {
      return absl::DataLossError(
          absl::StrCat(Where(path, entry.name), ": local header at offset ",
                       lho, " runs into the central directory"));
    }
    if (absl::string_view(l + kLocalHeaderSize, local_name_len) != entry.name) {
      return absl::DataLossError(absl::StrCat(
          Where(path, entry.name), ": local header at offset ", lho, " names '",
          absl::string_view(l + kLocalHeaderSize, local_name_len), "'"));
    }
    if (Le16(l + 8) != method) {
      return absl::DataLossError(
          absl::StrCat(Where(path, entry.name), ": local header method ",
                       Le16(l + 8), " differs from the directory's ", method));
    }
    entry.data_offset = lho + header_size;
    if (!InRange(entry.data_offset, entry.compressed_size, cd_offset)) {
      return absl::DataLossError(absl::StrCat(
          Where(path, entry.name), ": ", entry.compressed_size,
          " bytes of data at offset ", entry.data_offset,
          " run past the data area (", cd_offset, " bytes; truncated?)"));
    }
    if (entry.method == ZipEntry::Method::kDeflated &&
        entry.uncompressed_size / kMaxDeflateRatio >
            entry.compressed_size + 1) {
      return absl::DataLossError(
          absl::StrCat(Where(path, entry.name), ": declares ",
                       entry.uncompressed_size, " bytes inflated from only ",
                       entry.compressed_size, " compressed bytes"));
    }
    if (!index_.emplace(entry.name, entries_.size()).second) {
      return absl::DataLossError(
          absl::StrCat(Where(path, entry.name), ": duplicate entry name"));
    }
    entries_.push_back(std::move(entry));
  }
  return absl::OkStatus();
}

const ZipEntry* ZipArchive::Find(absl::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

absl::StatusOr<absl::string_view> ZipArchive::Read(const ZipEntry& entry,
                                                   std::string* buffer) const {
  const absl::string_view data = file_.data();
  // Parse() checked the range; this guards against entries of other archives.
  if (!InRange(entry.data_offset, entry.compressed_size, data.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        Where(path(), entry.name), ": entry does not belong to this archive"));
  }
  const absl::string_view raw =
      data.substr(static_cast<size_t>(entry.data_offset),
                  static_cast<size_t>(entry.compressed_size));
  absl::string_view result = raw;
  if (entry.method == ZipEntry::Method::kDeflated) {
    MVL_RETURN_IF_ERROR(
        Inflate(raw, entry.uncompressed_size, buffer, path(), entry.name));
    result = *buffer;
  }
  if (options_.verify_crc32) {
    const uint32_t crc = static_cast<uint32_t>(crc32_z(
        0, reinterpret_cast<const Bytef*>(result.data()), result.size()));
    if (crc != entry.crc32) {
      return absl::DataLossError(absl::StrCat(
          Where(path(), entry.name), ": CRC-32 mismatch (computed 0x",
          absl::Hex(crc, absl::kZeroPad8), ", directory says 0x",
          absl::Hex(entry.crc32, absl::kZeroPad8), ")"));
    }
  }
  return result;
}

}  // namespace mammovl::core
