#include "data/synth/png_release.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace mammovl::data {
namespace {

// The reference's run counter (np_CountUpContinuingOnes of the Kaggle
// notebook): `right - left - 1`, where `left` is the running maximum of
// (0 for a one, else the index) and `right` its mirror image. A run inside
// the array gets its length, a run touching an edge one less. Returns the
// positions whose count is the maximum (every tied run is kept).
std::vector<int> LongestRuns(const std::vector<bool>& fg) {
  const int n = static_cast<int>(fg.size());
  std::vector<int> left(n), right(n);
  int running = 0;
  for (int i = 0; i < n; ++i) {
    running = std::max(running, fg[i] ? 0 : i);
    left[i] = running;
  }
  running = 0;
  for (int k = 0; k < n; ++k) {
    running = std::max(running, fg[n - 1 - k] ? 0 : k);
    right[n - 1 - k] = n - 1 - running;
  }
  int best = -1;
  for (int i = 0; i < n; ++i) best = std::max(best, right[i] - left[i] - 1);
  std::vector<int> kept;
  for (int i = 0; i < n; ++i) {
    if (right[i] - left[i] - 1 == best) kept.push_back(i);
  }
  return kept;
}

// True if the values are not all equal (numpy's std != 0).
template <typename Getter>
bool NonConstant(int n, Getter get) {
  if (n <= 0) return false;
  const uint8_t first = get(0);
  for (int i = 1; i < n; ++i) {
    if (get(i) != first) return true;
  }
  return false;
}

}  // namespace

PngRelease MakeMammoClipPng(const cv::Mat1w& stored, bool monochrome1, int out_width,
                            int out_height) {
  PngRelease out;
  PngFrame& frame = out.frame;
  frame.out_width = out_width;
  frame.out_height = out_height;
  const int t = frame.trim;
  cv::Mat1w trimmed = stored(cv::Rect(t, t, stored.cols - 2 * t, stored.rows - 2 * t));
  // Min–max in float32 as the reference computes it (the DICOM reader hands
  // it float32 pixels): d = x - min(x), y = d / max(d) * 255, truncated.
  cv::Mat1f x;
  trimmed.convertTo(x, CV_32F);
  double lo = 0, hi = 0;
  cv::minMaxLoc(x, &lo, &hi);
  if (monochrome1) {
    x = static_cast<float>(hi) - x;  // max(x) - x
    cv::minMaxLoc(x, &lo, &hi);
  }
  const float x_min = static_cast<float>(lo);
  const float d_max = static_cast<float>(hi) - x_min;
  cv::Mat1b img8(trimmed.rows, trimmed.cols);
  for (int y = 0; y < x.rows; ++y) {
    const float* in = x[y];
    uint8_t* o = img8[y];
    for (int c = 0; c < x.cols; ++c) {
      const float d = in[c] - x_min;
      o[c] = d_max > 0 ? static_cast<uint8_t>((d / d_max) * 255.0f) : 0;
    }
  }

  // ExtractBreast on a thresholded copy.
  cv::Mat1b thr = img8.clone();
  thr.setTo(0, img8 <= 40);
  const int h = thr.rows, w = thr.cols;
  const int r0 = h / 2 - static_cast<int>(0.4 * h), r1 = h / 2 + static_cast<int>(0.4 * h);
  std::vector<bool> col_fg(w);
  for (int x = 0; x < w; ++x) {
    col_fg[x] = NonConstant(r1 - r0, [&](int i) { return thr(r0 + i, x); });
  }
  std::vector<int> cols = LongestRuns(col_fg);
  if (cols.empty()) {
    for (int x = 0; x < w; ++x) cols.push_back(x);
  }
  const int wc = static_cast<int>(cols.size());
  const int c0 = wc / 2 - static_cast<int>(0.4 * wc), c1 = wc / 2 + static_cast<int>(0.4 * wc);
  std::vector<bool> row_fg(h);
  for (int y = 0; y < h; ++y) {
    row_fg[y] = NonConstant(c1 - c0, [&](int i) { return thr(y, cols[c0 + i]); });
  }
  std::vector<int> rows = LongestRuns(row_fg);
  if (rows.empty()) {
    for (int y = 0; y < h; ++y) rows.push_back(y);
  }
  cv::Mat1b crop(static_cast<int>(rows.size()), wc);
  for (int i = 0; i < crop.rows; ++i) {
    const uint8_t* in = img8[rows[i]];
    uint8_t* o = crop[i];
    for (int j = 0; j < wc; ++j) o[j] = in[cols[j]];
  }
  frame.crop_x = cols.front();
  frame.crop_y = rows.front();
  frame.crop_width = wc;
  frame.crop_height = crop.rows;
  cv::resize(crop, out.image, cv::Size(out_width, out_height), 0, 0, cv::INTER_AREA);
  return out;
}

cv::Point2d MapToPngFrame(const PngFrame& frame, cv::Point2d p) {
  const double x = (p.x - frame.trim - frame.crop_x) * frame.out_width / frame.crop_width;
  const double y = (p.y - frame.trim - frame.crop_y) * frame.out_height / frame.crop_height;
  return {x, y};
}

}  // namespace mammovl::data
