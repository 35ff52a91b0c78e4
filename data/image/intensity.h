// Intensity transforms of single-channel images (cv::Mat): DICOM VOI
// windowing and LUTs, MONOCHROME1 inversion, and the 8/16-bit
// normalisations of the published preprocessing recipes (Mammo-CLIP min-max,
// MaMA scale-by-max). Each function states the exact arithmetic, so outputs
// can be compared bit for bit with the Python references. No LibTorch.
#ifndef MAMMOVL_DATA_IMAGE_INTENSITY_H_
#define MAMMOVL_DATA_IMAGE_INTENSITY_H_

#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

#include "absl/status/statusor.h"

namespace mammovl::data {

enum class VoiFunction { kLinear, kLinearExact, kSigmoid };

struct WindowParams {
  double center = 0;
  double width = 0;
  VoiFunction function = VoiFunction::kLinear;
};

// Maps `values` (any depth, one channel) through a DICOM VOI window into
// [y_min, y_max] (PS3.3 C.11.2.1.2-3), with the arithmetic of pydicom's
// `apply_windowing`: LINEAR uses center - 0.5 and width - 1; values at or
// below the lower edge give y_min, above the upper edge y_max. Returns
// CV_64F. InvalidArgument when the width is invalid for the function
// (< 1 for LINEAR, <= 0 otherwise).
absl::StatusOr<cv::Mat> ApplyWindow(const cv::Mat& values,
                                    const WindowParams& window, double y_min,
                                    double y_max);

// Same window, rounded to the nearest integer in [0, 2^bits - 1], as CV_8U
// (`bits` 8) or CV_16U (`bits` 16). Integer inputs of up to 16 bits go
// through a lookup table.
absl::StatusOr<cv::Mat> ApplyWindowToBits(const cv::Mat& values,
                                          const WindowParams& window, int bits);

// Maps integer `values` through a LUT (PS3.3 C.11.2.1.1): index =
// value - `first_mapped`, clamped to the table. Returns CV_16U.
cv::Mat ApplyLut(const cv::Mat& values, const std::vector<uint16_t>& lut,
                 int32_t first_mapped);

// Returns max(x) - x. Unsigned and float inputs keep their depth; signed
// integer inputs become CV_32S (the difference may not fit the input type).
cv::Mat InvertByMax(const cv::Mat& in);

// Mammo-CLIP's normalisation (preprocess_image_to_png_*.py): with `x` the
// values as float32, `d = x - min(x)`, `y = (d / max(d)) * scale` in float32,
// truncated to an integer; `scale` is 255 (CV_8U) or 65535 (CV_16U). With
// `invert`, `x` is first replaced by `max(x) - x` (the MONOCHROME1 step).
// A constant image gives zeros. Integer inputs of up to 16 bits use a
// lookup table over [min, max]; wider or float inputs are computed per pixel.
cv::Mat MinMaxNormalize(const cv::Mat& in, int bits, bool invert = false);

// MaMA's normalisation (resize_embed.py): `cv::convertScaleAbs(x, alpha =
// 255 / max(x))`, i.e. |x * alpha| rounded and saturated to CV_8U; then,
// with `invert`, 255 - y. A non-positive maximum gives zeros.
cv::Mat ScaleByMaxTo8Bit(const cv::Mat& in, bool invert = false);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_IMAGE_INTENSITY_H_
