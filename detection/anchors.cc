#include "detection/anchors.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mammovl::detection {
namespace {

std::vector<int> Levels(const AnchorConfig& c) {
  if (c.pyramid_levels_size() == 0) return {3, 4, 5, 6, 7};
  return {c.pyramid_levels().begin(), c.pyramid_levels().end()};
}

std::vector<double> Ratios(const AnchorConfig& c) {
  if (c.ratios_size() == 0) return {0.5, 1.0, 2.0};
  return {c.ratios().begin(), c.ratios().end()};
}

std::vector<double> Scales(const AnchorConfig& c) {
  if (c.scales_size() == 0) {
    return {1.0, std::pow(2.0, 1.0 / 3.0), std::pow(2.0, 2.0 / 3.0)};
  }
  return {c.scales().begin(), c.scales().end()};
}

}  // namespace

absl::Status ValidateAnchorConfig(const AnchorConfig& config) {
  const std::vector<int> levels = Levels(config);
  for (size_t i = 0; i < levels.size(); ++i) {
    if (levels[i] < 1 || levels[i] > 12) {
      return absl::InvalidArgumentError(absl::StrCat(
          "anchors.pyramid_levels[", i, "] must be in [1, 12] (got ",
          levels[i], ")"));
    }
    if (i > 0 && levels[i] <= levels[i - 1]) {
      return absl::InvalidArgumentError(
          "anchors.pyramid_levels must be strictly increasing");
    }
  }
  if (config.sizes_size() > 0 &&
      config.sizes_size() != static_cast<int>(levels.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("anchors.sizes has ", config.sizes_size(),
                     " values for ", levels.size(), " pyramid levels"));
  }
  for (int i = 0; i < config.sizes_size(); ++i) {
    if (!(config.sizes(i) > 0) || !std::isfinite(config.sizes(i))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "anchors.sizes[", i, "] must be > 0 (got ", config.sizes(i), ")"));
    }
  }
  for (int i = 0; i < config.ratios_size(); ++i) {
    if (!(config.ratios(i) > 0) || !std::isfinite(config.ratios(i))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "anchors.ratios[", i, "] must be > 0 (got ", config.ratios(i), ")"));
    }
  }
  for (int i = 0; i < config.scales_size(); ++i) {
    if (!(config.scales(i) > 0) || !std::isfinite(config.scales(i))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "anchors.scales[", i, "] must be > 0 (got ", config.scales(i), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AnchorGenerator> AnchorGenerator::Create(
    const AnchorConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateAnchorConfig(config));
  AnchorGenerator g;
  g.levels_ = Levels(config);
  const std::vector<double> ratios = Ratios(config);
  const std::vector<double> scales = Scales(config);
  for (size_t l = 0; l < g.levels_.size(); ++l) {
    const double base = config.sizes_size() > 0
                            ? config.sizes(static_cast<int>(l))
                            : std::ldexp(1.0, g.levels_[l] + 2);
    std::vector<double> cell;
    // The reference's generate_anchors: w = h = base * scale, then
    // w = sqrt(w * h / ratio), h = w * ratio, corners at -/+ half.
    for (double ratio : ratios) {
      for (double scale : scales) {
        const double side = base * scale;
        const double w = std::sqrt(side * side / ratio);
        const double h = w * ratio;
        cell.insert(cell.end(), {0 - w * 0.5, 0 - h * 0.5, w - w * 0.5,
                                 h - h * 0.5});
      }
    }
    g.cell_.push_back(std::move(cell));
  }
  return g;
}

std::vector<GridSize> AnchorGenerator::ImageGrids(int64_t height,
                                                  int64_t width) const {
  std::vector<GridSize> grids;
  for (size_t i = 0; i < levels_.size(); ++i) {
    const int64_t s = stride(i);
    grids.emplace_back((height + s - 1) / s, (width + s - 1) / s);
  }
  return grids;
}

absl::StatusOr<at::Tensor> AnchorGenerator::Generate(
    const std::vector<GridSize>& grids) const {
  if (grids.size() != levels_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("anchor grids: got ", grids.size(), " levels, expected ",
                     levels_.size()));
  }
  int64_t total = 0;
  for (size_t i = 0; i < grids.size(); ++i) {
    if (grids[i].first < 0 || grids[i].second < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("anchor grid of level ", levels_[i], " is ",
                       grids[i].first, "x", grids[i].second));
    }
    total += grids[i].first * grids[i].second * anchors_per_location();
  }
  at::Tensor out = at::empty({total, 4}, at::kFloat);
  float* p = out.data_ptr<float>();
  for (size_t i = 0; i < grids.size(); ++i) {
    const double s = static_cast<double>(stride(i));
    const std::vector<double>& cell = cell_[i];
    for (int64_t y = 0; y < grids[i].first; ++y) {
      const double cy = (static_cast<double>(y) + 0.5) * s;
      for (int64_t x = 0; x < grids[i].second; ++x) {
        const double cx = (static_cast<double>(x) + 0.5) * s;
        for (size_t a = 0; a < cell.size(); a += 4) {
          *p++ = static_cast<float>(cell[a] + cx);
          *p++ = static_cast<float>(cell[a + 1] + cy);
          *p++ = static_cast<float>(cell[a + 2] + cx);
          *p++ = static_cast<float>(cell[a + 3] + cy);
        }
      }
    }
  }
  return out;
}

absl::StatusOr<at::Tensor> AnchorGenerator::ForImage(int64_t height,
                                                     int64_t width) const {
  if (height < 1 || width < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("image size must be positive (got ", height, "x", width, ")"));
  }
  return Generate(ImageGrids(height, width));
}

}  // namespace mammovl::detection
