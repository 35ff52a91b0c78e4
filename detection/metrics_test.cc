#include "detection/metrics.h"

#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "core/status_matchers.h"
#include "detection/box.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::detection {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

ImageDetections Dets(std::vector<Box> boxes, std::vector<float> scores,
                     std::vector<int> labels = {}) {
  ImageDetections d;
  d.boxes = std::move(boxes);
  d.scores = std::move(scores);
  d.labels = labels.empty() ? std::vector<int>(d.boxes.size(), 0) : labels;
  return d;
}

ImageGroundTruth Gts(std::vector<Box> boxes, std::vector<int> labels = {}) {
  ImageGroundTruth g;
  g.boxes = std::move(boxes);
  g.labels = labels.empty() ? std::vector<int>(g.boxes.size(), 0) : labels;
  return g;
}

DetectionEvalConfig NoFilter() {
  DetectionEvalConfig c;
  c.set_score_threshold(-1);
  c.set_max_detections_per_image(0);
  return c;
}

TEST(BoxIouTest, OverlapsAndDegenerateBoxes) {
  EXPECT_DOUBLE_EQ(BoxIou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0);
  EXPECT_DOUBLE_EQ(BoxIou({0, 0, 10, 10}, {5, 0, 15, 10}), 50.0 / 150.0);
  EXPECT_EQ(BoxIou({0, 0, 10, 10}, {20, 20, 30, 30}), 0.0);
  // Zero-area boxes overlap nothing, themselves included, without NaN.
  EXPECT_EQ(BoxIou({5, 5, 5, 9}, {5, 5, 5, 9}), 0.0);
  EXPECT_EQ(BoxIou({3, 3, 3, 3}, {0, 0, 10, 10}), 0.0);
  // Outside the image is fine: coordinates are just numbers.
  EXPECT_DOUBLE_EQ(BoxIou({-20, -20, -10, -10}, {-20, -20, -10, -10}), 1.0);
}

TEST(VocApTest, HandComputedCase) {
  // Two lesions; a hit (0.9), a false positive (0.8), a hit (0.7):
  // precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> AP = 0.5 + 0.5 * 2/3.
  std::vector<ImageDetections> d = {
      Dets({{0, 0, 10, 10}, {50, 50, 60, 60}, {20, 20, 30, 30}}, {0.9f, 0.8f, 0.7f})};
  std::vector<ImageGroundTruth> g = {Gts({{0, 0, 10, 10}, {20, 20, 30, 30}})};
  MVL_ASSERT_OK_AND_ASSIGN(VocAp voc, VocAveragePrecision(d, g, 0, 0.5));
  EXPECT_NEAR(voc.ap, 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
  EXPECT_EQ(voc.num_ground_truth, 2);
  EXPECT_EQ(voc.num_detections, 3);
  EXPECT_THAT(voc.curve.recall, ::testing::ElementsAre(0.5, 0.5, 1.0));
  MVL_ASSERT_OK_AND_ASSIGN(CocoAp coco, CocoAveragePrecision(d, g, 0));
  // 51 recall points up to 0.5 at precision 1, 50 above at 2/3.
  EXPECT_NEAR(coco.ap50, (51 + 50 * 2.0 / 3.0) / 101, 1e-12);
  EXPECT_NEAR(coco.ap, coco.ap50, 1e-12);  // exact boxes: every threshold
  EXPECT_DOUBLE_EQ(coco.recall, 1.0);
}

TEST(VocApTest, ReferenceMatchesOnlyTheBestOverlappingLesion) {
  // The second detection overlaps both lesions equally; its best (first)
  // lesion is taken, so the reference counts it as a false positive, while
  // COCO matches it to the free lesion.
  std::vector<ImageDetections> d = {
      Dets({{0, 0, 10, 10}, {1, 0, 11, 10}}, {0.9f, 0.8f})};
  std::vector<ImageGroundTruth> g = {Gts({{0, 0, 10, 10}, {2, 0, 12, 10}})};
  MVL_ASSERT_OK_AND_ASSIGN(VocAp voc, VocAveragePrecision(d, g, 0, 0.5));
  EXPECT_NEAR(voc.ap, 0.5, 1e-12);
  MVL_ASSERT_OK_AND_ASSIGN(CocoAp coco, CocoAveragePrecision(d, g, 0));
  EXPECT_NEAR(coco.ap50, 1.0, 1e-12);
}

TEST(VocApTest, IouThresholdIsInclusive) {
  // IoU exactly 0.5: 10x10 box against a 10x5 half of it.
  std::vector<ImageDetections> d = {Dets({{0, 0, 10, 5}}, {0.5f})};
  std::vector<ImageGroundTruth> g = {Gts({{0, 0, 10, 10}})};
  MVL_ASSERT_OK_AND_ASSIGN(VocAp at, VocAveragePrecision(d, g, 0, 0.5));
  EXPECT_DOUBLE_EQ(at.ap, 1.0);
  MVL_ASSERT_OK_AND_ASSIGN(VocAp above, VocAveragePrecision(d, g, 0, 0.51));
  EXPECT_DOUBLE_EQ(above.ap, 0.0);
}

TEST(FrocTest, HandComputedCase) {
  // Image 0: a hit (0.9), a duplicate on the same lesion (0.8, ignored), a
  // false positive (0.5). Image 1: a false positive (0.6), a hit (0.4).
  std::vector<ImageDetections> d = {
      Dets({{0, 0, 10, 10}, {1, 1, 10, 10}, {70, 70, 80, 80}}, {0.9f, 0.8f, 0.5f}),
      Dets({{40, 40, 45, 45}, {20, 20, 30, 30}}, {0.6f, 0.4f})};
  std::vector<ImageGroundTruth> g = {Gts({{0, 0, 10, 10}}),
                                     Gts({{20, 20, 30, 30}})};
  MVL_ASSERT_OK_AND_ASSIGN(Froc f, ComputeFroc(d, g, 0, 0.5, {0.25, 0.5, 1, 2, 4}));
  EXPECT_THAT(f.sensitivity, ::testing::ElementsAre(0.5, 0.5, 1.0, 1.0, 1.0));
  EXPECT_DOUBLE_EQ(f.mean_sensitivity, 0.8);
  EXPECT_EQ(f.num_lesions, 2);
  EXPECT_EQ(f.num_images, 2);
  // (0,0) start, then one point per distinct score.
  ASSERT_EQ(f.curve.size(), 6u);
  EXPECT_DOUBLE_EQ(f.curve.back().fps_per_image, 1.0);
  EXPECT_DOUBLE_EQ(f.curve.back().sensitivity, 1.0);
  EXPECT_FLOAT_EQ(f.curve.back().threshold, 0.4f);
}

TEST(FrocTest, TiedScoresShareOneOperatingPoint) {
  // A hit and a false positive with the same score cannot be separated:
  // sensitivity 1 is only reached at 1 FP per image.
  std::vector<ImageDetections> d = {
      Dets({{0, 0, 10, 10}, {50, 50, 60, 60}}, {0.7f, 0.7f})};
  std::vector<ImageGroundTruth> g = {Gts({{0, 0, 10, 10}})};
  MVL_ASSERT_OK_AND_ASSIGN(Froc f, ComputeFroc(d, g, 0, 0.5, {0.5, 1}));
  EXPECT_THAT(f.sensitivity, ::testing::ElementsAre(0.0, 1.0));
}

TEST(EvaluateDetectionsTest, ImagesWithoutPredictions) {
  std::vector<ImageDetections> d(3);
  std::vector<ImageGroundTruth> g = {Gts({{0, 0, 10, 10}}), Gts({}),
                                     Gts({{5, 5, 50, 50}})};
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics m,
                           EvaluateDetections(d, g, 1, DetectionEvalConfig()));
  ASSERT_EQ(m.classes.size(), 1u);
  EXPECT_EQ(m.classes[0].voc_ap[0], 0.0);
  EXPECT_EQ(m.classes[0].coco.ap, 0.0);
  EXPECT_EQ(m.classes[0].coco.recall, 0.0);
  EXPECT_THAT(m.classes[0].froc.sensitivity, ::testing::Each(0.0));
  EXPECT_EQ(m.classes[0].num_ground_truth, 2);
  EXPECT_EQ(m.classes[0].num_images_with_ground_truth, 2);
  EXPECT_EQ(m.mean_voc_ap[0], 0.0);
}

TEST(EvaluateDetectionsTest, NoImagesAndNoGroundTruthAreUndefined) {
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics empty,
                           EvaluateDetections({}, {}, 2, DetectionEvalConfig()));
  ASSERT_EQ(empty.classes.size(), 2u);
  EXPECT_TRUE(std::isnan(empty.classes[0].voc_ap[0]));
  EXPECT_TRUE(std::isnan(empty.mean_voc_ap[0]));
  EXPECT_TRUE(std::isnan(empty.mean_coco_ap));

  // Normal images only: detections are all false positives, AP undefined.
  std::vector<ImageDetections> d = {Dets({{0, 0, 5, 5}}, {0.9f})};
  std::vector<ImageGroundTruth> g = {Gts({})};
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics m,
                           EvaluateDetections(d, g, 1, DetectionEvalConfig()));
  EXPECT_TRUE(std::isnan(m.classes[0].voc_ap[0]));
  EXPECT_TRUE(std::isnan(m.classes[0].froc.mean_sensitivity));
  const std::string json = DetectionMetricsToJson(m);
  EXPECT_THAT(json, HasSubstr("\"voc_ap\": {\"0.5\": null}"));
  EXPECT_THAT(json, HasSubstr("\"num_detections\": 1"));
}

TEST(EvaluateDetectionsTest, MeanSkipsClassesWithoutGroundTruth) {
  std::vector<ImageDetections> d = {
      Dets({{0, 0, 10, 10}, {0, 0, 10, 10}}, {0.9f, 0.8f}, {0, 1})};
  std::vector<ImageGroundTruth> g = {Gts({{0, 0, 10, 10}}, {0})};
  DetectionEvalConfig config;
  config.add_class_names("mass");
  config.add_class_names("calcification");
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics m, EvaluateDetections(d, g, 2, config));
  EXPECT_DOUBLE_EQ(m.classes[0].voc_ap[0], 1.0);
  EXPECT_TRUE(std::isnan(m.classes[1].voc_ap[0]));
  EXPECT_DOUBLE_EQ(m.mean_voc_ap[0], 1.0);
  EXPECT_EQ(m.classes[1].name, "calcification");
  EXPECT_THAT(DetectionMetricsToJson(m), HasSubstr("\"name\": \"mass\""));
}

TEST(EvaluateDetectionsTest, DegenerateLesionIsNeverFound) {
  std::vector<ImageDetections> d = {Dets({{5, 5, 5, 20}}, {0.9f})};
  std::vector<ImageGroundTruth> g = {Gts({{5, 5, 5, 20}})};
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics m,
                           EvaluateDetections(d, g, 1, DetectionEvalConfig()));
  EXPECT_EQ(m.classes[0].voc_ap[0], 0.0);
  EXPECT_EQ(m.classes[0].froc.sensitivity[3], 0.0);
}

TEST(EvaluateDetectionsTest, ScoreThresholdAndTopKApplyBeforeMatching) {
  std::vector<ImageDetections> d = {
      Dets({{50, 50, 60, 60}, {0, 0, 10, 10}, {70, 70, 80, 80}},
           {0.95f, 0.25f, 0.1f})};
  std::vector<ImageGroundTruth> g = {Gts({{0, 0, 10, 10}})};
  DetectionEvalConfig config = NoFilter();
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics all, EvaluateDetections(d, g, 1, config));
  EXPECT_DOUBLE_EQ(all.classes[0].voc_ap[0], 0.5);
  config.set_max_detections_per_image(1);  // only the false positive left
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics top1, EvaluateDetections(d, g, 1, config));
  EXPECT_DOUBLE_EQ(top1.classes[0].voc_ap[0], 0.0);
  config.set_max_detections_per_image(0);
  config.set_score_threshold(0.25);  // strictly greater: the hit goes too
  MVL_ASSERT_OK_AND_ASSIGN(DetectionMetrics thr, EvaluateDetections(d, g, 1, config));
  EXPECT_EQ(thr.classes[0].num_detections, 1);
}

TEST(FilterDetectionsTest, SortsAndTruncates) {
  std::vector<ImageDetections> d = {
      Dets({{0, 0, 1, 1}, {0, 0, 2, 2}, {0, 0, 3, 3}, {0, 0, 4, 4}},
           {0.2f, 0.9f, 0.04f, 0.9f}, {0, 1, 0, 2})};
  std::vector<ImageDetections> out = FilterDetections(d, 0.05, 2);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].scores.size(), 2u);
  EXPECT_THAT(out[0].labels, ::testing::ElementsAre(1, 2));  // stable on ties
  EXPECT_EQ(out[0].boxes[1].x2, 4.0f);
}

TEST(ValidationTest, RefusesBadInput) {
  const std::vector<ImageGroundTruth> g = {Gts({{0, 0, 10, 10}})};
  const DetectionEvalConfig config;
  EXPECT_THAT(EvaluateDetections({}, g, 1, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("images")));
  EXPECT_THAT(
      EvaluateDetections({Dets({{0, 0, 10, 10}}, {0.5f, 0.4f})}, g, 1, config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 scores")));
  EXPECT_THAT(
      EvaluateDetections({Dets({{10, 0, 0, 10}}, {0.5f})}, g, 1, config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inverted")));
  EXPECT_THAT(EvaluateDetections({Dets({{0, 0, 10, 10}}, {std::nanf("")})}, g,
                                 1, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("score")));
  EXPECT_THAT(
      EvaluateDetections({Dets({{0, 0, 10, 10}}, {0.5f}, {3})}, g, 2, config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("label 3")));
  EXPECT_THAT(EvaluateDetections({Dets({}, {})}, {Gts({{0, NAN, 1, 1}})}, 1, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-finite")));
  EXPECT_THAT(EvaluateDetections({Dets({}, {})}, g, 0, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_classes")));
  DetectionEvalConfig bad;
  bad.add_voc_iou_thresholds(0.0);
  EXPECT_THAT(EvaluateDetections({Dets({}, {})}, g, 1, bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("voc_iou_thresholds")));
  bad.Clear();
  bad.add_class_names("mass");
  EXPECT_THAT(EvaluateDetections({Dets({}, {})}, g, 2, bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("class_names")));
  bad.Clear();
  bad.add_froc_fps_per_image(-1);
  EXPECT_THAT(EvaluateDetections({Dets({}, {})}, g, 1, bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("froc")));
  EXPECT_THAT(VocAveragePrecision({Dets({}, {})}, g, -1, 0.5),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("label")));
  EXPECT_THAT(CocoAveragePrecision({Dets({}, {})}, g, 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_detections")));
}

}  // namespace
}  // namespace mammovl::detection
