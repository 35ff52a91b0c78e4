#include "detection/heatmap_boxes.h"

#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <opencv2/core.hpp>

#include "absl/status/status.h"
#include "core/status_matchers.h"
#include "detection/testing/fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::detection {
namespace {

using ::mammovl::core::StatusIs;
using ::mammovl::detection::testing::Fixture;
using ::testing::HasSubstr;

TEST(PercentileTest, MatchesNumpyLinear) {
  EXPECT_DOUBLE_EQ(Percentile({1, 2, 3, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(Percentile({4, 1, 3, 2}, 95), 3.85);
  EXPECT_DOUBLE_EQ(Percentile({7}, 95), 7);
  EXPECT_DOUBLE_EQ(Percentile({1, 2}, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile({1, 2}, 100), 2);
  EXPECT_TRUE(std::isnan(Percentile({}, 50)));
}

TEST(HeatmapToBoxesTest, MatchesOpenCvAndNumpyReference) {
  const at::Tensor maps = Fixture("heatmap_maps").contiguous();
  const at::Tensor boxes = Fixture("heatmap_boxes");
  const at::Tensor offsets = Fixture("heatmap_box_offsets");
  for (int64_t i = 0; i < maps.size(0); ++i) {
    const at::Tensor m = maps[i].contiguous();
    cv::Mat map(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_32F,
                m.data_ptr<float>());
    HeatmapBoxOptions options;
    options.label = 1;
    MVL_ASSERT_OK_AND_ASSIGN(ImageDetections d, HeatmapToBoxes(map, 60, 50, options));
    const int64_t lo = offsets[i].item<int64_t>(), hi = offsets[i + 1].item<int64_t>();
    ASSERT_EQ(static_cast<int64_t>(d.boxes.size()), hi - lo) << "map " << i;
    for (int64_t j = lo; j < hi; ++j) {
      const Box& b = d.boxes[j - lo];
      EXPECT_EQ(b.x1, boxes[j][0].item<float>()) << i;
      EXPECT_EQ(b.y1, boxes[j][1].item<float>()) << i;
      EXPECT_EQ(b.x2, boxes[j][2].item<float>()) << i;
      EXPECT_EQ(b.y2, boxes[j][3].item<float>()) << i;
      EXPECT_NEAR(d.scores[j - lo], boxes[j][4].item<float>(), 1e-6) << i;
      EXPECT_EQ(d.labels[j - lo], 1);
    }
  }
}

TEST(HeatmapToBoxesTest, OptionsAndBadInput) {
  cv::Mat map = cv::Mat::zeros(4, 4, CV_32F);
  map.at<float>(0, 0) = 1;
  map.at<float>(3, 3) = 0.5;
  HeatmapBoxOptions options;
  options.percentile = 90;  // threshold 0.25
  MVL_ASSERT_OK_AND_ASSIGN(ImageDetections two, HeatmapToBoxes(map, 4, 4, options));
  ASSERT_EQ(two.boxes.size(), 2u);
  EXPECT_EQ(two.scores[0], 1.0f);
  options.max_boxes = 1;
  MVL_ASSERT_OK_AND_ASSIGN(ImageDetections one, HeatmapToBoxes(map, 4, 4, options));
  EXPECT_EQ(one.boxes.size(), 1u);
  options.max_boxes = 0;
  options.min_area = 2;
  MVL_ASSERT_OK_AND_ASSIGN(ImageDetections none, HeatmapToBoxes(map, 4, 4, options));
  EXPECT_TRUE(none.boxes.empty());
  EXPECT_THAT(HeatmapToBoxes(cv::Mat(), 4, 4, HeatmapBoxOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CV_32F")));
  map.at<float>(1, 1) = NAN;
  EXPECT_THAT(HeatmapToBoxes(map, 4, 4, HeatmapBoxOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NaN")));
  EXPECT_THAT(HeatmapToBoxes(cv::Mat::zeros(2, 2, CV_32F), 0, 4, HeatmapBoxOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("size")));
}

}  // namespace
}  // namespace mammovl::detection
