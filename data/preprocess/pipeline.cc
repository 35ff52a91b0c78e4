#include "data/preprocess/pipeline.h"

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "data/dicom/monotonic_clock.h"
#include "data/dicom/voi_lut.h"
#include "data/image/breast_crop.h"
#include "data/image/intensity.h"

namespace mammovl::data {
namespace {

VoiFunction ToVoiFunction(WindowIntensity::Function f) {
  switch (f) {
    case WindowIntensity::LINEAR_EXACT:
      return VoiFunction::kLinearExact;
    case WindowIntensity::SIGMOID:
      return VoiFunction::kSigmoid;
    default:
      return VoiFunction::kLinear;
  }
}

// Rescaled (modality) values when the file has a rescale or Modality LUT,
// else the stored values themselves.
cv::Mat ModalityValues(const cv::Mat& stored, const DicomHeader& h) {
  if (h.modality_lut || h.has_rescale) return ApplyModalityLut(stored, h);
  return stored;
}

cv::Mat InvertToBits(const cv::Mat& in, int bits) {
  cv::Mat out;
  cv::subtract(cv::Scalar(bits == 8 ? 255 : 65535), in, out);
  return out;
}

absl::StatusOr<cv::Mat> WindowToBits(const cv::Mat& trimmed,
                                     const DicomImage& image,
                                     const ImageRecipe& recipe,
                                     bool* used_fallback) {
  const DicomHeader& h = image.header;
  const WindowIntensity& w = recipe.window();
  const int bits = recipe.output_bits();
  *used_fallback = false;
  if (w.has_center() && w.has_width()) {
    WindowParams params{w.center(), w.width(), ToVoiFunction(w.function())};
    return ApplyWindowToBits(ModalityValues(trimmed, h), params, bits);
  }
  if (!h.voi_luts.empty()) {
    if (w.index() >= static_cast<int>(h.voi_luts.size())) {
      return absl::FailedPreconditionError(
          absl::StrCat("the file has no VOI LUT ", w.index()));
    }
    const LookupTable& lut = h.voi_luts[w.index()];
    const cv::Mat entries =
        ApplyLut(ModalityValues(trimmed, h), lut.data, lut.first_mapped);
    const double entry_max = std::ldexp(1.0, lut.bits_per_entry) - 1;
    const double out_max = bits == 8 ? 255.0 : 65535.0;
    cv::Mat out;
    entries.convertTo(out, bits == 8 ? CV_8U : CV_16U, out_max / entry_max);
    return out;
  }
  if (!h.window_centers.empty() && !h.window_widths.empty()) {
    MVL_ASSIGN_OR_RETURN(const WindowParams params,
                         WindowFromHeader(h, w.index()));
    return ApplyWindowToBits(ModalityValues(trimmed, h), params, bits);
  }
  if (!w.fallback_to_min_max()) {
    return absl::FailedPreconditionError(
        "the file has no VOI LUT or window to apply");
  }
  *used_fallback = true;
  return cv::Mat();
}

}  // namespace

absl::StatusOr<ProcessedFrame> ProcessFrame(const DicomImage& image,
                                            size_t frame,
                                            const ImageRecipe& recipe) {
  if (frame >= image.frames.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame ", frame, " was not decoded"));
  }
  const DicomHeader& h = image.header;
  ProcessedFrame result;
  FrameGeometry& g = result.geometry;
  const int bits = recipe.output_bits();
  const bool invert = recipe.invert_monochrome1() &&
                      h.photometric_interpretation == "MONOCHROME1";

  double t = MonotonicSeconds();
  MVL_ASSIGN_OR_RETURN(const cv::Mat trimmed,
                       TrimBorder(image.frames[frame], recipe.trim_border()));
  g.trim = recipe.trim_border();
  double lo = 0, hi = 0;
  cv::minMaxLoc(trimmed, &lo, &hi);
  if (lo == hi && !recipe.allow_constant_images()) {
    return absl::FailedPreconditionError("the image holds a single grey value");
  }
  cv::Mat out;
  bool min_max = recipe.has_min_max();
  if (recipe.has_window()) {
    bool fallback = false;
    MVL_ASSIGN_OR_RETURN(out, WindowToBits(trimmed, image, recipe, &fallback));
    if (fallback) {
      min_max = true;
    } else if (invert) {
      out = InvertToBits(out, bits);
    }
  } else if (recipe.has_scale_by_max()) {
    out = ScaleByMaxTo8Bit(trimmed, invert);
  }
  if (min_max) {
    const bool rescale =
        (!recipe.has_min_max() || recipe.min_max().apply_rescale()) &&
        h.has_rescale && (h.rescale_slope != 1.0 || h.rescale_intercept != 0.0);
    if (rescale) {
      // dicomsdl's float32 pixels: stored * slope + intercept.
      cv::Mat values;
      ApplyModalityLut(trimmed, h).convertTo(values, CV_32F);
      out = MinMaxNormalize(values, bits, invert);
    } else {
      out = MinMaxNormalize(trimmed, bits, invert);
    }
  }
  result.seconds.intensity = MonotonicSeconds() - t;

  t = MonotonicSeconds();
  if (recipe.has_breast_crop()) {
    BreastCropOptions options;
    options.background_threshold = recipe.breast_crop().threshold();
    options.band_fraction = recipe.breast_crop().band_fraction();
    const cv::Mat detect = bits == 8 ? out : MinMaxNormalize(out, 8);
    const BreastCrop crop = FindBreastCrop(detect, options);
    g.crop_x = crop.x();
    g.crop_y = crop.y();
    g.crop_width = crop.width();
    g.crop_height = crop.height();
    g.crop_contiguous = crop.contiguous();
    if (crop.contiguous()) {
      out = out(
          cv::Rect(crop.x(), crop.y(), crop.width(), crop.height()));  // view
    } else {
      out = ApplyBreastCrop(out, crop);
    }
  } else {
    g.crop_width = out.cols;
    g.crop_height = out.rows;
  }
  result.seconds.crop = MonotonicSeconds() - t;

  t = MonotonicSeconds();
  cv::Size size(out.cols, out.rows);
  if (recipe.has_fixed_size()) {
    size = cv::Size(recipe.fixed_size().width(), recipe.fixed_size().height());
  } else if (recipe.resize_case() == ImageRecipe::kLongSide) {
    size = LongSideSize(size, recipe.long_side());
  }
  if (size != cv::Size(out.cols, out.rows)) {
    out = ResizeArea(out, size);
  }
  g.resized_width = out.cols;
  g.resized_height = out.rows;
  g.scale_x = static_cast<double>(g.resized_width) / g.crop_width;
  g.scale_y = static_cast<double>(g.resized_height) / g.crop_height;
  if (recipe.pad_to_aspect() > 0)
    out = PadToAspect(out, recipe.pad_to_aspect(), 0, &g.padding);
  if (recipe.has_flip()) {
    const BreastSide side =
        recipe.flip().rule() == FlipConfig::DICOM
            ? BreastSideFromDicom(h.patient_orientation_row, h.laterality())
            : BreastSideFromPixels(out);
    const BreastSide target = recipe.flip().breast_side() == FlipConfig::LEFT
                                  ? BreastSide::kLeft
                                  : BreastSide::kRight;
    if (side != BreastSide::kUnknown && side != target) {
      out = FlipHorizontal(out);
      g.flipped = true;
    }
  }
  if (!out.isContinuous()) out = out.clone();
  g.out_width = out.cols;
  g.out_height = out.rows;
  result.seconds.resize = MonotonicSeconds() - t;

  t = MonotonicSeconds();
  std::vector<uchar> png;
  std::vector<int> params;
  if (recipe.png_compression() >= 0)
    params = {cv::IMWRITE_PNG_COMPRESSION, recipe.png_compression()};
  if (!cv::imencode(".png", out, png, params)) {
    return absl::InternalError("PNG encoding failed");
  }
  result.png.assign(reinterpret_cast<const char*>(png.data()), png.size());
  result.seconds.encode = MonotonicSeconds() - t;
  result.image = std::move(out);
  return result;
}

}  // namespace mammovl::data
