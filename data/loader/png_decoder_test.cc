#include "data/loader/png_decoder.h"

#include <zlib.h>

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

std::string Bytes(const std::string& name) {
  absl::StatusOr<std::string> b = core::ReadFileToString("data/loader/testdata/" + name);
  EXPECT_TRUE(b.ok()) << b.status();
  return *b;
}

cv::Mat OpenCv(const std::string& bytes) {
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  return cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
}

TEST(PngDecoderTest, EqualsOpenCvOnEveryFilterAndDepth) {
  for (const char* name : {"filters_8bit.png", "filters_16bit.png", "opencv_8bit.png", "opencv_16bit.png"}) {
    const std::string bytes = Bytes(name);
    MVL_ASSERT_OK_AND_ASSIGN(const cv::Mat ours, DecodeGrayPng(bytes, name));
    const cv::Mat ref = OpenCv(bytes);
    ASSERT_EQ(ours.type(), ref.type()) << name;
    ASSERT_EQ(ours.size(), ref.size()) << name;
    EXPECT_EQ(cv::norm(ours, ref, cv::NORM_INF), 0) << name;
  }
}

TEST(PngDecoderTest, LeavesOtherFormsToTheCaller) {
  EXPECT_THAT(DecodeGrayPng(Bytes("opencv_rgb.png"), "rgb"), StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(PngDecoderTest, CorruptFilesAreDataLossNamingTheSource) {
  const std::string good = Bytes("filters_8bit.png");
  EXPECT_THAT(DecodeGrayPng("not a png", "x.png"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("x.png")));
  EXPECT_THAT(DecodeGrayPng(good.substr(0, good.size() / 2), "half.png"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("half.png")));
  std::string flipped = good;
  flipped[flipped.size() - 30] ^= 0x40;  // inside the last IDAT chunk
  EXPECT_THAT(DecodeGrayPng(flipped, "f.png"), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("CRC")));
  // Every truncation is an error, never a crash or a partial image.
  for (size_t n = 0; n < good.size(); n += 7) {
    EXPECT_FALSE(DecodeGrayPng(good.substr(0, n), "t.png").ok()) << n;
  }
}

// Found by //data/loader:png_fuzzer: a truncated RGB PNG went to OpenCV,
// whose libpng allocated the 1.8 GB a damaged chunk length gave. Chunks are
// now checked before any file is handed on.
TEST(PngDecoderTest, DamagedFilesOfOtherFormsAreNotHandedOn) {
  const std::string found = Bytes("regressions/rgb_truncated_chunk.png");
  EXPECT_THAT(DecodeGrayPng(found, "found.png"),
              StatusIs(absl::StatusCode::kDataLoss));
  const std::string rgb = Bytes("opencv_rgb.png");
  EXPECT_THAT(DecodeGrayPng(rgb.substr(0, rgb.size() - 20), "cut.png"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cut.png")));
  std::string flipped = rgb;
  flipped[flipped.size() - 30] ^= 0x40;
  EXPECT_THAT(DecodeGrayPng(flipped, "f.png"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("CRC")));
}

// Found by //data/loader:png_fuzzer: a second IHDR chunk replaced the
// geometry of the first, and the data decoded "successfully" with it.
TEST(PngDecoderTest, RefusesASecondOrLateHeader) {
  EXPECT_THAT(DecodeGrayPng(Bytes("regressions/second_ihdr.png"), "two.png"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("IHDR is not the first chunk")));
  const std::string good = Bytes("filters_8bit.png");
  // An ancillary chunk (tEXt "a", CRC included) moved in front of IHDR.
  const std::string text("\x00\x00\x00\x01tEXta\x75\xf3\x8b\x29", 13);
  EXPECT_THAT(
      DecodeGrayPng(good.substr(0, 8) + text + good.substr(8), "late.png"),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("first chunk is not IHDR")));
}

// A valid 65536 x 65536 16-bit header over a few bytes of image data must
// be refused before its 8 GiB are allocated.
TEST(PngDecoderTest, RefusesHeaderSizesTheDataCannotHold) {
  std::string png = Bytes("filters_16bit.png");
  ASSERT_EQ(png.substr(12, 4), "IHDR");
  for (int i = 0; i < 8; ++i)
    png[16 + i] = "\x00\x01\x00\x00\x00\x01\x00\x00"[i];
  const uLong crc =
      crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17);
  for (int i = 0; i < 4; ++i)
    png[29 + i] = static_cast<char>(crc >> (24 - 8 * i));
  EXPECT_THAT(DecodeGrayPng(png, "huge.png"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("too short for 65536x65536")));
}

}  // namespace
}  // namespace mammovl::data
