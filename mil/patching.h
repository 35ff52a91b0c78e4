// Bags of patches from a full-resolution mammogram, as FPN-MIL builds them:
// the normalised image is padded on its background side to a multiple of the
// patch size and cut into square patches on a regular grid (row-major, no
// patch filtering). Also the coordinate maps between instances (pixels of a
// patch's feature map), patches and the image, used by heatmaps and boxes.
// ATen only (no torch/nn).
#ifndef MAMMOVL_MIL_PATCHING_H_
#define MAMMOVL_MIL_PATCHING_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mil/mil_config.pb.h"

namespace mammovl::mil {

// Pixels added on each side.
struct Padding {
  int64_t left = 0, right = 0, top = 0, bottom = 0;
  bool operator==(const Padding& o) const {
    return left == o.left && right == o.right && top == o.top &&
           bottom == o.bottom;
  }
};

// Top-left corner of a patch in the padded image.
struct PatchCoord {
  int64_t x = 0, y = 0;
  bool operator==(const PatchCoord& o) const { return x == o.x && y == o.y; }
};

// A box [x0, x1) × [y0, y1) in pixels (floats: ground-truth boxes are not
// integral).
struct BoxF {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// Checks ranges (patch_size > 0, overlap in [0, 1), std > 0, enums set).
// InvalidArgument naming the field.
absl::Status ValidatePatchingConfig(const PatchingConfig& config);

// Returns how much each axis grows: REFERENCE gives n + (P - n % P) (a whole
// extra patch when n % P == 0), MINIMAL the next multiple of P.
int64_t PaddedLength(int64_t n, int64_t patch_size, PatchingConfig::PadMode mode);

// Chooses the padding sides as FPN-MIL does, from the sums of the image
// halves: columns [0, w/2) against [w/2, w) and rows [0, h/2) against
// [h/2, h). Padding goes left (top) only if the left (top) sum is strictly
// smaller, otherwise right (bottom). `image` [C, H, W] or [H, W], any float
// dtype; sums are taken in float64.
Padding ChoosePadding(const at::Tensor& image, int64_t patch_size,
                      PatchingConfig::PadMode mode);

// Returns `image` ([C, H, W] or [H, W]) padded by `padding` with `value`.
at::Tensor ApplyPadding(const at::Tensor& image, const Padding& padding,
                        double value);

// Patch corners on the padded grid, sorted by y then x (row-major). x runs
// 0, step, 2·step, ... while x + P <= width (likewise y), step = P -
// int(P · overlap); with `cover_edges` a last patch at width - P (height - P)
// is added where the grid stops short of the edge. Empty if the image is
// smaller than a patch.
std::vector<PatchCoord> PatchGrid(int64_t height, int64_t width,
                                  int64_t patch_size, double overlap,
                                  bool cover_edges = false);

// A normalised, padded image cut into a bag of patches.
struct PatchBag {
  at::Tensor patches;  // [N, C, P, P] float32, contiguous
  std::vector<PatchCoord> coords;
  Padding padding;
  int64_t padded_height = 0;
  int64_t padded_width = 0;
  int64_t image_height = 0;  // before padding
  int64_t image_width = 0;
};

// Normalises `image` ([C, H, W] or [H, W] float in [0, 1]; a 2-D image gets
// one channel) with config.mean/std, pads it with the normalised black value
// on the sides `ChoosePadding` picks (from the normalised image, as the
// reference) and cuts it into patches. InvalidArgument for a bad config or
// shape.
absl::StatusOr<PatchBag> MakePatchBag(const at::Tensor& image,
                                      const PatchingConfig& config);

// Copies the patches at `coords` out of `padded` [C, H, W] → [N, C, P, P].
at::Tensor ExtractPatches(const at::Tensor& padded,
                          const std::vector<PatchCoord>& coords,
                          int64_t patch_size);

// Where instance `index` of a scale sits: instances are numbered patch-major,
// then row, then column of the patch's grid x grid feature map
// (index = p·grid² + r·grid + c).
struct InstanceLocation {
  int64_t patch = 0, row = 0, col = 0;
};
InstanceLocation LocateInstance(int64_t index, int64_t grid);
int64_t InstanceIndex(const InstanceLocation& location, int64_t grid);

// The pixels of the padded image an instance's feature cell covers: cell
// side P / grid, offset by the patch corner.
BoxF InstanceCell(const InstanceLocation& location, const PatchCoord& corner,
                  int64_t patch_size, int64_t grid);

// Maps a box between the original image frame and the padded frame
// (+left, +top and back).
BoxF ToPaddedFrame(const BoxF& box, const Padding& padding);
BoxF ToImageFrame(const BoxF& box, const Padding& padding);

// How many patches cover each pixel of the padded image: [H, W] int32.
at::Tensor CoverageCount(int64_t height, int64_t width,
                         const std::vector<PatchCoord>& coords,
                         int64_t patch_size);

}  // namespace mammovl::mil

#endif  // MAMMOVL_MIL_PATCHING_H_
