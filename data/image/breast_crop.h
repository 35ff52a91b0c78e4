// The breast crop of Mammo-CLIP ("ExtractBreast", from a Kaggle RSNA
// notebook): keep the longest run of non-constant columns in the central row
// band, then the longest run of non-constant rows in the central column band
// of the column-cropped image. Reproduces the reference exactly, including
// its quirks (runs touching an image edge count one less; ties keep every
// tied run, which can give a non-contiguous crop). No LibTorch.
#ifndef MAMMOVL_DATA_IMAGE_BREAST_CROP_H_
#define MAMMOVL_DATA_IMAGE_BREAST_CROP_H_

#include <opencv2/core.hpp>
#include <vector>

namespace mammovl::data {

struct BreastCropOptions {
  // Pixels <= this are treated as background (the reference uses 40 on the
  // 8-bit image).
  int background_threshold = 40;
  // Half-height (and half-width) of the central band, as a fraction.
  double band_fraction = 0.4;
};

// Kept rows and columns, ascending indices into the input.
struct BreastCrop {
  std::vector<int> rows;
  std::vector<int> cols;

  // First kept column/row: the crop offset used to map boxes.
  int x() const { return cols.empty() ? 0 : cols.front(); }
  int y() const { return rows.empty() ? 0 : rows.front(); }
  // Number of kept columns/rows: the crop size used to map boxes.
  int width() const { return static_cast<int>(cols.size()); }
  int height() const { return static_cast<int>(rows.size()); }
  bool contiguous() const;
};

// Finds the crop of a CV_8U image (the normalised 8-bit mammogram).
BreastCrop FindBreastCrop(const cv::Mat& image8,
                          const BreastCropOptions& options = {});

// Returns `image(rows, cols)` of any depth as a new matrix (a plain copy of
// a rectangle when the crop is contiguous).
cv::Mat ApplyBreastCrop(const cv::Mat& image, const BreastCrop& crop);

// The reference's `np_CountUpContinuingOnes`: `right - left - 1` per
// position, where `left` is the running maximum from the left of (0 for a
// one, else the index) and `right` its mirror image from the right. Inside
// the array a one gets the length of its run, a run touching an edge one
// less, and a zero gets -1. Exposed for tests.
std::vector<int> CountUpContinuingOnes(const std::vector<bool>& ones);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_IMAGE_BREAST_CROP_H_
