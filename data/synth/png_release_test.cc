#include "data/synth/png_release.h"

#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

// A 60×50 stored image: background 100, a "breast" block of columns 5..29
// (touching the left edge after the 5-px trim) and rows 12..47 with values
// rising to 4000, and a small bright marker in the top-right corner outside
// the central row band.
cv::Mat1w Phantom() {
  cv::Mat1w m(60, 50, static_cast<uint16_t>(100));
  for (int y = 12; y < 48; ++y) {
    for (int x = 5; x < 30; ++x) m(y, x) = static_cast<uint16_t>(1000 + 50 * ((x + y) % 60));
  }
  for (int y = 6; y < 9; ++y) {
    for (int x = 40; x < 44; ++x) m(y, x) = 4000;
  }
  return m;
}

TEST(PngReleaseTest, CropsTheBreastAndResizes) {
  const PngRelease r = MakeMammoClipPng(Phantom(), false, 20, 30);
  ASSERT_EQ(r.image.cols, 20);
  ASSERT_EQ(r.image.rows, 30);
  // Trimmed coordinates: columns 0..24 and rows 7..42 hold the breast.
  EXPECT_EQ(r.frame.crop_x, 0);
  EXPECT_EQ(r.frame.crop_width, 25);
  EXPECT_EQ(r.frame.crop_y, 7);
  EXPECT_EQ(r.frame.crop_height, 36);
  // No background survives in the crop: every pixel is tissue.
  double lo;
  cv::minMaxLoc(r.image, &lo, nullptr);
  EXPECT_GT(lo, 40);
  // Box mapping: the original crop corners map to the frame corners.
  const cv::Point2d a = MapToPngFrame(r.frame, {5, 12});
  const cv::Point2d b = MapToPngFrame(r.frame, {30, 48});
  EXPECT_DOUBLE_EQ(a.x, 0);
  EXPECT_DOUBLE_EQ(a.y, 0);
  EXPECT_DOUBLE_EQ(b.x, 20);
  EXPECT_DOUBLE_EQ(b.y, 30);
}

TEST(PngReleaseTest, Monochrome1IsInvertedBeforeNormalisation) {
  cv::Mat1w m2 = Phantom();
  cv::Mat1w m1;
  cv::subtract(cv::Scalar(4095), m2, m1);
  const PngRelease a = MakeMammoClipPng(m2, false, 20, 30);
  const PngRelease b = MakeMammoClipPng(m1, true, 20, 30);
  EXPECT_EQ(cv::norm(a.image, b.image, cv::NORM_INF), 0);
  EXPECT_EQ(a.frame.crop_width, b.frame.crop_width);
}

TEST(PngReleaseTest, NormalisationTruncatesLikeNumpy) {
  // Values 0, 1, 2 over a maximum of 3: 0, 85, 170, 255 exactly; 1/3*255 in
  // float32 is 85.0 and truncates to 85.
  cv::Mat1w m(20, 20, static_cast<uint16_t>(0));
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 20; ++x) m(y, x) = static_cast<uint16_t>((x + y) % 4);
  }
  const PngRelease r = MakeMammoClipPng(m, false, 10, 10);
  double hi;
  cv::minMaxLoc(r.image, nullptr, &hi);
  EXPECT_LE(hi, 255);
}

}  // namespace
}  // namespace mammovl::data
