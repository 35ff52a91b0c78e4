// Heatmaps from the instance attention of a multi-scale MIL model
// (fpn_mil.md §5.3-5.5): per scale, each patch's g×g attention grid is
// upsampled to the patch (bilinear), optionally min–max normalised per patch,
// accumulated into the padded image and averaged where patches overlap,
// smoothed with a Gaussian, and normalised inside the tissue mask. The
// aggregated map is the scale-weighted sum of the per-scale maps, min–max
// normalised. Also the tissue mask and PNG overlays. ATen + OpenCV.
#ifndef MAMMOVL_MIL_HEATMAPS_H_
#define MAMMOVL_MIL_HEATMAPS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mil/boxes.h"
#include "mil/mil_config.pb.h"
#include "mil/patching.h"
#include "opencv2/core.hpp"

namespace mammovl::mil {

absl::Status ValidateHeatmapConfig(const HeatmapConfig& config);

// Upsamples each patch's grid [N, g, g] to [N, P, P] (bilinear, corners
// aligned or not) and, with `patch_min_max`, maps each to
// (m - min) / (max - min + eps). float32.
at::Tensor UpsamplePatchMaps(const at::Tensor& grids, int64_t patch_size,
                             const HeatmapConfig& config);

// Adds patch maps [N, P, P] into an H×W map at `coords` (clipped to the
// image) and divides by the number of patches covering each pixel (0 where
// none does). float32 [H, W].
at::Tensor AccumulatePatchMaps(const at::Tensor& patch_maps,
                               const std::vector<PatchCoord>& coords,
                               int64_t height, int64_t width);

// SciPy's gaussian_filter(sigma, mode='reflect', truncate=4) on a 2-D map:
// separable correlation with a normalised kernel of radius
// int(4·sigma + 0.5), border reflected about the edge (d c b a | a b c d).
// Returns a new CV_32F map; sigma <= 0 copies.
cv::Mat GaussianSmooth(const cv::Mat& map, double sigma);

// Tissue mask of an 8-bit grey image (CV_8UC1): median blur, Otsu,
// closing. CV_8UC1 with values 0 / 1. A disabled config gives all ones.
absl::StatusOr<cv::Mat> TissueMask(const cv::Mat& grey,
                                   const TissueMaskConfig& config);

// (h - min) / (max - min) over the pixels where `mask` != 0, and 0 outside
// (all 0 if the mask is empty or flat). CV_32F.
cv::Mat NormaliseInMask(const cv::Mat& map, const cv::Mat& mask);

// One image's heatmaps, in the padded frame.
struct ImageHeatmaps {
  std::vector<cv::Mat> per_scale;  // CV_32F, in scale order
  cv::Mat aggregated;              // CV_32F, [0, 1]
  std::vector<double> scale_weights;
};

// Builds the per-scale and aggregated heatmaps of one image.
//   attention[s]: [N·g_s²] instance attention of scale s (instance order
//                 patch, row, column), g_s = grid_sides[s];
//   coords:       the N patch corners in the padded frame;
//   mask:         tissue mask of the padded frame (CV_8UC1, H×W), or empty
//                 for no mask;
//   scale_weights: one per scale (the model's scale attention).
absl::StatusOr<ImageHeatmaps> BuildHeatmaps(
    const std::vector<at::Tensor>& attention,
    const std::vector<int64_t>& grid_sides,
    const std::vector<PatchCoord>& coords, int64_t patch_size, int64_t height,
    int64_t width, const cv::Mat& mask, const std::vector<double>& scale_weights,
    const HeatmapConfig& config);

// Converts a float map to a cv::Mat (CV_32F, copies) and back.
cv::Mat TensorToMat(const at::Tensor& map);
at::Tensor MatToTensor(const cv::Mat& map);

// A colour overlay of `heatmap` ([0, 1]) on `grey` (CV_8UC1, same size):
// JET colour map · 0.9 + image, rescaled to its maximum, as the reference's
// visualisation; predicted boxes in yellow with their rank, ground truth in
// green. BGR CV_8UC3.
cv::Mat RenderOverlay(const cv::Mat& grey, const cv::Mat& heatmap,
                      const std::vector<ScoredBox>& predicted,
                      const std::vector<BoxF>& ground_truth);

// Side-by-side panels (e.g. image, per-scale overlays, aggregated) with a
// title above each, written as PNG atomically.
absl::Status WritePanels(absl::string_view path,
                         const std::vector<cv::Mat>& panels,
                         const std::vector<std::string>& titles);

}  // namespace mammovl::mil

#endif  // MAMMOVL_MIL_HEATMAPS_H_
