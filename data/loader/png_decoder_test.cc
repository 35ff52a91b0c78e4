#include "data/loader/png_decoder.h"

#include <libdeflate.h>
#include <sys/resource.h>

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
using ::testing::AllOf;
using ::testing::HasSubstr;

// Any allocation of gigabytes fails (and the test with it) instead of
// succeeding silently on an overcommitting kernel.
const bool kAddressSpaceLimited = [] {
  rlimit limit{int64_t{2} << 30, int64_t{2} << 30};
  rlimit old{};
  getrlimit(RLIMIT_AS, &old);
  if (old.rlim_max != RLIM_INFINITY && old.rlim_max < limit.rlim_max) return false;
  return setrlimit(RLIMIT_AS, &limit) == 0;
}();

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

// A PNG whose IHDR declares `width` x `height` (CRC fixed up) over the small
// image data of `png`.
std::string WithDimensions(std::string png, uint32_t width, uint32_t height) {
  for (int i = 0; i < 4; ++i) {
    png[16 + i] = static_cast<char>(width >> (24 - 8 * i));
    png[20 + i] = static_cast<char>(height >> (24 - 8 * i));
  }
  const uint32_t crc = libdeflate_crc32(0, png.data() + 12, 17);
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<char>(crc >> (24 - 8 * i));
  return png;
}

// A small file claiming a huge image is refused from its header: by the
// pixel limit, or (limit raised) because its data cannot hold the pixels;
// no pixel buffer is allocated (the test runs with a 2 GiB address-space
// limit, and 65536 x 65536 16-bit pixels would need 8 GiB).
TEST(PngDecoderTest, HugeDeclaredSizesAreRefusedBeforeAllocation) {
  SCOPED_TRACE(kAddressSpaceLimited ? "2 GiB address-space limit" : "no address-space limit");
  std::vector<uchar> encoded;
  ASSERT_TRUE(cv::imencode(".png", cv::Mat(16, 16, CV_16UC1, cv::Scalar(300)), encoded));
  const std::string small(encoded.begin(), encoded.end());
  MVL_ASSERT_OK(DecodeGrayPng(small, "small.png"));
  const std::string huge = WithDimensions(small, 65536, 65536);
  ASSERT_LT(huge.size(), 200u);
  EXPECT_THAT(DecodeGrayPng(huge, "huge.png"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("huge.png"), HasSubstr("65536x65536"),
                             HasSubstr("max_image_pixels"))));
  EXPECT_THAT(DecodeGrayPng(huge, "huge.png", /*max_pixels=*/int64_t{1} << 40),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cannot hold")));
  // The limit is configurable: 16 x 16 = 256 pixels.
  EXPECT_THAT(DecodeGrayPng(small, "small.png", 255),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("256 pixels")));
  MVL_EXPECT_OK(DecodeGrayPng(small, "small.png", 256));
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

}  // namespace
}  // namespace mammovl::data
