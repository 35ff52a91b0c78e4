// Post-hoc lesion detection from heatmaps, as FPN-MIL evaluates it
// (fpn_mil.md §5.6-5.7): boxes around thresholded connected components of a
// heatmap, scored by the heatmap summed over the box, non-maximum
// suppression and a containment filter; greedy matching against
// ground-truth boxes; VOC all-point and 11-point average precision over
// detections pooled across images. OpenCV only (no LibTorch).
//
// Protocol notes kept from the reference: scores are raw cumulative
// attention compared across images (large boxes rank first); AP is computed
// on the images given to the accumulator (the reference: positive test
// images only) at a single IoU threshold.
#ifndef MAMMOVL_MIL_BOXES_H_
#define MAMMOVL_MIL_BOXES_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mil/mil_config.pb.h"
#include "mil/patching.h"
#include "opencv2/core.hpp"

namespace mammovl::mil {

// A detection [x0, x1) × [y0, y1) in pixels with its score.
struct ScoredBox {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double score = 0;
};

absl::Status ValidateBoxExtractionConfig(const BoxExtractionConfig& config);
absl::Status ValidateBoxMatchingConfig(const BoxMatchingConfig& config);

// The q-quantile of `values` with NumPy's default linear interpolation.
// `values` must be non-empty; it is reordered.
double Quantile(std::vector<double>& values, double q);

// Boxes of a heatmap (CV_32F or CV_64F, one channel, values in [0, 1]),
// sorted by score, after NMS and the containment filter. Empty when nothing
// passes the thresholds. InvalidArgument for a bad config or matrix type.
absl::StatusOr<std::vector<ScoredBox>> BoxesFromHeatmap(
    const cv::Mat& heatmap, const BoxExtractionConfig& config);

// Indices of the boxes torchvision's `nms` keeps, in descending score order
// (ties in input order): a box is suppressed by any kept box with
// IoU > `iou_threshold`. Areas are (x1 - x0)(y1 - y0).
std::vector<int> NonMaximumSuppression(const std::vector<ScoredBox>& boxes,
                                       double iou_threshold);

// Drops box i if its intersection with any other box j reaches
// `fraction` · area(i); both boxes of a pair can go (the reference's rule).
std::vector<ScoredBox> ContainmentFilter(const std::vector<ScoredBox>& boxes,
                                         double fraction);

// Overlap of `a` with `b` by `method`; the union is clamped to machine
// epsilon as the reference does.
double BoxOverlap(const ScoredBox& a, const BoxF& b,
                  BoxMatchingConfig::Overlap method);

// Greedy matching of one image's detections (in the given order) to its
// ground-truth boxes.
struct ImageMatch {
  std::vector<double> scores;
  std::vector<int> true_positive;    // 1 or 0 per detection
  std::vector<double> best_overlap;  // per detection (0 without ground truth)
};
ImageMatch MatchDetections(const std::vector<ScoredBox>& detections,
                           const std::vector<BoxF>& ground_truth,
                           const BoxMatchingConfig& config);

struct AveragePrecisionResult {
  double ap = 0;            // VOC all-point (area under the envelope)
  double ap_11_point = 0;   // 11 recall points 0, 0.1, ..., 1
  int64_t num_detections = 0;
  int64_t num_true_positives = 0;
  int64_t num_ground_truth = 0;
  std::vector<double> precision;  // per detection, in score order
  std::vector<double> recall;
};

// Pools detections over images and computes AP. Not thread-safe.
class DetectionAccumulator {
 public:
  explicit DetectionAccumulator(BoxMatchingConfig config)
      : config_(std::move(config)) {}

  // Matches one image's detections and returns the match (for per-image
  // IoU reports).
  ImageMatch AddImage(const std::vector<ScoredBox>& detections,
                      const std::vector<BoxF>& ground_truth);

  // Sorts all detections by score (stable), accumulates TP/FP, and returns
  // AP with recall = cumTP / #ground truth and precision = cumTP /
  // max(cumTP + cumFP, 2^-10)... as the reference (float64 eps there).
  // FailedPrecondition without ground-truth boxes.
  absl::StatusOr<AveragePrecisionResult> Result() const;

 private:
  BoxMatchingConfig config_;
  std::vector<double> scores_;
  std::vector<int> true_positive_;
  int64_t num_ground_truth_ = 0;
};

// Size bins of ground-truth boxes by area a: small a < 128², medium
// 128² <= a < 256², large a >= 256² (fpn_mil.md §5.1).
enum class SizeBin { kAll, kSmall, kMedium, kLarge };
bool InSizeBin(const BoxF& box, SizeBin bin);

}  // namespace mammovl::mil

#endif  // MAMMOVL_MIL_BOXES_H_
