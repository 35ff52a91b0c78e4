// Anchor boxes of a RetinaNet pyramid (shared/reference/mammoclip.md §8.4):
// for every pyramid level l and every location of its grid, |ratios| x
// |scales| boxes of base size `sizes[l]`, ratio-major, centred on the
// location. Built in float64 and returned as float32, bit for bit what the
// reference's NumPy code gives.
#ifndef MAMMOVL_DETECTION_ANCHORS_H_
#define MAMMOVL_DETECTION_ANCHORS_H_

#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "detection/detection_config.pb.h"

namespace mammovl::detection {

// InvalidArgument naming the field: levels outside [1, 12] or not
// increasing, `sizes` not matching the levels, non-positive ratios, scales or
// sizes.
absl::Status ValidateAnchorConfig(const AnchorConfig& config);

// Grid size (rows, columns) of one pyramid level.
using GridSize = std::pair<int64_t, int64_t>;

class AnchorGenerator {
 public:
  // Resolves the defaults of `config`; InvalidArgument as
  // ValidateAnchorConfig.
  static absl::StatusOr<AnchorGenerator> Create(const AnchorConfig& config);

  const std::vector<int>& levels() const { return levels_; }
  int64_t anchors_per_location() const {
    return static_cast<int64_t>(cell_.empty() ? 0 : cell_[0].size() / 4);
  }
  // Stride of pyramid level index `i` (2^levels()[i]).
  int64_t stride(size_t i) const { return int64_t{1} << levels_[i]; }

  // The reference's grids for an image: ceil(height / stride) x
  // ceil(width / stride) per level.
  std::vector<GridSize> ImageGrids(int64_t height, int64_t width) const;

  // Returns the anchors [sum_l rows_l * cols_l * A, 4] float32 (x1, y1, x2,
  // y2), level by level, locations row-major, then anchor. `grids` has one
  // entry per level (e.g. the feature maps' sizes); InvalidArgument
  // otherwise or for a negative size.
  absl::StatusOr<at::Tensor> Generate(const std::vector<GridSize>& grids) const;

  // Generate(ImageGrids(height, width)).
  absl::StatusOr<at::Tensor> ForImage(int64_t height, int64_t width) const;

 private:
  AnchorGenerator() = default;

  std::vector<int> levels_;
  // Per level: A cell anchors (x1, y1, x2, y2) centred at the origin.
  std::vector<std::vector<double>> cell_;
};

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_ANCHORS_H_
