#include "data/synth/png_release.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace mammovl::data {
namespace {

// Marks the entries whose run of consecutive `true` values is the longest
// (all tied runs, as the reference does). Returns the kept indices.
std::vector<int> LongestRuns(const std::vector<bool>& fg) {
  const int n = static_cast<int>(fg.size());
  std::vector<int> run(n, 0);
  for (int i = 0; i < n;) {
    if (!fg[i]) {
      ++i;
      continue;
    }
    int j = i;
    while (j < n && fg[j]) ++j;
    for (int k = i; k < j; ++k) run[k] = j - i;
    i = j;
  }
  const int longest = n > 0 ? *std::max_element(run.begin(), run.end()) : 0;
  std::vector<int> kept;
  for (int i = 0; i < n; ++i) {
    if (longest > 0 && run[i] == longest) kept.push_back(i);
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
  double lo = 0, hi = 0;
  cv::minMaxLoc(trimmed, &lo, &hi);
  // MONOCHROME1: x = max(x) - x, whose min–max equals the reversed scale.
  cv::Mat1b img8(trimmed.rows, trimmed.cols);
  const double range = hi - lo;
  for (int y = 0; y < trimmed.rows; ++y) {
    const uint16_t* in = trimmed[y];
    uint8_t* o = img8[y];
    for (int x = 0; x < trimmed.cols; ++x) {
      double v = in[x];
      if (monochrome1) v = hi - v;
      const double n = range > 0 ? (monochrome1 ? v / range : (v - lo) / range) : 0.0;
      o[x] = static_cast<uint8_t>(n * 255.0);  // truncation, like astype(uint8)
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
