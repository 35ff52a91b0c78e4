#include "data/dicom/voi_lut.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace mammovl::data {

absl::StatusOr<WindowParams> WindowFromHeader(const DicomHeader& h, int index) {
  if (index < 0 || index >= static_cast<int>(h.window_centers.size()) ||
      index >= static_cast<int>(h.window_widths.size())) {
    return absl::NotFoundError(absl::StrCat("the file has no window ", index));
  }
  WindowParams w;
  w.center = h.window_centers[index];
  w.width = h.window_widths[index];
  if (h.voi_lut_function.empty() || h.voi_lut_function == "LINEAR") {
    w.function = VoiFunction::kLinear;
  } else if (h.voi_lut_function == "LINEAR_EXACT") {
    w.function = VoiFunction::kLinearExact;
  } else if (h.voi_lut_function == "SIGMOID") {
    w.function = VoiFunction::kSigmoid;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported VOI LUT Function \"", h.voi_lut_function, "\""));
  }
  return w;
}

std::pair<double, double> WindowOutputRange(const DicomHeader& h,
                                            bool is_signed) {
  double y_min = 0, y_max = 0;
  const int bits = h.bits_stored > 0 ? h.bits_stored : h.bits_allocated;
  if (h.modality_lut) {
    y_max = std::ldexp(1.0, h.modality_lut->bits_per_entry) - 1;
  } else if (!is_signed) {
    y_max = std::ldexp(1.0, bits) - 1;
  } else {
    y_min = -std::ldexp(1.0, bits - 1);
    y_max = std::ldexp(1.0, bits - 1) - 1;
  }
  if (h.has_rescale) {
    y_min = y_min * h.rescale_slope + h.rescale_intercept;
    y_max = y_max * h.rescale_slope + h.rescale_intercept;
  }
  return {y_min, y_max};
}

bool HasVoi(const DicomHeader& h) {
  return !h.voi_luts.empty() ||
         (!h.window_centers.empty() && !h.window_widths.empty());
}

absl::StatusOr<cv::Mat> ApplyVoiLut(const cv::Mat& values, const DicomHeader& h,
                                    bool is_signed, int index) {
  if (!h.voi_luts.empty()) {
    if (index < 0 || index >= static_cast<int>(h.voi_luts.size())) {
      return absl::NotFoundError(
          absl::StrCat("the file has no VOI LUT ", index));
    }
    const LookupTable& lut = h.voi_luts[index];
    if (lut.bits_per_entry != 8 &&
        (lut.bits_per_entry < 10 || lut.bits_per_entry > 16)) {
      return absl::UnimplementedError(absl::StrCat(
          lut.bits_per_entry, " bits per VOI LUT entry are not supported"));
    }
    cv::Mat out;
    ApplyLut(values, lut.data, lut.first_mapped).convertTo(out, CV_64F);
    return out;
  }
  if (h.window_centers.empty() || h.window_widths.empty()) {
    cv::Mat out;
    values.convertTo(out, CV_64F);
    return out;
  }
  auto window = WindowFromHeader(h, index);
  if (!window.ok()) return window.status();
  const auto [y_min, y_max] = WindowOutputRange(h, is_signed);
  return ApplyWindow(values, *window, y_min, y_max);
}

}  // namespace mammovl::data
