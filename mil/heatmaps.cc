#include "mil/heatmaps.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/plot.h"
#include "core/torch_status.h"
#include "opencv2/imgproc.hpp"

namespace mammovl::mil {

absl::Status ValidateHeatmapConfig(const HeatmapConfig& config) {
  if (!(config.sigma() >= 0) || !std::isfinite(config.sigma())) {
    return absl::InvalidArgumentError(
        absl::StrCat("heatmap.sigma must be >= 0 (got ", config.sigma(), ")"));
  }
  if (!(config.patch_eps() >= 0)) {
    return absl::InvalidArgumentError("heatmap.patch_eps must be >= 0");
  }
  const TissueMaskConfig& mask = config.tissue_mask();
  if (mask.median_kernel() > 1 && mask.median_kernel() % 2 == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "heatmap.tissue_mask.median_kernel must be odd (got ",
        mask.median_kernel(), ")"));
  }
  if (mask.median_kernel() < 0 || mask.close_kernel() < 0) {
    return absl::InvalidArgumentError(
        "heatmap.tissue_mask kernels must be >= 0");
  }
  return absl::OkStatus();
}

at::Tensor UpsamplePatchMaps(const at::Tensor& grids, int64_t patch_size,
                             const HeatmapConfig& config) {
  TORCH_CHECK(grids.dim() == 3, "UpsamplePatchMaps expects [N, g, g], got ",
              grids.sizes());
  at::Tensor maps = at::upsample_bilinear2d(
      grids.to(at::kFloat).unsqueeze(1), {patch_size, patch_size},
      config.align_corners())
                        .squeeze(1);
  if (config.patch_min_max()) {
    const at::Tensor flat = maps.view({maps.size(0), -1});
    const at::Tensor lo = std::get<0>(flat.min(1)).view({-1, 1, 1});
    const at::Tensor hi = std::get<0>(flat.max(1)).view({-1, 1, 1});
    maps = (maps - lo) / (hi - lo + config.patch_eps());
  }
  return maps;
}

at::Tensor AccumulatePatchMaps(const at::Tensor& patch_maps,
                               const std::vector<PatchCoord>& coords,
                               int64_t height, int64_t width) {
  TORCH_CHECK(patch_maps.dim() == 3 &&
                  patch_maps.size(0) == static_cast<int64_t>(coords.size()),
              "AccumulatePatchMaps: ", coords.size(), " patches expected, got ",
              patch_maps.sizes());
  at::Tensor sum = at::zeros({height, width}, at::kFloat);
  at::Tensor count = at::zeros({height, width}, at::kFloat);
  const int64_t p = patch_maps.size(1);
  for (size_t i = 0; i < coords.size(); ++i) {
    const int64_t y0 = std::max<int64_t>(0, coords[i].y);
    const int64_t x0 = std::max<int64_t>(0, coords[i].x);
    const int64_t y1 = std::min(height, coords[i].y + p);
    const int64_t x1 = std::min(width, coords[i].x + p);
    if (y1 <= y0 || x1 <= x0) continue;
    sum.slice(0, y0, y1).slice(1, x0, x1) +=
        patch_maps[i].slice(0, y0 - coords[i].y, y1 - coords[i].y)
            .slice(1, x0 - coords[i].x, x1 - coords[i].x);
    count.slice(0, y0, y1).slice(1, x0, x1) += 1;
  }
  return at::where(count > 0, sum / count.clamp_min(1), at::zeros_like(sum));
}

cv::Mat GaussianSmooth(const cv::Mat& map, double sigma) {
  cv::Mat in;
  map.convertTo(in, CV_64F);
  if (sigma <= 0) {
    cv::Mat out;
    in.convertTo(out, CV_32F);
    return out;
  }
  const int radius = static_cast<int>(4.0 * sigma + 0.5);
  cv::Mat kernel(2 * radius + 1, 1, CV_64F);
  double total = 0;
  for (int i = -radius; i <= radius; ++i) {
    const double v = std::exp(-0.5 * i * i / (sigma * sigma));
    kernel.at<double>(i + radius) = v;
    total += v;
  }
  kernel /= total;
  // SciPy filters axis 0 then axis 1 and stores float32 in between.
  cv::Mat rows, out;
  cv::sepFilter2D(in, rows, CV_64F, cv::Mat::ones(1, 1, CV_64F), kernel,
                  cv::Point(-1, -1), 0, cv::BORDER_REFLECT);
  rows.convertTo(rows, CV_32F);
  rows.convertTo(rows, CV_64F);
  cv::sepFilter2D(rows, out, CV_64F, kernel.t(), cv::Mat::ones(1, 1, CV_64F),
                  cv::Point(-1, -1), 0, cv::BORDER_REFLECT);
  out.convertTo(out, CV_32F);
  return out;
}

absl::StatusOr<cv::Mat> TissueMask(const cv::Mat& grey,
                                   const TissueMaskConfig& config) {
  if (grey.empty() || grey.type() != CV_8UC1) {
    return absl::InvalidArgumentError(
        "TissueMask: expected a non-empty 8-bit one-channel image");
  }
  if (!config.enabled()) return cv::Mat(grey.size(), CV_8UC1, cv::Scalar(1));
  cv::Mat blurred = grey;
  if (config.median_kernel() > 1) cv::medianBlur(grey, blurred, config.median_kernel());
  cv::Mat binary;
  cv::threshold(blurred, binary, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  if (config.close_kernel() > 0) {
    const cv::Mat kernel =
        cv::Mat::ones(config.close_kernel(), config.close_kernel(), CV_8U);
    cv::morphologyEx(binary, binary, cv::MORPH_CLOSE, kernel);
  }
  cv::Mat mask = binary / 255;
  return mask;
}

cv::Mat NormaliseInMask(const cv::Mat& map, const cv::Mat& mask) {
  cv::Mat m;
  map.convertTo(m, CV_32F);
  cv::Mat out = cv::Mat::zeros(m.size(), CV_32F);
  if (cv::countNonZero(mask) == 0) return out;
  double lo = 0, hi = 0;
  cv::minMaxLoc(m, &lo, &hi, nullptr, nullptr, mask);
  if (!(hi > lo)) return out;
  cv::Mat scaled = (m - lo) / (hi - lo);
  scaled.copyTo(out, mask);
  return out;
}

cv::Mat TensorToMat(const at::Tensor& map) {
  const at::Tensor t = map.to(at::kFloat).contiguous();
  cv::Mat view(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_32F,
               const_cast<float*>(t.data_ptr<float>()));
  return view.clone();
}

at::Tensor MatToTensor(const cv::Mat& map) {
  cv::Mat m;
  map.convertTo(m, CV_32F);
  if (!m.isContinuous()) m = m.clone();
  return at::from_blob(m.data, {m.rows, m.cols}, at::kFloat).clone();
}

absl::StatusOr<ImageHeatmaps> BuildHeatmaps(
    const std::vector<at::Tensor>& attention,
    const std::vector<int64_t>& grid_sides,
    const std::vector<PatchCoord>& coords, int64_t patch_size, int64_t height,
    int64_t width, const cv::Mat& mask, const std::vector<double>& scale_weights,
    const HeatmapConfig& config) {
  if (absl::Status s = ValidateHeatmapConfig(config); !s.ok()) return s;
  if (attention.size() != grid_sides.size() ||
      attention.size() != scale_weights.size() || attention.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BuildHeatmaps: ", attention.size(), " attention vectors, ",
        grid_sides.size(), " grid sides and ", scale_weights.size(),
        " scale weights"));
  }
  if (!mask.empty() && (mask.rows != height || mask.cols != width ||
                        mask.type() != CV_8UC1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BuildHeatmaps: mask must be CV_8UC1 ", height, "x", width));
  }
  const int64_t n = static_cast<int64_t>(coords.size());
  for (size_t s = 0; s < attention.size(); ++s) {
    const int64_t g = grid_sides[s];
    if (!attention[s].defined() || attention[s].numel() != n * g * g) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BuildHeatmaps: scale ", s, " has ",
          attention[s].defined() ? attention[s].numel() : 0,
          " attention values for ", n, " patches of ", g, "x", g));
    }
  }
  const cv::Mat full_mask =
      mask.empty() ? cv::Mat(static_cast<int>(height), static_cast<int>(width),
                             CV_8UC1, cv::Scalar(1))
                   : mask;
  return core::RunTorch("building heatmaps", [&]() -> ImageHeatmaps {
    ImageHeatmaps out;
    out.scale_weights = scale_weights;
    cv::Mat aggregated = cv::Mat::zeros(static_cast<int>(height),
                                        static_cast<int>(width), CV_32F);
    for (size_t s = 0; s < attention.size(); ++s) {
      const int64_t g = grid_sides[s];
      const at::Tensor grids =
          attention[s].detach().to(at::kFloat).cpu().reshape({n, g, g});
      const at::Tensor averaged = AccumulatePatchMaps(
          UpsamplePatchMaps(grids, patch_size, config), coords, height, width);
      cv::Mat map = NormaliseInMask(
          GaussianSmooth(TensorToMat(averaged), config.sigma()), full_mask);
      aggregated += map * scale_weights[s];
      out.per_scale.push_back(map);
    }
    double lo = 0, hi = 0;
    cv::minMaxLoc(aggregated, &lo, &hi);
    out.aggregated = hi > lo ? cv::Mat((aggregated - lo) / (hi - lo))
                             : cv::Mat::zeros(aggregated.size(), CV_32F);
    return out;
  });
}

cv::Mat RenderOverlay(const cv::Mat& grey, const cv::Mat& heatmap,
                      const std::vector<ScoredBox>& predicted,
                      const std::vector<BoxF>& ground_truth) {
  cv::Mat heat8;
  heatmap.convertTo(heat8, CV_8U, 255.0);
  cv::Mat colour;
  cv::applyColorMap(heat8, colour, cv::COLORMAP_JET);
  cv::Mat grey3;
  cv::cvtColor(grey, grey3, cv::COLOR_GRAY2BGR);
  cv::Mat sum;
  cv::addWeighted(colour, 0.9 / 255.0, grey3, 1.0 / 255.0, 0.0, sum, CV_32F);
  double hi = 0;
  cv::minMaxLoc(sum.reshape(1), nullptr, &hi);
  cv::Mat vis;
  sum.convertTo(vis, CV_8U, hi > 0 ? 255.0 / hi : 0.0);
  const int thickness = std::max(1, std::min(vis.rows, vis.cols) / 300);
  for (const BoxF& b : ground_truth) {
    cv::rectangle(vis, cv::Point(static_cast<int>(b.x0), static_cast<int>(b.y0)),
                  cv::Point(static_cast<int>(b.x1) - 1, static_cast<int>(b.y1) - 1),
                  cv::Scalar(0, 255, 0), thickness);
  }
  for (size_t i = 0; i < predicted.size(); ++i) {
    const ScoredBox& b = predicted[i];
    cv::rectangle(vis, cv::Point(static_cast<int>(b.x0), static_cast<int>(b.y0)),
                  cv::Point(static_cast<int>(b.x1) - 1, static_cast<int>(b.y1) - 1),
                  cv::Scalar(0, 255, 255), thickness);
    cv::putText(vis, std::to_string(i + 1),
                cv::Point(static_cast<int>(b.x0) + 2, static_cast<int>(b.y0) + 12),
                cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 255, 255), 1);
  }
  return vis;
}

absl::Status WritePanels(absl::string_view path, const std::vector<cv::Mat>& panels,
                         const std::vector<std::string>& titles) {
  if (panels.empty() || panels.size() != titles.size()) {
    return absl::InvalidArgumentError("WritePanels: one title per panel needed");
  }
  const int title_h = 22, gap = 6;
  int height = 0, width = gap;
  for (const cv::Mat& p : panels) {
    height = std::max(height, p.rows);
    width += p.cols + gap;
  }
  cv::Mat canvas(height + title_h + gap, width, CV_8UC3, cv::Scalar(255, 255, 255));
  int x = gap;
  for (size_t i = 0; i < panels.size(); ++i) {
    cv::Mat bgr;
    if (panels[i].channels() == 1) {
      cv::cvtColor(panels[i], bgr, cv::COLOR_GRAY2BGR);
    } else {
      bgr = panels[i];
    }
    bgr.copyTo(canvas(cv::Rect(x, title_h, bgr.cols, bgr.rows)));
    cv::putText(canvas, titles[i], cv::Point(x, title_h - 6), cv::FONT_HERSHEY_SIMPLEX,
                0.45, cv::Scalar(0, 0, 0), 1);
    x += bgr.cols + gap;
  }
  return core::WritePng(path, canvas);
}

}  // namespace mammovl::mil
