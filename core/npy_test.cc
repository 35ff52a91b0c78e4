#include "core/npy.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Fixture(const std::string& name) { return "core/testdata/npy/" + name + ".npy"; }

TEST(NpyTest, ReadsNumpyFloat32Matrix) {
  MVL_ASSERT_OK_AND_ASSIGN(NpyArray a, ReadNpy(Fixture("f32_2x3")));
  EXPECT_EQ(a.descr, "<f4");
  EXPECT_THAT(a.shape, ElementsAre(2, 3));
  EXPECT_FALSE(a.fortran_order);
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<float> v, NpyValues<float>(a));
  EXPECT_THAT(v, ElementsAre(0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f));
}

TEST(NpyTest, ReadsInt64ScalarBoolFortranAndEmpty) {
  MVL_ASSERT_OK_AND_ASSIGN(NpyArray i64, ReadNpy(Fixture("i64_4")));
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<int64_t> iv, NpyValues<int64_t>(i64));
  EXPECT_THAT(iv, ElementsAre(-7, 999999999993LL, 1999999999993LL, 2999999999993LL));

  MVL_ASSERT_OK_AND_ASSIGN(NpyArray u8, ReadNpy(Fixture("u8_scalar")));
  EXPECT_TRUE(u8.shape.empty());
  EXPECT_EQ(u8.NumElements(), 1);
  EXPECT_EQ(static_cast<uint8_t>(u8.data[0]), 200);

  MVL_ASSERT_OK_AND_ASSIGN(NpyArray b, ReadNpy(Fixture("bool_3")));
  EXPECT_EQ(b.descr, "|b1");
  EXPECT_EQ(b.data, std::string("\x01\x00\x01", 3));
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<bool> bv, NpyValues<bool>(b));
  EXPECT_THAT(bv, ElementsAre(true, false, true));

  MVL_ASSERT_OK_AND_ASSIGN(NpyArray f, ReadNpy(Fixture("f64_fortran")));
  EXPECT_TRUE(f.fortran_order);
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<double> fv, NpyValues<double>(f));
  EXPECT_THAT(fv, ElementsAre(1.0, 3.0, 2.0, 4.0));

  MVL_ASSERT_OK_AND_ASSIGN(NpyArray e, ReadNpy(Fixture("f32_empty")));
  EXPECT_THAT(e.shape, ElementsAre(0, 5));
  EXPECT_TRUE(e.data.empty());
}

TEST(NpyTest, SerializesByteIdenticalToNumpy) {
  for (const char* name : {"f32_2x3", "i64_4", "u8_scalar", "bool_3", "f64_fortran", "f32_empty"}) {
    MVL_ASSERT_OK_AND_ASSIGN(std::string numpy_bytes, ReadFileToString(Fixture(name)));
    MVL_ASSERT_OK_AND_ASSIGN(NpyArray a, ParseNpy(numpy_bytes, name));
    MVL_ASSERT_OK_AND_ASSIGN(std::string ours, SerializeNpy(a));
    EXPECT_EQ(ours, numpy_bytes) << name;
  }
}

TEST(NpyTest, WriteThenReadRoundTrips) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/x.npy";
  NpyArray a = MakeNpyArray<int32_t>({1, -2, 3, -4, 5, -6}, {3, 2});
  MVL_ASSERT_OK(WriteNpy(path, a));
  MVL_ASSERT_OK_AND_ASSIGN(NpyArray back, ReadNpy(path));
  EXPECT_EQ(back.descr, "<i4");
  EXPECT_THAT(back.shape, ElementsAre(3, 2));
  EXPECT_EQ(back.data, a.data);
}

TEST(NpyTest, RejectsMalformedInputWithFileName) {
  MVL_ASSERT_OK_AND_ASSIGN(std::string good, ReadFileToString(Fixture("f32_2x3")));
  EXPECT_THAT(ParseNpy("", "empty.npy"), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("empty.npy")));
  EXPECT_THAT(ParseNpy("PK\x03\x04 not numpy at all", "zip.npy"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bad magic")));
  EXPECT_THAT(ParseNpy(good.substr(0, good.size() - 4), "short.npy"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("need 24")));
  std::string huge_header = good;
  huge_header[8] = '\xff';
  huge_header[9] = '\xff';
  EXPECT_THAT(ParseNpy(huge_header, "h.npy"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("exceeds the file")));
  std::string object_dtype = good;
  object_dtype.replace(object_dtype.find("<f4"), 3, "|O8");
  EXPECT_THAT(ParseNpy(object_dtype, "o.npy"), StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("|O8")));
  EXPECT_THAT(ReadNpy("/nonexistent.npy"), StatusIs(absl::StatusCode::kNotFound));
  NpyArray wrong = MakeNpyArray<float>({1, 2, 3}, {2, 2});
  EXPECT_THAT(SerializeNpy(wrong), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NpyValues<double>(MakeNpyArray<float>({1}, {1})),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mammovl::core
