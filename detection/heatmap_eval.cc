#include "detection/heatmap_eval.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "detection/heatmap_boxes.h"

namespace mammovl::detection {

absl::StatusOr<std::vector<ImageDetections>> HeatmapDetections(
    const std::vector<std::vector<cv::Mat>>& heatmaps, const std::vector<int>& heights,
    const std::vector<int>& widths, const FactorConfig& factor) {
  if (heights.size() != heatmaps.size() || widths.size() != heatmaps.size()) {
    return absl::InvalidArgumentError(absl::StrCat("heatmap localisation: ", heatmaps.size(),
                                                   " images of maps but ", heights.size(),
                                                   " heights and ", widths.size(), " widths"));
  }
  std::vector<ImageDetections> detections(heatmaps.size());
  for (size_t i = 0; i < heatmaps.size(); ++i) {
    if (i > 0 && heatmaps[i].size() != heatmaps[0].size()) {
      return absl::InvalidArgumentError(absl::StrCat("heatmap localisation: image ", i, " has ",
                                                     heatmaps[i].size(), " maps, image 0 has ",
                                                     heatmaps[0].size()));
    }
    for (size_t k = 0; k < heatmaps[i].size(); ++k) {
      HeatmapBoxOptions options;
      options.percentile = factor.box_percentile();
      options.min_area = factor.min_box_area();
      options.label = static_cast<int>(k);
      absl::StatusOr<ImageDetections> boxes =
          HeatmapToBoxes(heatmaps[i][k], heights[i], widths[i], options);
      if (!boxes.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("image ", i, ", attribute ", k, ": ",
                                                       boxes.status().message()));
      }
      ImageDetections& d = detections[i];
      d.boxes.insert(d.boxes.end(), boxes->boxes.begin(), boxes->boxes.end());
      d.scores.insert(d.scores.end(), boxes->scores.begin(), boxes->scores.end());
      d.labels.insert(d.labels.end(), boxes->labels.begin(), boxes->labels.end());
    }
  }
  return detections;
}

absl::StatusOr<DetectionMetrics> EvaluateHeatmapLocalization(
    const std::vector<std::vector<cv::Mat>>& heatmaps,
    const std::vector<ImageGroundTruth>& ground_truth, const std::vector<int>& heights,
    const std::vector<int>& widths, const FactorConfig& factor, DetectionEvalConfig eval) {
  if (ground_truth.size() != heatmaps.size()) {
    return absl::InvalidArgumentError(absl::StrCat("heatmap localisation: ", heatmaps.size(),
                                                   " images of maps but ", ground_truth.size(),
                                                   " ground truths"));
  }
  if (heatmaps.empty() || heatmaps[0].empty()) {
    return absl::InvalidArgumentError("heatmap localisation: no images or no attributes");
  }
  MVL_ASSIGN_OR_RETURN(std::vector<ImageDetections> detections,
                       HeatmapDetections(heatmaps, heights, widths, factor));
  if (eval.voc_iou_thresholds_size() == 0) {
    eval.add_voc_iou_thresholds(0.25);
    eval.add_voc_iou_thresholds(0.5);
  }
  // Heatmap values are not probabilities: keep every region.
  eval.set_score_threshold(std::numeric_limits<double>::lowest());
  return EvaluateDetections(detections, ground_truth, static_cast<int>(heatmaps[0].size()), eval);
}

}  // namespace mammovl::detection
