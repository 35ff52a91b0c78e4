#include "data/image/geometry.h"

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mammovl::data {

absl::StatusOr<cv::Mat> TrimBorder(const cv::Mat& in, int pixels) {
  if (pixels < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("border trim must be >= 0 (got ", pixels, ")"));
  }
  if (pixels == 0) return in;
  if (in.rows <= 2 * pixels || in.cols <= 2 * pixels) {
    return absl::InvalidArgumentError(absl::StrCat("cannot trim ", pixels,
                                                   " pixels from a ", in.cols,
                                                   "x", in.rows, " image"));
  }
  return in(
      cv::Rect(pixels, pixels, in.cols - 2 * pixels, in.rows - 2 * pixels));
}

cv::Mat ResizeArea(const cv::Mat& in, cv::Size size) {
  cv::Mat out;
  cv::resize(in, out, size, 0, 0, cv::INTER_AREA);
  return out;
}

cv::Size LongSideSize(cv::Size in, int long_side) {
  const bool wide = in.width >= in.height;
  const int64_t lng = wide ? in.width : in.height;
  const int64_t shrt = wide ? in.height : in.width;
  const int out_short =
      static_cast<int>(std::max<int64_t>(1, shrt * long_side / lng));
  return wide ? cv::Size(long_side, out_short) : cv::Size(out_short, long_side);
}

cv::Mat PadToAspect(const cv::Mat& in, double aspect, double value,
                    Padding* padding) {
  Padding pad;
  const double current = static_cast<double>(in.cols) / in.rows;
  if (current < aspect) {
    const int width = static_cast<int>(std::lround(in.rows * aspect));
    const int extra = std::max(0, width - in.cols);
    pad.left = extra / 2;
    pad.right = extra - pad.left;
  } else if (current > aspect) {
    const int height = static_cast<int>(std::lround(in.cols / aspect));
    const int extra = std::max(0, height - in.rows);
    pad.top = extra / 2;
    pad.bottom = extra - pad.top;
  }
  if (padding != nullptr) *padding = pad;
  if (pad.top == 0 && pad.bottom == 0 && pad.left == 0 && pad.right == 0)
    return in.clone();
  cv::Mat out;
  cv::copyMakeBorder(in, out, pad.top, pad.bottom, pad.left, pad.right,
                     cv::BORDER_CONSTANT, cv::Scalar(value));
  return out;
}

BreastSide BreastSideFromDicom(const std::string& patient_orientation_row,
                               const std::string& laterality) {
  if (!patient_orientation_row.empty()) {
    if (patient_orientation_row[0] == 'A') return BreastSide::kLeft;
    if (patient_orientation_row[0] == 'P') return BreastSide::kRight;
  }
  if (laterality == "L") return BreastSide::kLeft;
  if (laterality == "R") return BreastSide::kRight;
  return BreastSide::kUnknown;
}

BreastSide BreastSideFromPixels(const cv::Mat& image) {
  if (image.cols < 2) return BreastSide::kUnknown;
  const int half = image.cols / 2;
  const double left = cv::sum(image(cv::Rect(0, 0, half, image.rows)))[0];
  const double right =
      cv::sum(image(cv::Rect(image.cols - half, 0, half, image.rows)))[0];
  if (left == right) return BreastSide::kUnknown;
  return left > right ? BreastSide::kLeft : BreastSide::kRight;
}

cv::Mat FlipHorizontal(const cv::Mat& in) {
  cv::Mat out;
  cv::flip(in, out, 1);
  return out;
}

}  // namespace mammovl::data
