#include "detection/heatmap_eval.h"

#include <cmath>
#include <vector>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::detection {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

// A 12 x 8 grid map with a bump of 2 x 2 cells whose top-left cell is
// (row, col); the other cells hold small distinct values.
cv::Mat Bump(int row, int col) {
  cv::Mat1f m(12, 8);
  for (int y = 0; y < 12; ++y) {
    for (int x = 0; x < 8; ++x) m(y, x) = 0.001f * (y * 8 + x);
  }
  m(cv::Rect(col, row, 2, 2)) = 1.0f;
  return m;
}

TEST(HeatmapEvalTest, BumpsOnTheLesionsScoreHighMissesScoreZero) {
  // Images 96 x 64: one grid cell is 8 x 8 pixels. The 95th percentile of
  // 96 cells leaves the 4 bump cells (plus interpolation edges).
  const std::vector<int> heights = {96, 96, 96}, widths = {64, 64, 64};
  std::vector<ImageGroundTruth> truth(3);
  truth[0].boxes = {{16, 32, 32, 48}};  // cells (4..5, 2..3)
  truth[0].labels = {0};
  truth[1].boxes = {{40, 8, 56, 24}};  // cells (1..2, 5..6)
  truth[1].labels = {0};
  truth[2].boxes = {{0, 72, 16, 88}};
  truth[2].labels = {0};
  FactorConfig factor;
  std::vector<std::vector<cv::Mat>> hit = {{Bump(4, 2)}, {Bump(1, 5)}, {Bump(9, 0)}};
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics m, EvaluateHeatmapLocalization(
                                                   hit, truth, heights, widths, factor, {}));
  ASSERT_EQ(m.voc_iou_thresholds.size(), 2u);
  EXPECT_DOUBLE_EQ(m.voc_iou_thresholds[0], 0.25);
  EXPECT_NEAR(m.mean_voc_ap[0], 1.0, 1e-9);  // IoU 0.25
  EXPECT_GT(m.mean_voc_ap[1], 0.99);         // IoU 0.5

  std::vector<std::vector<cv::Mat>> miss = {{Bump(0, 6)}, {Bump(10, 0)}, {Bump(0, 0)}};
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics m2, EvaluateHeatmapLocalization(
                                                    miss, truth, heights, widths, factor, {}));
  EXPECT_DOUBLE_EQ(m2.mean_voc_ap[0], 0.0);

  // One hit of three lesions.
  std::vector<std::vector<cv::Mat>> one = {{Bump(4, 2)}, {Bump(10, 0)}, {Bump(0, 0)}};
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics m3, EvaluateHeatmapLocalization(
                                                    one, truth, heights, widths, factor, {}));
  EXPECT_GT(m3.mean_voc_ap[0], 0.3);
  EXPECT_LT(m3.mean_voc_ap[0], 0.34);
}

TEST(HeatmapEvalTest, ImagesWithoutLesionsAndBadInput) {
  FactorConfig factor;
  std::vector<ImageGroundTruth> truth(2);
  truth[0].boxes = {{16, 32, 32, 48}};
  truth[0].labels = {0};
  // The normal image's region is a false positive ranked above the hit.
  cv::Mat strong = Bump(0, 0) * 2.0;
  std::vector<std::vector<cv::Mat>> maps = {{Bump(4, 2)}, {strong}};
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics m,
                           EvaluateHeatmapLocalization(maps, truth, {96, 96}, {64, 64}, factor, {}));
  EXPECT_NEAR(m.mean_voc_ap[0], 0.5, 1e-9);

  EXPECT_THAT(EvaluateHeatmapLocalization(maps, truth, {96}, {64, 64}, factor, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("heights")));
  std::vector<std::vector<cv::Mat>> bad = {{Bump(4, 2)}, {cv::Mat()}};
  EXPECT_THAT(EvaluateHeatmapLocalization(bad, truth, {96, 96}, {64, 64}, factor, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("image 1, attribute 0")));
  EXPECT_THAT(EvaluateHeatmapLocalization({}, {}, {}, {}, factor, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mammovl::detection
