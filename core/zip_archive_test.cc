#include "core/zip_archive.h"

#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// A small zip writer, so that every field can be controlled and corrupted.

void Put16(std::string* s, uint32_t v) {
  s->push_back(static_cast<char>(v & 0xff));
  s->push_back(static_cast<char>((v >> 8) & 0xff));
}
void Put32(std::string* s, uint32_t v) {
  Put16(s, v & 0xffff);
  Put16(s, v >> 16);
}
void Put64(std::string* s, uint64_t v) {
  Put32(s, static_cast<uint32_t>(v));
  Put32(s, static_cast<uint32_t>(v >> 32));
}
void Patch32(std::string* s, size_t at, uint32_t v) {
  std::string b;
  Put32(&b, v);
  s->replace(at, 4, b);
}
void Patch16(std::string* s, size_t at, uint32_t v) {
  std::string b;
  Put16(&b, v);
  s->replace(at, 2, b);
}

std::string RawDeflate(const std::string& in) {
  z_stream z;
  std::memset(&z, 0, sizeof(z));
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = in.size();
  z.next_out = reinterpret_cast<Bytef*>(&out[0]);
  z.avail_out = out.size();
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct TestEntry {
  std::string name;
  std::string data;
  bool deflate = false;
};

struct BuiltZip {
  std::string bytes;
  std::vector<size_t> local_offsets;    // of each local header
  std::vector<size_t> central_offsets;  // of each central record
  size_t eocd_offset = 0;
};

// Builds an archive; with `zip64`, every size and offset goes through the
// ZIP64 extra field and the ZIP64 end records, as large torch files do.
BuiltZip BuildZip(const std::vector<TestEntry>& entries, bool zip64 = false,
                  const std::string& comment = "") {
  BuiltZip z;
  std::string& s = z.bytes;
  struct Meta {
    uint32_t crc;
    uint64_t csize, usize, offset;
    uint16_t method;
  };
  std::vector<Meta> metas;
  for (const TestEntry& e : entries) {
    const std::string payload = e.deflate ? RawDeflate(e.data) : e.data;
    Meta m{
        static_cast<uint32_t>(crc32(
            0, reinterpret_cast<const Bytef*>(e.data.data()), e.data.size())),
        payload.size(), e.data.size(), s.size(),
        static_cast<uint16_t>(e.deflate ? 8 : 0)};
    z.local_offsets.push_back(s.size());
    Put32(&s, 0x04034b50);
    Put16(&s, zip64 ? 45 : 20);
    Put16(&s, 0x0808);  // data descriptor + UTF-8, as torch writes
    Put16(&s, m.method);
    Put32(&s, 0);  // time, date
    Put32(&s, 0);  // crc (in the data descriptor)
    Put32(&s, 0);
    Put32(&s, 0);
    Put16(&s, e.name.size());
    Put16(&s, 4);
    s += e.name;
    Put16(&s, 0x4246);  // "FB" padding field, as torch writes
    Put16(&s, 0);
    s += payload;
    Put32(&s, 0x08074b50);
    Put32(&s, m.crc);
    Put32(&s, static_cast<uint32_t>(m.csize));
    Put32(&s, static_cast<uint32_t>(m.usize));
    metas.push_back(m);
  }
  const size_t cd_offset = s.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    const Meta& m = metas[i];
    z.central_offsets.push_back(s.size());
    Put32(&s, 0x02014b50);
    Put16(&s, 45);
    Put16(&s, zip64 ? 45 : 20);
    Put16(&s, 0x0808);
    Put16(&s, m.method);
    Put32(&s, 0);
    Put32(&s, m.crc);
    Put32(&s, zip64 ? 0xffffffffu : m.csize);
    Put32(&s, zip64 ? 0xffffffffu : m.usize);
    Put16(&s, entries[i].name.size());
    Put16(&s, zip64 ? 4 + 24 : 0);
    Put16(&s, 0);  // comment
    Put16(&s, 0);  // disk
    Put16(&s, 0);
    Put32(&s, 0);
    Put32(&s, zip64 ? 0xffffffffu : m.offset);
    s += entries[i].name;
    if (zip64) {
      Put16(&s, 0x0001);
      Put16(&s, 24);
      Put64(&s, m.usize);
      Put64(&s, m.csize);
      Put64(&s, m.offset);
    }
  }
  const size_t cd_size = s.size() - cd_offset;
  if (zip64) {
    const size_t z64 = s.size();
    Put32(&s, 0x06064b50);
    Put64(&s, 44);
    Put16(&s, 45);
    Put16(&s, 45);
    Put32(&s, 0);
    Put32(&s, 0);
    Put64(&s, entries.size());
    Put64(&s, entries.size());
    Put64(&s, cd_size);
    Put64(&s, cd_offset);
    Put32(&s, 0x07064b50);
    Put32(&s, 0);
    Put64(&s, z64);
    Put32(&s, 1);
  }
  z.eocd_offset = s.size();
  Put32(&s, 0x06054b50);
  Put16(&s, 0);
  Put16(&s, 0);
  Put16(&s, zip64 ? 0xffff : entries.size());
  Put16(&s, zip64 ? 0xffff : entries.size());
  Put32(&s, zip64 ? 0xffffffffu : cd_size);
  Put32(&s, zip64 ? 0xffffffffu : cd_offset);
  Put16(&s, comment.size());
  s += comment;
  return z;
}

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  EXPECT_THAT(WriteFileAtomically(path, bytes), IsOk());
  return path;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 7 + i / 13) & 0xff);
  return s;
}

const std::vector<TestEntry>& Sample() {
  static const auto* entries = new std::vector<TestEntry>{
      {"archive/data.pkl", "\x80\x02}q\x00.", false},
      {"archive/data/0", Pattern(1000), false},
      {"archive/data/1", std::string(5000, 'z') + Pattern(300), true},
      {"archive/empty", "", false},
  };
  return *entries;
}

void ExpectSampleReads(const ZipArchive& zip) {
  ASSERT_EQ(zip.entries().size(), Sample().size());
  for (size_t i = 0; i < Sample().size(); ++i) {
    const ZipEntry& e = zip.entries()[i];
    EXPECT_EQ(e.name, Sample()[i].name);
    EXPECT_EQ(e.uncompressed_size, Sample()[i].data.size());
    std::string buffer;
    MVL_ASSERT_OK_AND_ASSIGN(absl::string_view data, zip.Read(e, &buffer));
    EXPECT_EQ(data, Sample()[i].data) << e.name;
    if (e.method == ZipEntry::Method::kStored) {
      EXPECT_TRUE(buffer.empty()) << "stored entries must not be copied";
    }
  }
}

TEST(ZipArchiveTest, ReadsStoredAndDeflatedEntries) {
  const std::string path = WriteTemp("plain.zip", BuildZip(Sample()).bytes);
  MVL_ASSERT_OK_AND_ASSIGN(ZipArchive zip, ZipArchive::Open(path));
  EXPECT_EQ(zip.path(), path);
  ExpectSampleReads(zip);
  EXPECT_EQ(zip.entries()[2].method, ZipEntry::Method::kDeflated);
  EXPECT_LT(zip.entries()[2].compressed_size, 5300u);
  ASSERT_NE(zip.Find("archive/data/0"), nullptr);
  EXPECT_EQ(zip.Find("archive/data/0")->uncompressed_size, 1000u);
  EXPECT_EQ(zip.Find("archive/data/9"), nullptr);
}

TEST(ZipArchiveTest, StoredEntriesAreViewsIntoTheMapping) {
  const std::string path = WriteTemp("view.zip", BuildZip(Sample()).bytes);
  MVL_ASSERT_OK_AND_ASSIGN(ZipArchive zip, ZipArchive::Open(path));
  std::string buffer;
  MVL_ASSERT_OK_AND_ASSIGN(absl::string_view a,
                           zip.Read(*zip.Find("archive/data/0"), &buffer));
  MVL_ASSERT_OK_AND_ASSIGN(absl::string_view b,
                           zip.Read(*zip.Find("archive/data/0"), &buffer));
  EXPECT_EQ(a.data(), b.data());
  // Moving the archive keeps the mapping (and the views) where they are.
  ZipArchive moved = std::move(zip);
  MVL_ASSERT_OK_AND_ASSIGN(absl::string_view c,
                           moved.Read(*moved.Find("archive/data/0"), &buffer));
  EXPECT_EQ(a.data(), c.data());
}

TEST(ZipArchiveTest, ReadsZip64Records) {
  const std::string path =
      WriteTemp("zip64.zip", BuildZip(Sample(), /*zip64=*/true).bytes);
  MVL_ASSERT_OK_AND_ASSIGN(ZipArchive zip, ZipArchive::Open(path));
  ExpectSampleReads(zip);
}

TEST(ZipArchiveTest, ToleratesArchiveComment) {
  const std::string path = WriteTemp(
      "comment.zip",
      BuildZip(Sample(), false, "PK\x05\x06 looks like a record").bytes);
  MVL_ASSERT_OK_AND_ASSIGN(ZipArchive zip, ZipArchive::Open(path));
  ExpectSampleReads(zip);
}

TEST(ZipArchiveTest, SignatureInsideCommentIsNotTheRecord) {
  // A fake end record inside the comment whose own comment length would fit.
  std::string fake = "PK\x05\x06";
  fake += std::string(16, '\0') + std::string("\x02\x00", 2) + "xy";
  const std::string path =
      WriteTemp("fake_eocd.zip", BuildZip(Sample(), false, fake).bytes);
  MVL_ASSERT_OK_AND_ASSIGN(ZipArchive zip, ZipArchive::Open(path));
  ExpectSampleReads(zip);
}

TEST(ZipArchiveTest, EmptyArchiveHasNoEntries) {
  const std::string path = WriteTemp("empty.zip", BuildZip({}).bytes);
  MVL_ASSERT_OK_AND_ASSIGN(ZipArchive zip, ZipArchive::Open(path));
  EXPECT_TRUE(zip.entries().empty());
}

TEST(ZipArchiveTest, ReadsTorchSaveFixtureWrittenWithZip64) {
  const std::string path = std::string(std::getenv("TEST_SRCDIR")) +
                           "/mammovl/core/testdata/zip64_state_dict.pt";
  MVL_ASSERT_OK_AND_ASSIGN(ZipArchive zip, ZipArchive::Open(path));
  ASSERT_NE(zip.Find("zip64_state_dict/data.pkl"), nullptr);
  std::string buffer;
  MVL_ASSERT_OK_AND_ASSIGN(
      absl::string_view pkl,
      zip.Read(*zip.Find("zip64_state_dict/data.pkl"), &buffer));
  EXPECT_EQ(pkl.substr(0, 2), "\x80\x02");
}

TEST(ZipArchiveTest, EmptyFileIsInvalidArgument) {
  const std::string path = WriteTemp("zero.zip", "");
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("not a zip archive"))));
}

TEST(ZipArchiveTest, WrongMagicIsInvalidArgument) {
  const std::string path = WriteTemp("magic.zip", Pattern(4096));
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("not a zip archive"))));
}

TEST(ZipArchiveTest, MissingFileIsNotFound) {
  EXPECT_THAT(
      ZipArchive::Open("/nonexistent/a.zip"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/a.zip")));
}

TEST(ZipArchiveTest, TruncatedArchiveIsRejected) {
  const std::string bytes = BuildZip(Sample()).bytes;
  // Cut anywhere: never crash, never succeed.
  for (size_t keep = 0; keep < bytes.size(); keep += 37) {
    const std::string path = WriteTemp("truncated.zip", bytes.substr(0, keep));
    const auto zip = ZipArchive::Open(path);
    ASSERT_FALSE(zip.ok()) << keep;
    EXPECT_THAT(zip.status().message(), HasSubstr(path));
  }
}

TEST(ZipArchiveTest, TruncatedDataWithIntactDirectoryIsDataLoss) {
  // Drop 100 bytes from the middle of the data of entry 1: offsets in the
  // directory now point past where the data really is.
  BuiltZip z = BuildZip(Sample());
  z.bytes.erase(z.local_offsets[1] + 200, 100);
  const std::string path = WriteTemp("hole.zip", z.bytes);
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
}

TEST(ZipArchiveTest, LyingCompressedSizeIsDataLoss) {
  BuiltZip z = BuildZip(Sample());
  Patch32(&z.bytes, z.central_offsets[1] + 20, 1u << 30);
  Patch32(&z.bytes, z.central_offsets[1] + 24, 1u << 30);
  const std::string path = WriteTemp("lying.zip", z.bytes);
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(path), HasSubstr("archive/data/0"),
                             HasSubstr("1073741824 bytes"))));
}

TEST(ZipArchiveTest, StoredSizesThatDisagreeAreDataLoss) {
  BuiltZip z = BuildZip(Sample());
  Patch32(&z.bytes, z.central_offsets[1] + 24, 999);
  const std::string path = WriteTemp("sizes.zip", z.bytes);
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("archive/data/0"), HasSubstr("999"))));
}

TEST(ZipArchiveTest, DeflateBombClaimIsDataLoss) {
  BuiltZip z = BuildZip(Sample());
  Patch32(&z.bytes, z.central_offsets[2] + 24, 0xfffffff0u);
  const std::string path = WriteTemp("bomb.zip", z.bytes);
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("archive/data/1"),
                             HasSubstr("inflated from only"))));
}

TEST(ZipArchiveTest, DeflatedSizeMismatchIsDataLossOnRead) {
  for (const uint32_t declared : {5299u, 5301u}) {
    BuiltZip z = BuildZip(Sample());
    Patch32(&z.bytes, z.central_offsets[2] + 24, declared);
    const std::string path = WriteTemp("inflate_size.zip", z.bytes);
    MVL_ASSERT_OK_AND_ASSIGN(ZipArchive zip, ZipArchive::Open(path));
    std::string buffer;
    EXPECT_THAT(zip.Read(*zip.Find("archive/data/1"), &buffer),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr(path), HasSubstr("archive/data/1"),
                               HasSubstr(std::to_string(declared)))))
        << declared;
  }
}

TEST(ZipArchiveTest, CorruptDeflateStreamIsDataLoss) {
  BuiltZip z = BuildZip(Sample());
  const size_t data = z.local_offsets[2] + 30 + Sample()[2].name.size() + 4;
  z.bytes[data] = static_cast<char>(0xff);  // invalid block type
  const std::string path = WriteTemp("corrupt_deflate.zip", z.bytes);
  MVL_ASSERT_OK_AND_ASSIGN(ZipArchive zip, ZipArchive::Open(path));
  std::string buffer;
  EXPECT_THAT(
      zip.Read(*zip.Find("archive/data/1"), &buffer),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("archive/data/1")));
}

TEST(ZipArchiveTest, CrcMismatchIsDataLossUnlessDisabled) {
  BuiltZip z = BuildZip(Sample());
  const size_t data = z.local_offsets[1] + 30 + Sample()[1].name.size() + 4;
  z.bytes[data + 10] ^= 1;
  const std::string path = WriteTemp("crc.zip", z.bytes);
  MVL_ASSERT_OK_AND_ASSIGN(ZipArchive zip, ZipArchive::Open(path));
  std::string buffer;
  EXPECT_THAT(zip.Read(*zip.Find("archive/data/0"), &buffer),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(path), HasSubstr("archive/data/0"),
                             HasSubstr("CRC-32"))));
  ZipArchive::Options options;
  options.verify_crc32 = false;
  MVL_ASSERT_OK_AND_ASSIGN(ZipArchive lax, ZipArchive::Open(path, options));
  MVL_EXPECT_OK(lax.Read(*lax.Find("archive/data/0"), &buffer));
}

TEST(ZipArchiveTest, BadLocalHeaderIsDataLoss) {
  BuiltZip z = BuildZip(Sample());
  z.bytes[z.local_offsets[1]] = 'X';
  const std::string path = WriteTemp("local_sig.zip", z.bytes);
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("archive/data/0"),
                             HasSubstr("local header signature"))));
}

TEST(ZipArchiveTest, LocalHeaderNameMismatchIsDataLoss) {
  BuiltZip z = BuildZip(Sample());
  z.bytes[z.local_offsets[1] + 30] = 'X';
  const std::string path = WriteTemp("local_name.zip", z.bytes);
  EXPECT_THAT(ZipArchive::Open(path), StatusIs(absl::StatusCode::kDataLoss,
                                               HasSubstr("Xrchive/data/0")));
}

TEST(ZipArchiveTest, LocalHeaderOffsetOutsideFileIsDataLoss) {
  BuiltZip z = BuildZip(Sample());
  Patch32(&z.bytes, z.central_offsets[3] + 42, 0x7fffffff);
  const std::string path = WriteTemp("lho.zip", z.bytes);
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("archive/empty"),
                             HasSubstr("local header offset 2147483647"))));
}

TEST(ZipArchiveTest, EntryCountThatCannotFitIsDataLoss) {
  BuiltZip z = BuildZip(Sample());
  Patch16(&z.bytes, z.eocd_offset + 8, 60000);
  Patch16(&z.bytes, z.eocd_offset + 10, 60000);
  const std::string path = WriteTemp("count.zip", z.bytes);
  EXPECT_THAT(ZipArchive::Open(path), StatusIs(absl::StatusCode::kDataLoss,
                                               HasSubstr("60000 entries")));
}

TEST(ZipArchiveTest, CentralDirectoryOutsideFileIsDataLoss) {
  BuiltZip z = BuildZip(Sample());
  Patch32(&z.bytes, z.eocd_offset + 16, 0xfffffff0u);
  const std::string path = WriteTemp("cd.zip", z.bytes);
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(path), HasSubstr("central directory"))));
}

TEST(ZipArchiveTest, Zip64RecordOutsideFileIsDataLoss) {
  BuiltZip z = BuildZip(Sample(), /*zip64=*/true);
  Patch32(&z.bytes, z.eocd_offset - 20 + 8, 0x7ffffff0);
  const std::string path = WriteTemp("z64loc.zip", z.bytes);
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("ZIP64")));
}

TEST(ZipArchiveTest, Zip64PlaceholderWithoutExtraIsDataLoss) {
  std::vector<TestEntry> one = {{"only", "abc", false}};
  BuiltZip z = BuildZip(one);
  Patch32(&z.bytes, z.central_offsets[0] + 24, 0xffffffffu);
  const std::string path = WriteTemp("z64extra.zip", z.bytes);
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("'only'"), HasSubstr("ZIP64"))));
}

TEST(ZipArchiveTest, UnsupportedMethodAndEncryptionAreUnimplemented) {
  {
    BuiltZip z = BuildZip(Sample());
    Patch16(&z.bytes, z.central_offsets[1] + 10, 12);  // bzip2
    const std::string path = WriteTemp("bzip2.zip", z.bytes);
    EXPECT_THAT(
        ZipArchive::Open(path),
        StatusIs(absl::StatusCode::kUnimplemented,
                 AllOf(HasSubstr("archive/data/0"), HasSubstr("method 12"))));
  }
  {
    BuiltZip z = BuildZip(Sample());
    Patch16(&z.bytes, z.central_offsets[0] + 8, 0x0809);
    const std::string path = WriteTemp("encrypted.zip", z.bytes);
    EXPECT_THAT(
        ZipArchive::Open(path),
        StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("encrypted")));
  }
}

TEST(ZipArchiveTest, DuplicateNamesAreDataLoss) {
  const std::string path = WriteTemp(
      "dup.zip", BuildZip({{"a", "1", false}, {"a", "2", false}}).bytes);
  EXPECT_THAT(ZipArchive::Open(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("'a'"), HasSubstr("duplicate"))));
}

TEST(ZipArchiveTest, TooManyEntriesForOptionsIsInvalidArgument) {
  const std::string path = WriteTemp("many.zip", BuildZip(Sample()).bytes);
  ZipArchive::Options options;
  options.max_entries = 2;
  EXPECT_THAT(
      ZipArchive::Open(path, options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit of 2")));
}

TEST(ZipArchiveTest, RandomCorruptionNeverCrashes) {
  const std::string good = BuildZip(Sample(), /*zip64=*/true).bytes;
  uint32_t seed = 12345;
  for (int round = 0; round < 300; ++round) {
    std::string bytes = good;
    for (int k = 0; k < 4; ++k) {
      seed = seed * 1103515245u + 12345u;
      bytes[(seed >> 8) % bytes.size()] = static_cast<char>(seed >> 24);
    }
    const std::string path = WriteTemp("fuzz.zip", bytes);
    auto zip = ZipArchive::Open(path);
    if (!zip.ok()) continue;
    for (const ZipEntry& e : zip->entries()) {
      std::string buffer;
      (void)zip->Read(e, &buffer);
    }
  }
}

}  // namespace
}  // namespace mammovl::core
