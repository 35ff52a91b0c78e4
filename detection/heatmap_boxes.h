// Boxes from a localisation heatmap (Mammo-FActOR, shared/reference/
// mammoclip.md §9.5): the map is resized to the image, thresholded at a
// percentile of its values, and every 8-connected region above the
// threshold becomes a box scored by its peak. No LibTorch.
#ifndef MAMMOVL_DETECTION_HEATMAP_BOXES_H_
#define MAMMOVL_DETECTION_HEATMAP_BOXES_H_

#include <vector>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "detection/box.h"

namespace mammovl::detection {

// NumPy's percentile (linear interpolation) of the values of `values`;
// `percentile` in [0, 100].
double Percentile(std::vector<float> values, double percentile);

struct HeatmapBoxOptions {
  double percentile = 95.0;  // threshold: values >= this percentile
  int label = 0;             // label of the boxes
  // Regions smaller than this many pixels (in the resized map) are dropped.
  int min_area = 1;
  int max_boxes = 0;  // keep the highest-scoring ones; 0 = all
};

// `heatmap` CV_32F [h, w], resized bilinearly (half-pixel centres, as
// torch's interpolate with align_corners=false) to `height` x `width`.
// Returns one box per connected region of pixels >= the percentile
// threshold, as [x, x + w] x [y, y + h] pixel edges, scored by the region's
// maximum, in descending score order. A constant map gives one box over the
// whole image (every pixel reaches the threshold). InvalidArgument for an
// empty, non-float or non-finite map, bad sizes or options.
absl::StatusOr<ImageDetections> HeatmapToBoxes(const cv::Mat& heatmap, int height,
                                               int width,
                                               const HeatmapBoxOptions& options);

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_HEATMAP_BOXES_H_
