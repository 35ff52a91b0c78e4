#include "data/synth/phantom.h"

#include <cmath>

#include "data/synth/cohort.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

constexpr int kRows = 256;
constexpr int kCols = 208;
constexpr double kPixelMm = 240.0 / kRows;

Breast TestBreast(Side side) {
  Breast b;
  b.side = side;
  b.density = 1;
  b.seed = 42;
  b.shape = BreastShape();
  return b;
}

Finding TestMass() {
  Finding f;
  f.type = FindingType::kMass;
  f.depth = 0.5;
  f.medial = 0.3;
  f.superior = 0.4;
  f.size_mm = 20;
  f.contrast = 0.2;
  f.shape = MassShape::kOval;
  f.aspect = 0.8;
  f.seed = 7;
  return f;
}

double SumIn(const cv::Mat1f& m, const FindingBox& b, int pad) {
  const int x0 = std::max(0, static_cast<int>(b.xmin) - pad);
  const int y0 = std::max(0, static_cast<int>(b.ymin) - pad);
  const int x1 = std::min(m.cols - 1, static_cast<int>(b.xmax) + pad);
  const int y1 = std::min(m.rows - 1, static_cast<int>(b.ymax) + pad);
  return cv::sum(m(cv::Rect(x0, y0, x1 - x0 + 1, y1 - y0 + 1)))[0];
}

TEST(PhantomTest, ImageRangeOrientationAndDeterminism) {
  for (Side side : {Side::kLeft, Side::kRight}) {
    const Breast b = TestBreast(side);
    const RenderedView v = RenderView(b, View::kCC, kRows, kCols, kPixelMm, Appearance(), 5);
    ASSERT_EQ(v.image.rows, kRows);
    ASSERT_EQ(v.image.cols, kCols);
    double lo, hi;
    cv::minMaxLoc(v.image, &lo, &hi);
    EXPECT_GE(lo, 0.0);
    EXPECT_LE(hi, 1.0);
    // The chest wall touches the left edge for left breasts, the right edge
    // for right breasts; the opposite edge is background.
    const int wall = side == Side::kLeft ? 0 : kCols - 1;
    const int far = side == Side::kLeft ? kCols - 1 : 0;
    EXPECT_EQ(v.breast_mask(kRows / 2, wall), 255);
    EXPECT_EQ(v.breast_mask(kRows / 2, far), 0);
    EXPECT_GT(v.image(kRows / 2, wall + (side == Side::kLeft ? 20 : -20)), 0.2f);
    EXPECT_LT(v.image(5, far), 0.05f);
    const RenderedView again = RenderView(b, View::kCC, kRows, kCols, kPixelMm, Appearance(), 5);
    EXPECT_EQ(cv::norm(v.image, again.image, cv::NORM_INF), 0.0);
    const RenderedView other = RenderView(b, View::kCC, kRows, kCols, kPixelMm, Appearance(), 6);
    EXPECT_GT(cv::norm(v.image, other.image, cv::NORM_INF), 0.0);
  }
}

TEST(PhantomTest, MassAddsDensityInsideItsBoxInBothViews) {
  Breast with = TestBreast(Side::kLeft);
  with.findings.push_back(TestMass());
  const Breast without = TestBreast(Side::kLeft);
  double center_x[2];
  for (View view : {View::kCC, View::kMLO}) {
    const RenderedView a = RenderView(with, view, kRows, kCols, kPixelMm, Appearance(), 9);
    const RenderedView b = RenderView(without, view, kRows, kCols, kPixelMm, Appearance(), 9);
    ASSERT_EQ(a.boxes.size(), 1u);
    EXPECT_TRUE(b.boxes.empty());
    const FindingBox& box = a.boxes[0];
    EXPECT_EQ(box.type, FindingType::kMass);
    EXPECT_GE(box.xmin, 0);
    EXPECT_LE(box.xmax, kCols - 1);
    EXPECT_LT(box.xmin, box.xmax);
    // 20 mm at ~0.94 mm/px: about 21 px across.
    EXPECT_NEAR(box.xmax - box.xmin, 20 / kPixelMm, 8);
    cv::Mat1f diff = a.image - b.image;
    cv::Mat1f positive;
    cv::max(diff, 0, positive);
    const double total = cv::sum(positive)[0];
    EXPECT_GT(total, 10.0);
    EXPECT_GT(SumIn(positive, box, 2) / total, 0.9);
    center_x[static_cast<int>(view)] = 0.5 * (box.xmin + box.xmax);
  }
  // Same depth from the chest wall in CC and MLO (shape depths are 0.7 and
  // 0.72 of the width by default).
  EXPECT_NEAR(center_x[0], center_x[1], 0.08 * kCols);
}

TEST(PhantomTest, CalcificationsAreBrightSpecksAndAsymmetryShowsInOneView) {
  Breast b = TestBreast(Side::kRight);
  Finding calc;
  calc.type = FindingType::kCalcification;
  calc.depth = 0.4;
  calc.size_mm = 8;
  calc.calc_count = 12;
  calc.contrast = 0.4;
  calc.speck_mm = 0.5;
  calc.seed = 3;
  b.findings.push_back(calc);
  Finding asym;
  asym.type = FindingType::kAsymmetry;
  asym.depth = 0.6;
  asym.medial = -0.5;
  asym.superior = -0.5;
  asym.size_mm = 30;
  asym.contrast = 0.06;
  asym.visible_mlo = false;
  asym.seed = 4;
  b.findings.push_back(asym);
  const Breast base = TestBreast(Side::kRight);
  const RenderedView cc = RenderView(b, View::kCC, kRows, kCols, kPixelMm, Appearance(), 2);
  const RenderedView cc0 = RenderView(base, View::kCC, kRows, kCols, kPixelMm, Appearance(), 2);
  const RenderedView mlo = RenderView(b, View::kMLO, kRows, kCols, kPixelMm, Appearance(), 2);
  ASSERT_EQ(cc.boxes.size(), 2u);
  ASSERT_EQ(mlo.boxes.size(), 1u);
  EXPECT_EQ(mlo.boxes[0].type, FindingType::kCalcification);
  const FindingBox& box = cc.boxes[0];
  ASSERT_EQ(box.type, FindingType::kCalcification);
  cv::Mat1f diff = cc.image - cc0.image;
  double peak;
  cv::minMaxLoc(diff(cv::Rect(cv::Point(box.xmin, box.ymin), cv::Point(box.xmax + 1, box.ymax + 1))),
                nullptr, &peak);
  EXPECT_GT(peak, 0.4 * 0.6 * 0.6);  // a speck keeps at least 60 % of the contrast
}

TEST(PhantomTest, QuantizationRespectsBitsAndPhotometric) {
  const Breast b = TestBreast(Side::kLeft);
  const RenderedView v = RenderView(b, View::kCC, kRows, kCols, kPixelMm, Appearance(), 1);
  const StoredImage m2 = QuantizeForDetector(v.image, v.breast_mask, 12, false, 77);
  const StoredImage m1 = QuantizeForDetector(v.image, v.breast_mask, 12, true, 77);
  double lo, hi;
  cv::minMaxLoc(m2.pixels, &lo, &hi);
  EXPECT_LE(hi, 4095);
  cv::Mat sum;
  cv::add(m1.pixels, m2.pixels, sum, cv::noArray(), CV_32S);
  double slo, shi;
  cv::minMaxLoc(sum, &slo, &shi);
  EXPECT_EQ(slo, 4095);
  EXPECT_EQ(shi, 4095);
  // The window of MONOCHROME2 covers the breast: its centre lies between the
  // background and the brightest tissue.
  EXPECT_GT(m2.window_width, 100);
  EXPECT_GT(m2.window_center, m2.pixels(5, kCols - 5));
  EXPECT_LT(m2.window_center, hi);
}

TEST(PhantomTest, MarkerLandsAwayFromTheChestWall) {
  cv::Mat1f img = cv::Mat1f::zeros(kRows, kCols);
  BurnInMarker(img, Side::kLeft, View::kMLO);
  double left = cv::sum(img.colRange(0, kCols / 2))[0];
  double right = cv::sum(img.colRange(kCols / 2, kCols))[0];
  EXPECT_EQ(left, 0);
  EXPECT_GT(right, 0);
  EXPECT_EQ(cv::sum(img.rowRange(kRows / 8, kRows))[0], 0);
}

}  // namespace
}  // namespace mammovl::data
