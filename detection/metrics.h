// Detection metrics over a set of images: Mammo-CLIP's VOC-style all-point
// average precision at any IoU threshold, COCO's AP@[.5:.95] / AP50 / AP75,
// and lesion-level FROC (sensitivity at fixed false positives per image), per
// class and averaged. Checked against Python implementations of the
// reference's `evaluate()` and of COCOeval by detection/metrics_parity_test.
// No LibTorch.
//
// Conventions:
// - `detections[i]` and `ground_truth[i]` belong to image i; both vectors
//   have one entry per evaluated image, including images without boxes
//   (normal images: their detections are false positives).
// - Ties in scores are broken by image order, then by order within the image
//   (stable sorts). The reference sorts with NumPy's default, unstable sort;
//   it agrees with us whenever scores are distinct.
// - Zero-area boxes are valid and overlap nothing: a zero-area lesion can
//   never be found. Boxes may lie partly or wholly outside the image.
//
// Errors (InvalidArgument, naming image and index): different numbers of
// images, mismatched vector lengths, NaN/Inf scores or coordinates, inverted
// boxes (x2 < x1 or y2 < y1), labels outside [0, num_classes), bad options.
// A class without ground truth has undefined AP and sensitivity (NaN); means
// are over the classes that have ground truth (the reference counts such a
// class as AP 0).
#ifndef MAMMOVL_DETECTION_METRICS_H_
#define MAMMOVL_DETECTION_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "detection/box.h"
#include "detection/detection_config.pb.h"

namespace mammovl::detection {

// Checks the inputs as described above.
absl::Status ValidateDetectionInputs(
    const std::vector<ImageDetections>& detections,
    const std::vector<ImageGroundTruth>& ground_truth, int num_classes);

// Drops detections with score <= `score_threshold`, then keeps the
// `max_per_image` highest-scoring ones per image (0 = all), sorted by
// descending score (the reference's `_get_detections`).
std::vector<ImageDetections> FilterDetections(
    const std::vector<ImageDetections>& detections, double score_threshold,
    int max_per_image);

// A precision-recall curve: one point per detection in descending score
// order.
struct PrCurve {
  std::vector<double> recall;
  std::vector<double> precision;
  std::vector<double> scores;
};

struct VocAp {
  double ap = 0;  // NaN without ground truth
  int64_t num_ground_truth = 0;
  int64_t num_detections = 0;
  PrCurve curve;
};

// All-point AP of class `label` as Mammo-CLIP's `evaluate()`: per image,
// detections in descending score order are matched to the ground-truth box
// of highest IoU; a match needs IoU >= `iou_threshold` and a box not matched
// before (otherwise the detection is a false positive, even if another box
// would qualify). Precision is made monotone and summed over the recall
// steps, with sentinels (0, 0) and (1, 0).
absl::StatusOr<VocAp> VocAveragePrecision(
    const std::vector<ImageDetections>& detections,
    const std::vector<ImageGroundTruth>& ground_truth, int label,
    double iou_threshold);

struct CocoAp {
  double ap = 0;      // mean over IoU 0.50:0.05:0.95 and 101 recall points
  double ap50 = 0;    // IoU 0.50
  double ap75 = 0;    // IoU 0.75
  double recall = 0;  // final recall averaged over the IoU thresholds (AR)
  std::vector<double> ap_per_threshold;  // 10 values
};

// COCOeval's bbox AP for class `label` (area "all", no crowd boxes): per image
// the `max_detections` best detections, each matched greedily to the
// unmatched box of highest IoU >= t; 101-point interpolated precision.
// All fields are NaN without ground truth.
absl::StatusOr<CocoAp> CocoAveragePrecision(
    const std::vector<ImageDetections>& detections,
    const std::vector<ImageGroundTruth>& ground_truth, int label,
    int max_detections = 100);

struct FrocPoint {
  double fps_per_image = 0;
  double sensitivity = 0;
  double threshold = 0;  // the lowest score kept at this point
};

struct Froc {
  // Sensitivity at each requested rate: the best sensitivity of an operating
  // point with at most that many false positives per image. NaN without
  // lesions.
  std::vector<double> sensitivity;
  double mean_sensitivity = 0;  // mean of `sensitivity`
  // One point per distinct score, from the strictest; starts at (0, 0).
  std::vector<FrocPoint> curve;
  int64_t num_lesions = 0;
  int64_t num_images = 0;
};

// Lesion-level FROC of class `label`: per image, detections in descending
// score order take the unmatched lesion of highest IoU >= `iou_threshold`
// (a hit); a detection that only overlaps already-found lesions at that IoU
// is ignored (not a false positive); every other one is a false positive.
// Detections with equal scores share one operating point.
absl::StatusOr<Froc> ComputeFroc(
    const std::vector<ImageDetections>& detections,
    const std::vector<ImageGroundTruth>& ground_truth, int label,
    double iou_threshold, const std::vector<double>& fps_per_image);

struct ClassDetectionMetrics {
  int label = 0;
  std::string name;
  int64_t num_ground_truth = 0;
  int64_t num_images_with_ground_truth = 0;
  int64_t num_detections = 0;  // after filtering
  std::vector<double> voc_ap;  // one per VOC IoU threshold
  PrCurve pr_curve;            // at the first VOC IoU threshold
  CocoAp coco;                 // when enabled
  Froc froc;
};

struct DetectionMetrics {
  std::vector<double> voc_iou_thresholds;
  std::vector<double> froc_fps_per_image;
  std::vector<ClassDetectionMetrics> classes;
  // Means over the classes with ground truth (NaN when none has any).
  std::vector<double> mean_voc_ap;
  double mean_coco_ap = 0, mean_coco_ap50 = 0, mean_coco_ap75 = 0;
  std::vector<double> mean_froc_sensitivity;
  int64_t num_images = 0;
  bool coco = false;
};

// Checks every field of `config` (InvalidArgument naming it).
absl::Status ValidateDetectionEvalConfig(const DetectionEvalConfig& config);

// Filters the detections as `config` says and computes every metric for the
// classes 0..num_classes-1.
absl::StatusOr<DetectionMetrics> EvaluateDetections(
    const std::vector<ImageDetections>& detections,
    const std::vector<ImageGroundTruth>& ground_truth, int num_classes,
    const DetectionEvalConfig& config);

// Renders the metrics (without curves) as a JSON object; NaN becomes null.
std::string DetectionMetricsToJson(const DetectionMetrics& metrics);

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_METRICS_H_
