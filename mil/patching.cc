#include "mil/patching.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/torch_status.h"

namespace mammovl::mil {
namespace {

// Returns the image as [C, H, W] (a 2-D image gets one channel).
at::Tensor AsChw(const at::Tensor& image) {
  return image.dim() == 2 ? image.unsqueeze(0) : image;
}

std::vector<int64_t> GridStarts(int64_t length, int64_t patch_size,
                                int64_t step, bool cover_edges) {
  std::vector<int64_t> starts;
  for (int64_t x = 0; x < length - patch_size + 1; x += step) starts.push_back(x);
  if (cover_edges && !starts.empty() &&
      starts.back() + patch_size < length) {
    starts.push_back(length - patch_size);
  }
  return starts;
}

}  // namespace

absl::Status ValidatePatchingConfig(const PatchingConfig& config) {
  if (config.patch_size() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "patching.patch_size must be > 0 (got ", config.patch_size(), ")"));
  }
  if (!(config.overlap() >= 0.0 && config.overlap() < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "patching.overlap must be in [0, 1) (got ", config.overlap(), ")"));
  }
  if (config.patch_size() - static_cast<int64_t>(config.patch_size() *
                                                 config.overlap()) <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("patching.overlap ", config.overlap(),
                     " leaves no step between patches of ",
                     config.patch_size()));
  }
  if (config.pad_mode() == PatchingConfig::PAD_MODE_UNSPECIFIED) {
    return absl::InvalidArgumentError("patching.pad_mode is unset");
  }
  if (!(config.std() > 0.0) || !std::isfinite(config.std()) ||
      !std::isfinite(config.mean())) {
    return absl::InvalidArgumentError(
        absl::StrCat("patching.std must be finite and > 0 and mean finite (got mean ",
                     config.mean(), ", std ", config.std(), ")"));
  }
  return absl::OkStatus();
}

int64_t PaddedLength(int64_t n, int64_t patch_size,
                     PatchingConfig::PadMode mode) {
  const int64_t rem = n % patch_size;
  if (mode == PatchingConfig::MINIMAL) {
    return rem == 0 ? n : n + (patch_size - rem);
  }
  return n + (patch_size - rem);
}

Padding ChoosePadding(const at::Tensor& image, int64_t patch_size,
                      PatchingConfig::PadMode mode) {
  const at::Tensor chw = AsChw(image).to(at::kDouble);
  const int64_t h = chw.size(1), w = chw.size(2);
  const int64_t extra_h = PaddedLength(h, patch_size, mode) - h;
  const int64_t extra_w = PaddedLength(w, patch_size, mode) - w;
  // Column sums (over channels and rows) and row sums.
  const at::Tensor columns = chw.sum(at::IntArrayRef{0, 1});
  const at::Tensor rows = chw.sum(at::IntArrayRef{0, 2});
  const double left = columns.slice(0, 0, w / 2).sum().item<double>();
  const double right = columns.slice(0, w / 2, w).sum().item<double>();
  const double top = rows.slice(0, 0, h / 2).sum().item<double>();
  const double bottom = rows.slice(0, h / 2, h).sum().item<double>();
  Padding padding;
  if (left < right) {
    padding.left = extra_w;
  } else {
    padding.right = extra_w;
  }
  if (top < bottom) {
    padding.top = extra_h;
  } else {
    padding.bottom = extra_h;
  }
  return padding;
}

at::Tensor ApplyPadding(const at::Tensor& image, const Padding& padding,
                        double value) {
  return at::constant_pad_nd(
      image, {padding.left, padding.right, padding.top, padding.bottom},
      value);
}

std::vector<PatchCoord> PatchGrid(int64_t height, int64_t width,
                                  int64_t patch_size, double overlap,
                                  bool cover_edges) {
  const int64_t step =
      patch_size - static_cast<int64_t>(patch_size * overlap);
  const std::vector<int64_t> xs =
      GridStarts(width, patch_size, step, cover_edges);
  const std::vector<int64_t> ys =
      GridStarts(height, patch_size, step, cover_edges);
  std::vector<PatchCoord> coords;
  coords.reserve(xs.size() * ys.size());
  for (int64_t y : ys) {
    for (int64_t x : xs) coords.push_back({x, y});
  }
  return coords;
}

at::Tensor ExtractPatches(const at::Tensor& padded,
                          const std::vector<PatchCoord>& coords,
                          int64_t patch_size) {
  const at::Tensor chw = AsChw(padded);
  at::Tensor out = at::empty(
      {static_cast<int64_t>(coords.size()), chw.size(0), patch_size, patch_size},
      chw.options().memory_format(at::MemoryFormat::Contiguous));
  for (size_t i = 0; i < coords.size(); ++i) {
    out[i].copy_(chw.slice(1, coords[i].y, coords[i].y + patch_size)
                     .slice(2, coords[i].x, coords[i].x + patch_size));
  }
  return out;
}

absl::StatusOr<PatchBag> MakePatchBag(const at::Tensor& image,
                                      const PatchingConfig& config) {
  if (absl::Status s = ValidatePatchingConfig(config); !s.ok()) return s;
  if (!image.defined() || (image.dim() != 2 && image.dim() != 3) ||
      image.numel() == 0 || !at::isFloatingType(image.scalar_type())) {
    return absl::InvalidArgumentError(
        "MakePatchBag: expected a non-empty float image [C, H, W] or [H, W]");
  }
  return core::RunTorch("cutting an image into patches", [&]() -> PatchBag {
    const at::Tensor chw = AsChw(image).to(at::kFloat);
    const at::Tensor normalised =
        (chw - config.mean()) / config.std();
    PatchBag bag;
    bag.image_height = chw.size(1);
    bag.image_width = chw.size(2);
    bag.padding =
        ChoosePadding(normalised, config.patch_size(), config.pad_mode());
    const double black = (0.0 - config.mean()) / config.std();
    const at::Tensor padded = ApplyPadding(normalised, bag.padding, black);
    bag.padded_height = padded.size(1);
    bag.padded_width = padded.size(2);
    bag.coords = PatchGrid(bag.padded_height, bag.padded_width,
                           config.patch_size(), config.overlap(),
                           config.cover_edges());
    bag.patches = ExtractPatches(padded, bag.coords, config.patch_size());
    return bag;
  });
}

InstanceLocation LocateInstance(int64_t index, int64_t grid) {
  const int64_t per_patch = grid * grid;
  InstanceLocation location;
  location.patch = index / per_patch;
  const int64_t within = index % per_patch;
  location.row = within / grid;
  location.col = within % grid;
  return location;
}

int64_t InstanceIndex(const InstanceLocation& location, int64_t grid) {
  return location.patch * grid * grid + location.row * grid + location.col;
}

BoxF InstanceCell(const InstanceLocation& location, const PatchCoord& corner,
                  int64_t patch_size, int64_t grid) {
  const double cell = static_cast<double>(patch_size) / grid;
  BoxF box;
  box.x0 = corner.x + location.col * cell;
  box.y0 = corner.y + location.row * cell;
  box.x1 = box.x0 + cell;
  box.y1 = box.y0 + cell;
  return box;
}

BoxF ToPaddedFrame(const BoxF& box, const Padding& padding) {
  return {box.x0 + padding.left, box.y0 + padding.top,
          box.x1 + padding.left, box.y1 + padding.top};
}

BoxF ToImageFrame(const BoxF& box, const Padding& padding) {
  return {box.x0 - padding.left, box.y0 - padding.top,
          box.x1 - padding.left, box.y1 - padding.top};
}

at::Tensor CoverageCount(int64_t height, int64_t width,
                         const std::vector<PatchCoord>& coords,
                         int64_t patch_size) {
  at::Tensor count = at::zeros({height, width}, at::kInt);
  for (const PatchCoord& c : coords) {
    const int64_t y0 = std::max<int64_t>(0, c.y);
    const int64_t x0 = std::max<int64_t>(0, c.x);
    const int64_t y1 = std::min(height, c.y + patch_size);
    const int64_t x1 = std::min(width, c.x + patch_size);
    if (y1 > y0 && x1 > x0) count.slice(0, y0, y1).slice(1, x0, x1).add_(1);
  }
  return count;
}

}  // namespace mammovl::mil
