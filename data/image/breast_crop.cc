#include "data/image/breast_crop.h"

#include <algorithm>
#include <cstring>

namespace mammovl::data {
namespace {

// Keeps the positions whose CountUpContinuingOnes value equals the maximum.
std::vector<int> KeepLongest(const std::vector<bool>& foreground) {
  const std::vector<int> counts = CountUpContinuingOnes(foreground);
  std::vector<int> kept;
  if (counts.empty()) return kept;
  const int best = *std::max_element(counts.begin(), counts.end());
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == best) kept.push_back(static_cast<int>(i));
  }
  return kept;
}

inline uint8_t Threshold(uint8_t v, int threshold) {
  return v <= threshold ? 0 : v;
}

}  // namespace

bool BreastCrop::contiguous() const {
  return (rows.empty() ||
          rows.back() - rows.front() + 1 == static_cast<int>(rows.size())) &&
         (cols.empty() ||
          cols.back() - cols.front() + 1 == static_cast<int>(cols.size()));
}

std::vector<int> CountUpContinuingOnes(const std::vector<bool>& ones) {
  const int n = static_cast<int>(ones.size());
  // left[i] = max over j <= i of (ones[j] ? 0 : j)
  std::vector<int> left(n), right(n), out(n);
  int running = 0;
  for (int i = 0; i < n; ++i) {
    running = std::max(running, ones[i] ? 0 : i);
    left[i] = running;
  }
  // On the reversed array: r[k] = max over j <= k of (rev[j] ? 0 : j), then
  // right[i] = n - 1 - r[n - 1 - i].
  running = 0;
  std::vector<int> r(n);
  for (int k = 0; k < n; ++k) {
    running = std::max(running, ones[n - 1 - k] ? 0 : k);
    r[k] = running;
  }
  for (int i = 0; i < n; ++i) right[i] = n - 1 - r[n - 1 - i];
  for (int i = 0; i < n; ++i) out[i] = right[i] - left[i] - 1;
  return out;
}

BreastCrop FindBreastCrop(const cv::Mat& image8,
                          const BreastCropOptions& options) {
  CV_Assert(image8.type() == CV_8UC1);
  const int height = image8.rows;
  const int width = image8.cols;
  const int t = options.background_threshold;
  BreastCrop crop;

  // Columns: non-constant (after thresholding) over the central row band.
  const int y_a = height / 2 + static_cast<int>(height * options.band_fraction);
  const int y_b = height / 2 - static_cast<int>(height * options.band_fraction);
  std::vector<bool> col_fg(
      width, true);  // an empty band gives NaN std, i.e. "non-constant"
  if (y_a > y_b) {
    std::vector<uint8_t> first(width), differs(width, 0);
    const uint8_t* row0 = image8.ptr<uint8_t>(y_b);
    for (int c = 0; c < width; ++c) first[c] = Threshold(row0[c], t);
    for (int r = y_b + 1; r < y_a; ++r) {
      const uint8_t* row = image8.ptr<uint8_t>(r);
      for (int c = 0; c < width; ++c)
        differs[c] |= Threshold(row[c], t) != first[c];
    }
    for (int c = 0; c < width; ++c) col_fg[c] = differs[c] != 0;
  }
  crop.cols = KeepLongest(col_fg);

  // Rows: non-constant over the central band of the kept columns.
  const int kept_width = static_cast<int>(crop.cols.size());
  const int x_a =
      kept_width / 2 + static_cast<int>(kept_width * options.band_fraction);
  const int x_b =
      kept_width / 2 - static_cast<int>(kept_width * options.band_fraction);
  std::vector<bool> row_fg(height, true);
  if (x_a > x_b) {
    const bool contiguous_band =
        crop.cols[x_a - 1] - crop.cols[x_b] == x_a - 1 - x_b;
    for (int r = 0; r < height; ++r) {
      const uint8_t* row = image8.ptr<uint8_t>(r);
      bool differs = false;
      if (contiguous_band) {
        const uint8_t* p = row + crop.cols[x_b];
        const uint8_t first = Threshold(p[0], t);
        const int n = x_a - x_b;
        for (int i = 1; i < n && !differs; ++i)
          differs = Threshold(p[i], t) != first;
      } else {
        const uint8_t first = Threshold(row[crop.cols[x_b]], t);
        for (int i = x_b + 1; i < x_a && !differs; ++i) {
          differs = Threshold(row[crop.cols[i]], t) != first;
        }
      }
      row_fg[r] = differs;
    }
  }
  crop.rows = KeepLongest(row_fg);
  return crop;
}

cv::Mat ApplyBreastCrop(const cv::Mat& image, const BreastCrop& crop) {
  if (crop.rows.empty() || crop.cols.empty())
    return cv::Mat(0, 0, image.type());
  if (crop.contiguous()) {
    return image(cv::Rect(crop.x(), crop.y(), crop.width(), crop.height()))
        .clone();
  }
  const size_t elem = image.elemSize();
  cv::Mat out(crop.height(), crop.width(), image.type());
  for (int i = 0; i < crop.height(); ++i) {
    const uint8_t* src = image.ptr<uint8_t>(crop.rows[i]);
    uint8_t* dst = out.ptr<uint8_t>(i);
    for (int j = 0; j < crop.width(); ++j) {
      std::memcpy(dst + j * elem, src + crop.cols[j] * elem, elem);
    }
  }
  return out;
}

}  // namespace mammovl::data
