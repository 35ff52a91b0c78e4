#include "core/safetensors_header.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TestData(const std::string& name) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/mammovl/core/testdata/" +
         name;
}

// A file with header `json` (not padded) followed by `data_size` bytes.
std::string MakeFile(const std::string& json, size_t data_size) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  return out + json + std::string(data_size, '\x01');
}

absl::StatusOr<SafetensorsHeader> Parse(const std::string& file) {
  return ParseSafetensorsHeader(file, "x.safetensors");
}

std::vector<std::string> Names(
    const std::vector<SafetensorsTensorInfo>& infos) {
  std::vector<std::string> names;
  for (const auto& i : infos) names.push_back(i.name);
  return names;
}

TEST(SafetensorsHeaderTest, DtypeNamesAndSizes) {
  EXPECT_EQ(SafetensorsDtypeName(SafetensorsDtype::kBF16), "BF16");
  EXPECT_EQ(SafetensorsDtypeSize(SafetensorsDtype::kBF16), 2u);
  EXPECT_EQ(SafetensorsDtypeSize(SafetensorsDtype::kI64), 8u);
  EXPECT_EQ(SafetensorsDtypeSize(SafetensorsDtype::kBool), 1u);
  EXPECT_EQ(ParseSafetensorsDtype("BOOL"), SafetensorsDtype::kBool);
  EXPECT_EQ(ParseSafetensorsDtype("F8_E4M3"), absl::nullopt);
  EXPECT_EQ(ParseSafetensorsDtype("f32"), absl::nullopt);
}

// Byte-for-byte what the reference writer produces for the same input.
TEST(SafetensorsHeaderTest, SerializesLikeTheReferenceWriter) {
  std::vector<SafetensorsTensorInfo> one = {
      {"attn.0", SafetensorsDtype::kF32, {1, 2, 3}}};
  MVL_ASSERT_OK_AND_ASSIGN(uint64_t size, LayOutSafetensors(&one));
  EXPECT_EQ(size, 24u);
  const std::string header = SerializeSafetensorsHeader(one, {});
  EXPECT_EQ(header.substr(0, 8), std::string("\x40\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(header.substr(8),
            "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],"
            "\"data_offsets\":[0,24]}}");

  EXPECT_EQ(SerializeSafetensorsHeader({}, {}),
            std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  EXPECT_EQ(SerializeSafetensorsHeader({}, {{"framework", "pt"}}),
            std::string("\x28\0\0\0\0\0\0\0", 8) +
                "{\"__metadata__\":{\"framework\":\"pt\"}}     ");
}

TEST(SafetensorsHeaderTest, EscapesNamesAsJson) {
  std::vector<SafetensorsTensorInfo> t = {
      {"a\"b\\c\n\x01\xc3\xa9", SafetensorsDtype::kU8, {}}};
  MVL_ASSERT_OK(LayOutSafetensors(&t).status());
  const std::string header = SerializeSafetensorsHeader(t, {});
  EXPECT_THAT(header, HasSubstr("\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\""));
  MVL_ASSERT_OK_AND_ASSIGN(SafetensorsHeader parsed, Parse(header + "\x07"));
  ASSERT_EQ(parsed.tensors.size(), 1u);
  EXPECT_EQ(parsed.tensors[0].name, t[0].name);
}

TEST(SafetensorsHeaderTest, LaysOutByDtypeThenName) {
  std::vector<SafetensorsTensorInfo> t;
  const std::vector<std::pair<std::string, SafetensorsDtype>> in = {
      {"bool", SafetensorsDtype::kBool}, {"u8", SafetensorsDtype::kU8},
      {"i8", SafetensorsDtype::kI8},     {"i16", SafetensorsDtype::kI16},
      {"f16", SafetensorsDtype::kF16},   {"bf16", SafetensorsDtype::kBF16},
      {"i32", SafetensorsDtype::kI32},   {"f32b", SafetensorsDtype::kF32},
      {"f32a", SafetensorsDtype::kF32},  {"f64", SafetensorsDtype::kF64},
      {"i64", SafetensorsDtype::kI64},
  };
  for (const auto& [name, dtype] : in) t.push_back({name, dtype, {3}});
  MVL_ASSERT_OK_AND_ASSIGN(uint64_t size, LayOutSafetensors(&t));
  EXPECT_THAT(Names(t), ElementsAre("i64", "f64", "f32a", "f32b", "i32", "bf16",
                                    "f16", "i16", "i8", "u8", "bool"));
  EXPECT_EQ(t[0].begin, 0u);
  EXPECT_EQ(t[1].begin, 24u);
  EXPECT_EQ(size, 3u * (8 + 8 + 4 + 4 + 4 + 2 + 2 + 2 + 1 + 1 + 1));
  // Writers and the reader agree.
  const std::string file =
      SerializeSafetensorsHeader(t, {}) + std::string(size, '\0');
  MVL_ASSERT_OK_AND_ASSIGN(SafetensorsHeader parsed, Parse(file));
  EXPECT_EQ(Names(parsed.tensors), Names(t));
}

TEST(SafetensorsHeaderTest, ParsesFixtureInDataOrder) {
  const std::string path = TestData("all_dtypes.safetensors");
  MVL_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFileToString(path));
  MVL_ASSERT_OK_AND_ASSIGN(SafetensorsHeader header,
                           ParseSafetensorsHeader(bytes, path));
  EXPECT_THAT(Names(header.tensors),
              ElementsAre("i64", "f64", "f32", "f32_empty", "f32_scalar", "i32",
                          "bf16", "f16", "i16", "i8", "u8", "bool"));
  EXPECT_EQ(header.metadata.at("format"), "pt");
  EXPECT_EQ(header.metadata.at("source"), "make_fixtures");
  EXPECT_EQ(header.data_start % 8, 0u);
  EXPECT_EQ(header.tensors[4].shape.size(), 0u);  // scalar
  EXPECT_THAT(header.tensors[3].shape, ElementsAre(2, 0));
  EXPECT_EQ(header.tensors.back().end, bytes.size() - header.data_start);
}

// --- Bad headers
// ---------------------------------------------------------------

TEST(SafetensorsHeaderTest, OverlappingOffsetsAreDataLoss) {
  const std::string path = TestData("bad_overlap.safetensors");
  MVL_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFileToString(path));
  EXPECT_THAT(ParseSafetensorsHeader(bytes, path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(path), HasSubstr("tensor 'b'"),
                             HasSubstr("overlap"), HasSubstr("'a' [0, 16]"))));
}

TEST(SafetensorsHeaderTest, OutOfRangeOffsetsAreDataLoss) {
  const std::string path = TestData("bad_out_of_range.safetensors");
  MVL_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFileToString(path));
  EXPECT_THAT(ParseSafetensorsHeader(bytes, path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(path), HasSubstr("tensor 'b'"),
                             HasSubstr("[16, 4096] are out of range"))));
}

TEST(SafetensorsHeaderTest, EmptyAndShortFilesAreInvalidArgument) {
  EXPECT_THAT(Parse(""), StatusIs(absl::StatusCode::kInvalidArgument,
                                  AllOf(HasSubstr("x.safetensors"),
                                        HasSubstr("not a safetensors file"))));
  EXPECT_THAT(Parse("\x02\0\0"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SafetensorsHeaderTest, ImplausibleHeaderLengthIsInvalidArgument) {
  EXPECT_THAT(Parse("\x89PNG\r\n\x1a\n-------"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a safetensors file (header length")));
}

TEST(SafetensorsHeaderTest, TruncatedHeaderIsDataLoss) {
  const std::string file = MakeFile("{\"a\":{}}", 0);
  EXPECT_THAT(
      Parse(file.substr(0, file.size() - 2)),
      StatusIs(absl::StatusCode::kDataLoss,
               AllOf(HasSubstr("x.safetensors"), HasSubstr("truncated"))));
}

TEST(SafetensorsHeaderTest, MalformedHeadersAreRejected) {
  struct Case {
    std::string json;
    size_t data;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"[1,2]", 0, absl::StatusCode::kInvalidArgument,
       "does not start with '{'"},
      {"{\"a\":", 0, absl::StatusCode::kDataLoss, "not valid JSON"},
      {"{\"a\":3}", 0, absl::StatusCode::kDataLoss, "tensor 'a': entry is not"},
      {"{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}",
       1, absl::StatusCode::kUnimplemented, "tensor 'a': dtype 'F8_E4M3'"},
      {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
       absl::StatusCode::kDataLoss, "\"dtype\""},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}", 1,
       absl::StatusCode::kDataLoss, "non-negative integer"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}", 1,
       absl::StatusCode::kDataLoss, "non-negative integer"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1,
       absl::StatusCode::kDataLoss, "two non-negative integers"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,0]}}", 1,
       absl::StatusCode::kDataLoss, "end before they begin"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
       absl::StatusCode::kDataLoss,
       "span 4 bytes, but shape [2] of F32 needs 8"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],"
       "\"data_offsets\":[0,4]}}",
       4, absl::StatusCode::kDataLoss, "needs more than the file holds"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4,
       absl::StatusCode::kDataLoss, "gap: the data starts at 0"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
       "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[3,4]}}",
       4, absl::StatusCode::kDataLoss,
       "tensor 'b': data_offsets [3, 4] leave a gap"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 5,
       absl::StatusCode::kDataLoss,
       "ends at byte 2 of a data buffer of 5 bytes"},
      {"{\"__metadata__\":{\"k\":1}}", 0, absl::StatusCode::kDataLoss,
       "__metadata__ value of 'k'"},
      {"{\"__metadata__\":[]}", 0, absl::StatusCode::kDataLoss,
       "__metadata__ is not"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Parse(MakeFile(c.json, c.data)),
                StatusIs(c.code, AllOf(HasSubstr("x.safetensors"),
                                       HasSubstr(c.message))))
        << c.json;
  }
}

TEST(SafetensorsHeaderTest, AcceptsEmptyTensorsAndNoTensors) {
  MVL_EXPECT_OK(Parse(MakeFile("{}", 0)));
  MVL_ASSERT_OK_AND_ASSIGN(
      SafetensorsHeader h,
      Parse(MakeFile("{\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],"
                     "\"data_offsets\":[0,0]}}  ",
                     0)));
  ASSERT_EQ(h.tensors.size(), 1u);
  EXPECT_EQ(h.tensors[0].end, 0u);
}

TEST(SafetensorsHeaderTest, RandomCorruptionNeverCrashes) {
  MVL_ASSERT_OK_AND_ASSIGN(
      std::string good, ReadFileToString(TestData("all_dtypes.safetensors")));
  uint32_t seed = 3;
  for (int round = 0; round < 2000; ++round) {
    std::string bytes = good;
    for (int k = 0; k < 2; ++k) {
      seed = seed * 1103515245u + 12345u;
      // Mostly the header, where the parsing happens.
      bytes[(seed >> 8) % 600] = static_cast<char>(seed >> 24);
    }
    (void)Parse(bytes);
  }
}

}  // namespace
}  // namespace mammovl::core
