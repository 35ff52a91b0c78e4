#include "detection/heatmap_boxes.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"

namespace mammovl::detection {

double Percentile(std::vector<float> values, double percentile) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const double pos = percentile / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  // NumPy's _lerp: a + (b - a) * t, or b - (b - a) * (1 - t) for t >= 0.5.
  const double a = values[lo], b = values[hi];
  const double diff = b - a;
  return frac >= 0.5 ? b - diff * (1 - frac) : a + diff * frac;
}

absl::StatusOr<ImageDetections> HeatmapToBoxes(const cv::Mat& heatmap, int height,
                                               int width,
                                               const HeatmapBoxOptions& options) {
  if (heatmap.empty() || heatmap.type() != CV_32FC1) {
    return absl::InvalidArgumentError("heatmap must be a non-empty CV_32F map");
  }
  if (height < 1 || width < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("heatmap boxes: image size ", height, "x", width));
  }
  if (!(options.percentile >= 0 && options.percentile <= 100)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "heatmap boxes: percentile must be in [0, 100] (got ", options.percentile, ")"));
  }
  if (!cv::checkRange(heatmap)) {
    return absl::InvalidArgumentError("heatmap has NaN or infinite values");
  }
  cv::Mat map;
  if (heatmap.rows == height && heatmap.cols == width) {
    map = heatmap;
  } else {
    cv::resize(heatmap, map, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
  }
  std::vector<float> values;
  values.reserve(map.total());
  for (int y = 0; y < map.rows; ++y) {
    const float* row = map.ptr<float>(y);
    values.insert(values.end(), row, row + map.cols);
  }
  const double threshold = Percentile(values, options.percentile);
  // Compared in float64, as NumPy compares a float32 map with the float64
  // percentile.
  cv::Mat mask(map.size(), CV_8U);
  for (int y = 0; y < map.rows; ++y) {
    const float* v = map.ptr<float>(y);
    uint8_t* m = mask.ptr<uint8_t>(y);
    for (int x = 0; x < map.cols; ++x) m[x] = double{v[x]} >= threshold ? 255 : 0;
  }
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
  std::vector<float> peak(n, -std::numeric_limits<float>::infinity());
  for (int y = 0; y < map.rows; ++y) {
    const int* l = labels.ptr<int>(y);
    const float* v = map.ptr<float>(y);
    for (int x = 0; x < map.cols; ++x) {
      if (l[x] > 0) peak[l[x]] = std::max(peak[l[x]], v[x]);
    }
  }
  std::vector<int> order;
  for (int c = 1; c < n; ++c) {
    if (stats.at<int>(c, cv::CC_STAT_AREA) >= options.min_area) order.push_back(c);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return peak[a] > peak[b]; });
  if (options.max_boxes > 0 && order.size() > static_cast<size_t>(options.max_boxes)) {
    order.resize(options.max_boxes);
  }
  ImageDetections out;
  for (int c : order) {
    const float x = static_cast<float>(stats.at<int>(c, cv::CC_STAT_LEFT));
    const float y = static_cast<float>(stats.at<int>(c, cv::CC_STAT_TOP));
    out.boxes.push_back({x, y, x + stats.at<int>(c, cv::CC_STAT_WIDTH),
                         y + stats.at<int>(c, cv::CC_STAT_HEIGHT)});
    out.scores.push_back(peak[c]);
    out.labels.push_back(options.label);
  }
  return out;
}

}  // namespace mammovl::detection
