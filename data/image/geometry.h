// Geometric steps of mammogram preprocessing on cv::Mat: border trim,
// resizing (fixed size or long side, INTER_AREA), padding to an aspect
// ratio, and the left/right canonical flip. No LibTorch.
#ifndef MAMMOVL_DATA_IMAGE_GEOMETRY_H_
#define MAMMOVL_DATA_IMAGE_GEOMETRY_H_

#include <opencv2/core.hpp>
#include <string>

#include "absl/status/statusor.h"

namespace mammovl::data {

// Returns a view of `in` without `pixels` rows and columns on every side
// (Mammo-CLIP's `x[5:-5, 5:-5]`; no copy). InvalidArgument if nothing would
// remain or `pixels` < 0.
absl::StatusOr<cv::Mat> TrimBorder(const cv::Mat& in, int pixels);

// Resizes to `size` with cv::INTER_AREA (as `cv2.resize(x, (w, h),
// interpolation=cv2.INTER_AREA)`).
cv::Mat ResizeArea(const cv::Mat& in, cv::Size size);

// Size whose long side is `long_side` and whose short side is
// floor(short * long_side / long) (MaMA's resize rule), at least 1.
cv::Size LongSideSize(cv::Size in, int long_side);

struct Padding {
  int top = 0;
  int bottom = 0;
  int left = 0;
  int right = 0;
};

// Pads `in` with `value` to the aspect ratio `width / height` = `aspect`,
// centring it (floor of the padding before, ceil after, as MaMA does).
// Writes the padding to `*padding` when not null.
cv::Mat PadToAspect(const cv::Mat& in, double aspect, double value,
                    Padding* padding);

// Which half of the image holds the breast.
enum class BreastSide { kUnknown, kLeft, kRight };

// Decides the breast side from DICOM orientation: the first Patient
// Orientation value ("A..." means the rows run towards the nipple, so the
// chest wall and the breast are on the left; "P..." the opposite), else the
// laterality ("L" left, "R" right, the usual mammography display), else
// unknown.
BreastSide BreastSideFromDicom(const std::string& patient_orientation_row,
                               const std::string& laterality);

// Decides the breast side from the image: the half with the larger pixel
// sum, i.e. where the (bright) tissue is. Expects MONOCHROME2-like values.
BreastSide BreastSideFromPixels(const cv::Mat& image);

// Flips `in` left-right (copy).
cv::Mat FlipHorizontal(const cv::Mat& in);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_IMAGE_GEOMETRY_H_
