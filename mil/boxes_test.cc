#include "mil/boxes.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/npy_tensor.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::mil {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

at::Tensor Golden(const std::string& name) {
  absl::StatusOr<at::Tensor> t =
      core::ReadNpyTensor("mil/testdata/detection/" + name + ".npy");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? t->to(at::kDouble).contiguous() : at::zeros({0});
}

cv::Mat MatOf(const at::Tensor& t) {
  const at::Tensor d = t.to(at::kDouble).contiguous();
  return cv::Mat(static_cast<int>(d.size(0)), static_cast<int>(d.size(1)), CV_64F,
                 const_cast<double*>(d.data_ptr<double>()))
      .clone();
}

std::vector<ScoredBox> BoxesOf(const at::Tensor& t) {
  std::vector<ScoredBox> out;
  for (int64_t i = 0; i < t.size(0); ++i) {
    out.push_back({t[i][0].item<double>(), t[i][1].item<double>(), t[i][2].item<double>(),
                   t[i][3].item<double>(), t.size(1) > 4 ? t[i][4].item<double>() : 0.0});
  }
  return out;
}

void ExpectSameBoxes(const std::vector<ScoredBox>& actual, const at::Tensor& expected,
                     double score_tol) {
  ASSERT_EQ(static_cast<int64_t>(actual.size()), expected.size(0));
  const std::vector<ScoredBox> e = BoxesOf(expected);
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].x0, e[i].x0) << i;
    EXPECT_EQ(actual[i].y0, e[i].y0) << i;
    EXPECT_EQ(actual[i].x1, e[i].x1) << i;
    EXPECT_EQ(actual[i].y1, e[i].y1) << i;
    EXPECT_NEAR(actual[i].score, e[i].score, score_tol * std::abs(e[i].score)) << i;
  }
}

TEST(BoxesTest, SpecificationCaseGivesOneBoxScoredByItsSum) {
  // fpn_mil.md §8.15.
  cv::Mat heat = cv::Mat::zeros(200, 200, CV_64F);
  heat(cv::Rect(30, 20, 50, 40)).setTo(0.9);
  heat(cv::Rect(120, 120, 20, 20)).setTo(0.8);
  std::vector<double> values(heat.begin<double>(), heat.end<double>());
  EXPECT_NEAR(Quantile(values, 0.95), 0.805, 1e-12);
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ScoredBox> boxes,
                           BoxesFromHeatmap(heat, BoxExtractionConfig()));
  ASSERT_EQ(boxes.size(), 1u);
  EXPECT_EQ(boxes[0].x0, 30);
  EXPECT_EQ(boxes[0].y0, 20);
  EXPECT_EQ(boxes[0].x1, 80);
  EXPECT_EQ(boxes[0].y1, 60);
  EXPECT_NEAR(boxes[0].score, 1800, 1e-9);
  // A blob exactly at the quantile is excluded (strict >).
  cv::Mat flat = cv::Mat::zeros(100, 100, CV_64F);
  flat(cv::Rect(0, 0, 100, 60)).setTo(0.7);
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ScoredBox> none,
                           BoxesFromHeatmap(flat, BoxExtractionConfig()));
  EXPECT_TRUE(none.empty());
}

TEST(BoxesTest, QuantileInterpolatesLikeNumPy) {
  std::vector<double> v = {5, 1, 4, 2, 3};
  EXPECT_DOUBLE_EQ(Quantile(v, 0.5), 3.0);
  v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(Quantile(v, 0.95), 3.85);
  v = {7};
  EXPECT_DOUBLE_EQ(Quantile(v, 0.3), 7.0);
  v = {0, 10};
  EXPECT_DOUBLE_EQ(Quantile(v, 1.0), 10.0);
}

TEST(BoxesTest, BlobsMatchTheReferencePipeline) {
  const cv::Mat blobs = MatOf(Golden("blobs"));
  struct Case {
    std::string name;
    double q, min_value;
    int64_t min_area;
    int max_boxes;
    double iou;
  };
  for (const Case& c : {Case{"blobs_default", 0.9, 0.5, 20, 100, 0.25},
                        Case{"blobs_loose", 0.7, 0.3, 5, 100, 0.1},
                        Case{"blobs_top2", 0.7, 0.3, 5, 2, 0.25}}) {
    SCOPED_TRACE(c.name);
    BoxExtractionConfig config;
    config.set_quantile(c.q);
    config.set_min_value(c.min_value);
    config.set_min_area(c.min_area);
    config.set_max_boxes(c.max_boxes);
    config.set_nms_iou(c.iou);
    config.set_containment(c.iou);
    MVL_ASSERT_OK_AND_ASSIGN(std::vector<ScoredBox> boxes, BoxesFromHeatmap(blobs, config));
    ExpectSameBoxes(boxes, Golden(c.name), 1e-6);
  }
}

TEST(BoxesTest, NmsKeepsHighestAndSuppressesOverlapsAboveThreshold) {
  const std::vector<ScoredBox> boxes = {{0, 0, 10, 10, 1.0},
                                        {1, 1, 11, 11, 2.0},
                                        {20, 20, 30, 30, 0.5},
                                        {0, 0, 10, 10, 2.0}};
  // Box 3 ties box 1 in score and comes later; box 0 overlaps both.
  EXPECT_EQ(NonMaximumSuppression(boxes, 0.5), (std::vector<int>{1, 2}));
  EXPECT_EQ(NonMaximumSuppression(boxes, 0.9), (std::vector<int>{1, 3, 2}));
}

TEST(BoxesTest, ContainmentFilterCanDropBothMembersOfAPair) {
  // IoU 100/700 passes NMS at 0.25, but each box shares 1/4 of its area.
  const std::vector<ScoredBox> pair = {{0, 0, 20, 20, 2}, {15, 0, 35, 20, 1}, {50, 50, 60, 60, 0.5}};
  EXPECT_EQ(NonMaximumSuppression(pair, 0.25).size(), 3u);
  const std::vector<ScoredBox> kept = ContainmentFilter(pair, 0.25);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].x0, 50);
  EXPECT_EQ(ContainmentFilter(pair, 0.3).size(), 3u);
}

TEST(BoxesTest, TouchingBlobsFormOneComponent) {
  cv::Mat heat = cv::Mat::zeros(100, 100, CV_64F);
  heat(cv::Rect(10, 10, 30, 30)).setTo(0.9);
  heat(cv::Rect(30, 30, 30, 30)).setTo(0.95);  // touches the first: one component
  heat(cv::Rect(80, 80, 12, 12)).setTo(0.9);
  BoxExtractionConfig config;
  config.set_quantile(0.5);
  config.set_min_area(50);
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ScoredBox> boxes, BoxesFromHeatmap(heat, config));
  ASSERT_EQ(boxes.size(), 2u);  // the merged component and the small square
  EXPECT_EQ(boxes[0].x0, 10);
  EXPECT_EQ(boxes[0].x1, 60);
  EXPECT_EQ(boxes[1].x0, 80);
}

TEST(BoxesTest, MatchingIsGreedyByScoreAsInTheSpecification) {
  // fpn_mil.md §8.15: TP/FP = 1, 0, 0, 1 and AP 0.75 (11-point 0.77273).
  const std::vector<BoxF> gt = {{0, 0, 100, 100}, {200, 200, 260, 260}};
  const std::vector<ScoredBox> det = {{10, 10, 110, 110, 5},
                                      {0, 0, 100, 100, 4},
                                      {500, 500, 600, 600, 3},
                                      {205, 205, 255, 255, 1}};
  DetectionAccumulator acc((BoxMatchingConfig()));
  const ImageMatch m = acc.AddImage(det, gt);
  EXPECT_EQ(m.true_positive, (std::vector<int>{1, 0, 0, 1}));
  EXPECT_NEAR(m.best_overlap[0], 0.6807, 1e-4);
  EXPECT_NEAR(m.best_overlap[1], 1.0, 1e-12);
  EXPECT_NEAR(m.best_overlap[3], 0.6944, 1e-4);
  MVL_ASSERT_OK_AND_ASSIGN(AveragePrecisionResult ap, acc.Result());
  EXPECT_NEAR(ap.ap, 0.75, 1e-12);
  EXPECT_NEAR(ap.ap_11_point, 0.77272727, 1e-7);
  EXPECT_EQ(ap.num_true_positives, 2);
}

TEST(BoxesTest, ApOverImagesMatchesReference) {
  DetectionAccumulator acc((BoxMatchingConfig()));
  for (int image = 0; image < 6; ++image) {
    const std::string p = "ap_image" + std::to_string(image);
    const at::Tensor gt_t = Golden(p + "_gt");
    std::vector<BoxF> gt;
    for (int64_t i = 0; i < gt_t.size(0); ++i) {
      gt.push_back({gt_t[i][0].item<double>(), gt_t[i][1].item<double>(),
                    gt_t[i][2].item<double>(), gt_t[i][3].item<double>()});
    }
    const ImageMatch m = acc.AddImage(BoxesOf(Golden(p + "_det")), gt);
    const at::Tensor tp = Golden(p + "_tp").to(at::kInt);
    ASSERT_EQ(static_cast<int64_t>(m.true_positive.size()), tp.numel()) << p;
    for (int64_t i = 0; i < tp.numel(); ++i) EXPECT_EQ(m.true_positive[i], tp[i].item<int>()) << p;
  }
  MVL_ASSERT_OK_AND_ASSIGN(AveragePrecisionResult ap, acc.Result());
  const at::Tensor expected = Golden("ap_result");
  EXPECT_NEAR(ap.ap, expected[0].item<double>(), 1e-12);
  EXPECT_NEAR(ap.ap_11_point, expected[1].item<double>(), 1e-12);
}

TEST(BoxesTest, EmptyDetectionsAreHandledAndNoGroundTruthIsAnError) {
  DetectionAccumulator acc((BoxMatchingConfig()));
  EXPECT_THAT(acc.Result(), StatusIs(absl::StatusCode::kFailedPrecondition));
  acc.AddImage({}, {{0, 0, 10, 10}});
  MVL_ASSERT_OK_AND_ASSIGN(AveragePrecisionResult ap, acc.Result());
  EXPECT_EQ(ap.ap, 0.0);
  EXPECT_EQ(ap.num_detections, 0);
  // Detections on an image without ground truth are false positives.
  const ImageMatch m = MatchDetections({{0, 0, 5, 5, 1}}, {}, BoxMatchingConfig());
  EXPECT_EQ(m.true_positive, (std::vector<int>{0}));
}

TEST(BoxesTest, OverlapVariantsAndSizeBins) {
  const ScoredBox d{0, 0, 10, 10, 1};
  const BoxF g{5, 0, 25, 10};
  EXPECT_NEAR(BoxOverlap(d, g, BoxMatchingConfig::IOU), 50.0 / 250.0, 1e-12);
  EXPECT_NEAR(BoxOverlap(d, g, BoxMatchingConfig::IOBB_DETECTION), 0.5, 1e-12);
  EXPECT_NEAR(BoxOverlap(d, g, BoxMatchingConfig::IOBB_ANNOTATION), 0.25, 1e-12);
  EXPECT_TRUE(InSizeBin({0, 0, 127, 128}, SizeBin::kSmall));
  EXPECT_TRUE(InSizeBin({0, 0, 128, 128}, SizeBin::kMedium));
  EXPECT_TRUE(InSizeBin({0, 0, 256, 256}, SizeBin::kLarge));
  EXPECT_FALSE(InSizeBin({0, 0, 256, 256}, SizeBin::kMedium));
}

TEST(BoxesTest, RejectsBadInputs) {
  BoxExtractionConfig bad;
  bad.set_quantile(1.5);
  EXPECT_THAT(BoxesFromHeatmap(cv::Mat::zeros(4, 4, CV_32F), bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("quantile")));
  EXPECT_THAT(BoxesFromHeatmap(cv::Mat::zeros(4, 4, CV_8U), BoxExtractionConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BoxesFromHeatmap(cv::Mat(), BoxExtractionConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  BoxMatchingConfig matching;
  matching.set_threshold(0);
  EXPECT_THAT(ValidateBoxMatchingConfig(matching),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("threshold")));
}

}  // namespace
}  // namespace mammovl::mil
