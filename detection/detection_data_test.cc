#include "detection/detection_data.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::detection {
namespace {

using ::mammovl::core::IsOk;
using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

data::Box MakeBox(float x1, float y1, float x2, float y2, const std::string& category,
                  const std::string& image_id = "") {
  data::Box b;
  b.xmin = x1;
  b.ymin = y1;
  b.xmax = x2;
  b.ymax = y2;
  b.category = category;
  b.image_id = image_id;
  return b;
}

TEST(MapBoxesTest, ScalesSelectsClassesAndImages) {
  const std::vector<data::Box> boxes = {
      MakeBox(10, 20, 30, 60, "Mass", "a"),
      MakeBox(0, 0, 5, 5, "Mass", "b"),                       // other image
      MakeBox(1, 1, 9, 9, "Architectural Distortion", "a"),   // other class
      MakeBox(40, 40, 50, 50, "Suspicious Calcification", ""),  // any image
  };
  int64_t dropped = 0;
  const ImageGroundTruth t = MapBoxes(boxes, "a", {"Mass", "Suspicious Calcification"},
                                      cv::Size(100, 200), cv::Size(50, 50), &dropped);
  ASSERT_EQ(t.boxes.size(), 2u);
  EXPECT_EQ(dropped, 0);
  EXPECT_FLOAT_EQ(t.boxes[0].x1, 5);
  EXPECT_FLOAT_EQ(t.boxes[0].y1, 5);
  EXPECT_FLOAT_EQ(t.boxes[0].x2, 15);
  EXPECT_FLOAT_EQ(t.boxes[0].y2, 15);
  EXPECT_EQ(t.labels[0], 0);
  EXPECT_EQ(t.labels[1], 1);
  EXPECT_FLOAT_EQ(t.boxes[1].x1, 20);
  EXPECT_FLOAT_EQ(t.boxes[1].y2, 12.5);
}

TEST(MapBoxesTest, ClipsPartlyOutsideAndDropsOutsideDegenerateAndNonFinite) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<data::Box> boxes = {
      MakeBox(-10, 90, 20, 130, "Mass"),   // partly outside: clipped
      MakeBox(150, 10, 180, 40, "Mass"),   // wholly outside
      MakeBox(30, 30, 30, 50, "Mass"),     // zero width
      MakeBox(60, 60, 50, 70, "Mass"),     // inverted
      MakeBox(nan, 1, 5, 5, "Mass"),       // NaN
  };
  int64_t dropped = 0;
  const ImageGroundTruth t =
      MapBoxes(boxes, "x", {"Mass"}, cv::Size(100, 100), cv::Size(100, 100), &dropped);
  ASSERT_EQ(t.boxes.size(), 1u);
  EXPECT_EQ(dropped, 4);
  EXPECT_FLOAT_EQ(t.boxes[0].x1, 0);
  EXPECT_FLOAT_EQ(t.boxes[0].y1, 90);
  EXPECT_FLOAT_EQ(t.boxes[0].x2, 20);
  EXPECT_FLOAT_EQ(t.boxes[0].y2, 100);
}

TEST(MapBoxesTest, EmptyImageHasNoBoxes) {
  int64_t dropped = 0;
  const ImageGroundTruth t = MapBoxes({}, "x", {"Mass"}, cv::Size(10, 10), cv::Size(5, 5), &dropped);
  EXPECT_TRUE(t.boxes.empty());
  EXPECT_EQ(dropped, 0);
}

TEST(PrepareDetectorImageTest, MinMaxThenMeanStd) {
  DetectorInputConfig config;
  config.set_height(32);
  config.set_width(32);
  cv::Mat1b image(64, 64);
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) image(y, x) = static_cast<uint8_t>(50 + (x / 2) * 2);
  }
  MVL_ASSERT_OK_AND_ASSIGN(cv::Mat1f out, PrepareDetectorImage(image, config));
  ASSERT_EQ(out.rows, 32);
  ASSERT_EQ(out.cols, 32);
  double lo = 0, hi = 0;
  cv::minMaxLoc(out, &lo, &hi);
  EXPECT_NEAR(lo, (0 - config.mean()) / config.std(), 1e-5);
  EXPECT_NEAR(hi, (1 - config.mean()) / config.std(), 1e-5);
  // Column x of the output averages input columns 2x, 2x+1 (value 50 + 2x).
  EXPECT_NEAR(out(3, 5), ((10.0 / 62.0) - config.mean()) / config.std(), 1e-5);
}

TEST(PrepareDetectorImageTest, ConstantImageAndBadInput) {
  DetectorInputConfig config;
  config.set_height(32);
  config.set_width(40);
  MVL_ASSERT_OK_AND_ASSIGN(cv::Mat1f out, PrepareDetectorImage(cv::Mat1w(20, 20, 1000), config));
  EXPECT_EQ(out.cols, 40);
  EXPECT_NEAR(out(0, 0), -config.mean() / config.std(), 1e-6);
  EXPECT_THAT(PrepareDetectorImage(cv::Mat(), config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-empty")));
  EXPECT_THAT(PrepareDetectorImage(cv::Mat3b(8, 8), config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("grayscale")));
}

TEST(FlipTest, BoxesFollowThePixels) {
  cv::Mat1f image(40, 60, 0.0f);
  image(5, 10) = 1.0f;  // inside box (8..12, 3..7)
  ImageGroundTruth truth;
  truth.boxes.push_back({8, 3, 12, 7});
  truth.labels.push_back(0);
  for (bool h : {false, true}) {
    for (bool v : {false, true}) {
      std::vector<float> planes(3 * 40 * 60);
      WritePlanes(image, h, v, planes.data());
      const ImageGroundTruth flipped = FlipTruth(truth, h, v, 60, 40);
      int px = -1, py = -1;
      for (int i = 0; i < 40 * 60; ++i) {
        if (planes[i] == 1.0f) {
          px = i % 60;
          py = i / 60;
        }
        EXPECT_EQ(planes[i], planes[i + 40 * 60]);
        EXPECT_EQ(planes[i], planes[i + 2 * 40 * 60]);
      }
      const Box& b = flipped.boxes[0];
      EXPECT_GT(px + 0.5, b.x1) << h << v;
      EXPECT_LT(px + 0.5, b.x2) << h << v;
      EXPECT_GT(py + 0.5, b.y1) << h << v;
      EXPECT_LT(py + 0.5, b.y2) << h << v;
      EXPECT_FLOAT_EQ(b.x2 - b.x1, 4);
      EXPECT_FLOAT_EQ(b.y2 - b.y1, 4);
    }
  }
}

TEST(LoadDetectionSetTest, SkipsUnreadableImagesUpToTheLimit) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string good = dir + "/good.png", bad = dir + "/bad.png";
  cv::Mat1b img(50, 40, uint8_t{0});
  img(cv::Rect(10, 10, 10, 10)) = 200;
  ASSERT_TRUE(cv::imwrite(good, img));
  std::ofstream(bad) << "not a png";
  std::vector<data::Sample> samples(2);
  samples[0].images.push_back({good, "g", "CC", "L"});
  samples[0].boxes.push_back(MakeBox(10, 10, 20, 20, "Mass", "g"));
  samples[0].boxes.push_back(MakeBox(60, 60, 70, 70, "Mass", "g"));  // outside
  samples[1].images.push_back({bad, "b", "CC", "L"});
  DetectorInputConfig config;
  config.set_height(100);
  config.set_width(80);
  MVL_ASSERT_OK_AND_ASSIGN(DetectionSet set,
                           LoadDetectionSet(samples, {"Mass"}, config, 2, /*max=*/0.5));
  ASSERT_EQ(set.images.size(), 1u);
  EXPECT_EQ(set.images[0].image_id, "g");
  EXPECT_EQ(set.images[0].original_width, 40);
  ASSERT_EQ(set.images[0].truth.boxes.size(), 1u);
  EXPECT_FLOAT_EQ(set.images[0].truth.boxes[0].x1, 20);
  EXPECT_FLOAT_EQ(set.images[0].truth.boxes[0].y2, 40);
  EXPECT_EQ(set.boxes_dropped, 1);
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_EQ(set.skipped[0].first, bad);
  EXPECT_THAT(LoadDetectionSet(samples, {"Mass"}, config, 1, /*max=*/0.25),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("bad.png")));
}

// The transformed box must enclose every transformed pixel of the bright
// square it boxes, and stay tight for a pure translation and 90 deg turns.
TEST(AffineTest, BoxesEncloseTheirTransformedPixels) {
  cv::Mat1f image(64, 48, 0.0f);
  image(cv::Rect(10, 20, 8, 6)) = 1.0f;  // pixels x 10..17, y 20..25
  ImageGroundTruth truth;
  truth.boxes.push_back({10, 20, 18, 26});
  truth.labels.push_back(0);
  struct Case {
    AffineDraw draw;
    bool tight;
  };
  std::vector<Case> cases(4);
  cases[0].draw.translate_x = 5;
  cases[0].draw.translate_y = -3;
  cases[0].tight = true;
  cases[1].draw.rotate_deg = 90;
  cases[1].tight = true;
  cases[2].draw.rotate_deg = 17;
  cases[2].draw.shear_deg = 10;
  cases[2].draw.scale = 1.15;
  cases[3].draw.scale = 0.8;
  cases[3].draw.shear_deg = -20;
  for (const Case& c : cases) {
    cv::Mat1f out;
    ImageGroundTruth moved;
    int64_t dropped = 0;
    ApplyAffine(image, truth, AffineMatrix(c.draw, 48, 64), -1.0f, &out, &moved, &dropped);
    ASSERT_EQ(moved.boxes.size(), 1u);
    EXPECT_EQ(dropped, 0);
    const Box& b = moved.boxes[0];
    int bright = 0;
    double x1 = 1e9, y1 = 1e9, x2 = -1, y2 = -1;
    for (int y = 0; y < out.rows; ++y) {
      for (int x = 0; x < out.cols; ++x) {
        if (out(y, x) < 0.5f) continue;
        ++bright;
        EXPECT_GE(x + 0.5, b.x1 - 1) << x << "," << y;
        EXPECT_LE(x + 0.5, b.x2 + 1) << x << "," << y;
        EXPECT_GE(y + 0.5, b.y1 - 1) << x << "," << y;
        EXPECT_LE(y + 0.5, b.y2 + 1) << x << "," << y;
        x1 = std::min<double>(x1, x);
        x2 = std::max<double>(x2, x + 1);
        y1 = std::min<double>(y1, y);
        y2 = std::max<double>(y2, y + 1);
      }
    }
    EXPECT_GT(bright, 20);
    if (c.tight) {
      EXPECT_NEAR(b.x1, x1, 1.0);
      EXPECT_NEAR(b.x2, x2, 1.0);
      EXPECT_NEAR(b.y1, y1, 1.0);
      EXPECT_NEAR(b.y2, y2, 1.0);
    }
    // Pixels whose source lies outside the image take the fill value.
    if (c.draw.translate_x == 5) {
      EXPECT_EQ(out(10, 2), -1.0f);
      EXPECT_EQ(out(10, 6), 0.0f);
    }
  }
}

TEST(AffineTest, BoxesMovedOutOfTheImageAreDropped) {
  cv::Mat1f image(32, 32, 0.0f);
  ImageGroundTruth truth;
  truth.boxes = {{2, 2, 6, 6}, {20, 20, 30, 30}};
  truth.labels = {0, 1};
  AffineDraw draw;
  draw.translate_x = 12;  // the second box leaves the image
  draw.translate_y = 12;
  cv::Mat1f out;
  ImageGroundTruth moved;
  int64_t dropped = 0;
  ApplyAffine(image, truth, AffineMatrix(draw, 32, 32), 0.0f, &out, &moved, &dropped);
  ASSERT_EQ(moved.boxes.size(), 1u);
  EXPECT_EQ(moved.labels[0], 0);
  EXPECT_FLOAT_EQ(moved.boxes[0].x1, 14);
  EXPECT_EQ(dropped, 1);
}

TEST(AffineTest, DrawsWithinTheConfiguredRanges) {
  DetectorInputConfig config;
  EXPECT_FALSE(AffineEnabled(config));
  config.set_rotate_deg(20);
  config.set_translate_fraction(0.1);
  config.set_scale_min(0.8);
  config.set_scale_max(1.2);
  config.set_shear_deg(20);
  EXPECT_TRUE(AffineEnabled(config));
  for (double u : {0.0, 0.25, 0.999}) {
    const AffineDraw d = DrawAffine(config, 100, 200, [u] { return u; });
    EXPECT_NEAR(d.rotate_deg, (2 * u - 1) * 20, 1e-9);
    EXPECT_NEAR(d.translate_x, (2 * u - 1) * 10, 1e-9);
    EXPECT_NEAR(d.translate_y, (2 * u - 1) * 20, 1e-9);
    EXPECT_NEAR(d.scale, 0.8 + 0.4 * u, 1e-9);
  }
  config.set_scale_min(1.5);
  EXPECT_THAT(ValidateDetectorInputConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scale_min")));
}

TEST(ValidateDetectorInputConfigTest, NamesTheField) {
  DetectorInputConfig config;
  config.set_hflip_probability(1.5);
  EXPECT_THAT(ValidateDetectorInputConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hflip_probability")));
  config.Clear();
  config.set_height(8);
  EXPECT_THAT(ValidateDetectorInputConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input.height")));
  EXPECT_THAT(ValidateDetectorInputConfig(DetectorInputConfig()), IsOk());
}

}  // namespace
}  // namespace mammovl::detection
