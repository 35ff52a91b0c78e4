// Weakly supervised localisation scores (Mammo-FActOR, shared/reference/
// mammoclip.md §9.5 and §10.6): per-attribute heatmaps over the encoder grid
// become boxes by the percentile rule (heatmap_boxes.h) and are scored with
// the detection metrics, VOC AP at IoU 0.25 and 0.5 by default. No LibTorch.
#ifndef MAMMOVL_DETECTION_HEATMAP_EVAL_H_
#define MAMMOVL_DETECTION_HEATMAP_EVAL_H_

#include <vector>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "detection/box.h"
#include "detection/detection_config.pb.h"
#include "detection/metrics.h"

namespace mammovl::detection {

// `heatmaps[i][k]`: image i's CV_32F map for attribute (class) k at any grid
// size; `ground_truth[i]` its boxes in an image of `heights[i]` x
// `widths[i]` pixels. Every map is resized to its image, thresholded at
// `factor.box_percentile()` and its regions of at least
// `factor.min_box_area()` pixels become boxes of class k scored by their
// peak. The boxes are evaluated with `eval` (its `voc_iou_thresholds`
// default here to 0.25 and 0.5; its score threshold is ignored, every region
// counts). InvalidArgument for mismatched sizes, a
// wrong number of maps or bad maps (naming the image and attribute).
absl::StatusOr<DetectionMetrics> EvaluateHeatmapLocalization(
    const std::vector<std::vector<cv::Mat>>& heatmaps,
    const std::vector<ImageGroundTruth>& ground_truth, const std::vector<int>& heights,
    const std::vector<int>& widths, const FactorConfig& factor, DetectionEvalConfig eval);

// The boxes of the same rule, per image (all attributes), for writing out.
absl::StatusOr<std::vector<ImageDetections>> HeatmapDetections(
    const std::vector<std::vector<cv::Mat>>& heatmaps, const std::vector<int>& heights,
    const std::vector<int>& widths, const FactorConfig& factor);

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_HEATMAP_EVAL_H_
