#include "data/transforms/pipelines.h"

#include <cmath>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "data/transforms/geometric.h"
#include "data/transforms/photometric.h"

namespace mammovl::data {
namespace {

absl::Status Prob(double p, const char* field) {
  if (p >= 0 && p <= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " must be in [0, 1] (got ", p, ")"));
}

absl::Status Positive(double v, const char* field) {
  if (v > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " must be > 0 (got ", v, ")"));
}

absl::Status Ordered(double lo, double hi, const char* field) {
  if (lo > 0 && lo <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": need 0 < min <= max (got ", lo, ", ", hi, ")"));
}

#define MVL_CHECK_FIELD(expr)         \
  do {                                \
    absl::Status s_ = (expr);         \
    if (!s_.ok()) return s_;          \
  } while (false)

}  // namespace

absl::Status ValidateTransformConfig(const TransformConfig& c) {
  switch (c.pipeline_case()) {
    case TransformConfig::kMammoclip: {
      const auto& m = c.mammoclip();
      MVL_CHECK_FIELD(Positive(m.height(), "mammoclip.height"));
      MVL_CHECK_FIELD(Positive(m.width(), "mammoclip.width"));
      MVL_CHECK_FIELD(Prob(m.hflip_p(), "mammoclip.hflip_p"));
      MVL_CHECK_FIELD(Prob(m.vflip_p(), "mammoclip.vflip_p"));
      MVL_CHECK_FIELD(Prob(m.affine_p(), "mammoclip.affine_p"));
      MVL_CHECK_FIELD(Prob(m.elastic_p(), "mammoclip.elastic_p"));
      MVL_CHECK_FIELD(Ordered(m.scale_min(), m.scale_max(), "mammoclip.scale_min/scale_max"));
      MVL_CHECK_FIELD(Positive(m.elastic_sigma(), "mammoclip.elastic_sigma"));
      MVL_CHECK_FIELD(Positive(m.std(), "mammoclip.std"));
      return absl::OkStatus();
    }
    case TransformConfig::kMama: {
      const auto& m = c.mama();
      MVL_CHECK_FIELD(Positive(m.size(), "mama.size"));
      MVL_CHECK_FIELD(Ordered(m.crop_scale_min(), m.crop_scale_max(), "mama.crop_scale"));
      MVL_CHECK_FIELD(Ordered(m.crop_ratio_min(), m.crop_ratio_max(), "mama.crop_ratio"));
      MVL_CHECK_FIELD(Prob(m.jitter_p(), "mama.jitter_p"));
      MVL_CHECK_FIELD(Prob(m.blur_p(), "mama.blur_p"));
      MVL_CHECK_FIELD(Ordered(m.blur_sigma_min(), m.blur_sigma_max(), "mama.blur_sigma"));
      MVL_CHECK_FIELD(Positive(m.std(), "mama.std"));
      return absl::OkStatus();
    }
    case TransformConfig::kSimclr: {
      const auto& m = c.simclr();
      MVL_CHECK_FIELD(Positive(m.size(), "simclr.size"));
      MVL_CHECK_FIELD(Ordered(m.crop_scale_min(), m.crop_scale_max(), "simclr.crop_scale"));
      MVL_CHECK_FIELD(Prob(m.jitter_p(), "simclr.jitter_p"));
      MVL_CHECK_FIELD(Prob(m.blur_p(), "simclr.blur_p"));
      MVL_CHECK_FIELD(Ordered(m.blur_sigma_min(), m.blur_sigma_max(), "simclr.blur_sigma"));
      return absl::OkStatus();
    }
    case TransformConfig::kClipView:
      MVL_CHECK_FIELD(Positive(c.clip_view().size(), "clip_view.size"));
      return Ordered(c.clip_view().crop_scale_min(), c.clip_view().crop_scale_max(),
                     "clip_view.crop_scale");
    case TransformConfig::kMgca:
      MVL_CHECK_FIELD(Positive(c.mgca().crop(), "mgca.crop"));
      if (c.mgca().load_size() < c.mgca().crop()) {
        return absl::InvalidArgumentError("mgca.load_size must be >= mgca.crop");
      }
      return absl::OkStatus();
    case TransformConfig::kCbisProbe:
      MVL_CHECK_FIELD(Positive(c.cbis_probe().size(), "cbis_probe.size"));
      MVL_CHECK_FIELD(Prob(c.cbis_probe().vflip_p(), "cbis_probe.vflip_p"));
      return Prob(c.cbis_probe().hflip_p(), "cbis_probe.hflip_p");
    case TransformConfig::kFpnMil:
      MVL_CHECK_FIELD(Positive(c.fpn_mil().std(), "fpn_mil.std"));
      return Prob(c.fpn_mil().flip_p(), "fpn_mil.flip_p");
    case TransformConfig::PIPELINE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("transform: no pipeline selected (e.g. mammoclip {})");
}

absl::StatusOr<ImageTransform> ImageTransform::Create(const TransformConfig& config) {
  MVL_CHECK_FIELD(ValidateTransformConfig(config));
  return ImageTransform(config);
}

ImageTransform::ImageTransform(TransformConfig config) : config_(std::move(config)) {
  switch (config_.pipeline_case()) {
    case TransformConfig::kMammoclip:
      output_size_ = {config_.mammoclip().width(), config_.mammoclip().height()};
      break;
    case TransformConfig::kMama:
      output_size_ = {config_.mama().size(), config_.mama().size()};
      break;
    case TransformConfig::kSimclr:
      output_size_ = {config_.simclr().size(), config_.simclr().size()};
      channels_ = 3;
      break;
    case TransformConfig::kClipView:
      output_size_ = {config_.clip_view().size(), config_.clip_view().size()};
      channels_ = 3;
      break;
    case TransformConfig::kMgca:
      output_size_ = {config_.mgca().crop(), config_.mgca().crop()};
      break;
    case TransformConfig::kCbisProbe:
      output_size_ = {config_.cbis_probe().size(), config_.cbis_probe().size()};
      channels_ = 3;
      break;
    case TransformConfig::kFpnMil:
    case TransformConfig::PIPELINE_NOT_SET:
      output_size_ = {0, 0};  // the input's size
      break;
  }
}

absl::StatusOr<cv::Mat> ImageTransform::Prepare(const cv::Mat& image, Rng& rng,
                                                NormalizationLut* lut) const {
  if (image.empty() || image.type() != CV_8UC1) {
    return absl::InvalidArgumentError(
        absl::StrCat("transform: expected a non-empty 8-bit gray image, got type ", image.type(),
                     " size ", image.cols, "x", image.rows));
  }
  cv::Mat out;
  switch (config_.pipeline_case()) {
    case TransformConfig::kMammoclip:
      out = MammoClip(image, rng);
      *lut = MinMaxLut(out, config_.mammoclip().mean(), config_.mammoclip().std());
      return out;
    case TransformConfig::kMama: {
      out = Mama(image, rng);
      const double mean = config_.mama().mean(), std = config_.mama().std();
      *lut = UnitLut(&mean, &std, 1);
      return out;
    }
    case TransformConfig::kSimclr:
      out = Simclr(image, rng);
      *lut = UnitLut(kImageNetMean, kImageNetStd, 3);
      return out;
    case TransformConfig::kClipView:
      out = ClipView(image, rng);
      *lut = UnitLut(kImageNetMean, kImageNetStd, 3);
      return out;
    case TransformConfig::kMgca: {
      out = Mgca(image, rng);
      const double half = 0.5;
      *lut = UnitLut(&half, &half, 1);
      return out;
    }
    case TransformConfig::kCbisProbe:
      out = CbisProbe(image, rng);
      *lut = UnitLut(kImageNetMean, kImageNetStd, 3);
      return out;
    case TransformConfig::kFpnMil: {
      out = FpnMil(image, rng);
      const double mean = config_.fpn_mil().mean(), std = config_.fpn_mil().std();
      *lut = UnitLut(&mean, &std, 1);
      return out;
    }
    case TransformConfig::PIPELINE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("transform: no pipeline selected");
}

absl::StatusOr<cv::Mat> ImageTransform::Apply(const cv::Mat& image, Rng& rng) const {
  NormalizationLut lut;
  absl::StatusOr<cv::Mat> gray = Prepare(image, rng, &lut);
  if (!gray.ok()) return gray.status();
  return WriteInterleaved(*gray, lut);
}

absl::Status ImageTransform::ApplyInto(const cv::Mat& image, Rng& rng, int out_channels,
                                       float* dst) const {
  if (output_size_.area() == 0) {
    return absl::FailedPreconditionError("transform: ApplyInto needs a fixed output size");
  }
  if (out_channels < channels_) {
    return absl::InvalidArgumentError(absl::StrCat("transform: ", channels_,
                                                   " channels do not fit into ", out_channels));
  }
  NormalizationLut lut;
  absl::StatusOr<cv::Mat> gray = Prepare(image, rng, &lut);
  if (!gray.ok()) return gray.status();
  if (gray->size() != output_size_) {
    return absl::InternalError("transform: pipeline output differs from its declared size");
  }
  WritePlanar(*gray, lut, out_channels, dst);
  return absl::OkStatus();
}

cv::Mat ImageTransform::MammoClip(const cv::Mat& image, Rng& rng) const {
  const MammoClipTransformConfig& m = config_.mammoclip();
  cv::Mat img = ResizeTo(image, output_size_).clone();
  if (config_.train()) {
    if (rng.Bernoulli(m.hflip_p())) cv::flip(img, img, 1);
    if (rng.Bernoulli(m.vflip_p())) cv::flip(img, img, 0);
    bool use_affine = false, use_elastic = false;
    cv::Matx33d affine;
    ElasticParams elastic;
    if (rng.Bernoulli(m.affine_p())) {
      use_affine = true;
      affine = AlbumentationsAffineMatrix(
          SampleMammoClipAffine(rng, m.rotate_deg(), m.translate_fraction(), m.scale_min(),
                                m.scale_max(), m.shear_deg(), img.cols, img.rows),
          img.cols, img.rows);
    }
    if (rng.Bernoulli(m.elastic_p())) {
      use_elastic = true;
      elastic = SampleElastic(rng, img.cols, img.rows, m.elastic_alpha(), m.elastic_sigma(),
                              m.elastic_alpha_affine(), m.fused() ? 4 : 1);
    }
    if (m.fused()) {
      if (use_affine || use_elastic) {
        img = FusedWarp(img, use_affine ? &affine : nullptr, use_elastic ? &elastic : nullptr);
      }
    } else {
      if (use_affine) img = WarpAffineLinear(img, affine, cv::BORDER_CONSTANT);
      if (use_elastic) img = ApplyElastic(img, elastic);
    }
  }
  return img;
}

cv::Mat ImageTransform::Mama(const cv::Mat& image, Rng& rng) const {
  const MamaTransformConfig& m = config_.mama();
  const int size = m.size();
  cv::Mat img = m.pad_to_square() ? ResizeLongSide(image, size, true) : image;
  if (m.otsu_cut()) img = OtsuCut(img);
  img = ResizeTo(img, {size, size});
  if (config_.train()) {
    const cv::Rect crop = RandomResizedCropRect(rng, img.cols, img.rows, m.crop_scale_min(),
                                                m.crop_scale_max(), m.crop_ratio_min(),
                                                m.crop_ratio_max());
    img = ResizeTo(img(crop), {size, size}).clone();
    if (rng.Bernoulli(m.hflip_p())) cv::flip(img, img, 1);
    if (rng.Bernoulli(m.vflip_p())) cv::flip(img, img, 0);
    if (rng.Bernoulli(m.jitter_p())) ColorJitterGray(img, m.brightness(), m.contrast(), 0.8, 0.2, rng);
    rng.Bernoulli(0.2);  // RandomGrayscale: a no-op on gray images
    if (rng.Bernoulli(m.blur_p())) {
      GaussianBlurLikeTorchvision(img, 7, rng.Uniform(m.blur_sigma_min(), m.blur_sigma_max()));
    }
  }
  return img;
}

cv::Mat ImageTransform::Simclr(const cv::Mat& image, Rng& rng) const {
  const SimclrTransformConfig& m = config_.simclr();
  const int size = m.size();
  cv::Mat img;
  if (config_.train()) {
    const cv::Rect crop = RandomResizedCropRect(rng, image.cols, image.rows, m.crop_scale_min(),
                                                m.crop_scale_max(), 3.0 / 4, 4.0 / 3);
    img = ResizeTo(image(crop), {size, size}).clone();
    if (rng.Bernoulli(m.jitter_p())) ColorJitterGray(img, m.brightness(), m.contrast(), 0.4, 0.1, rng);
    rng.Bernoulli(0.2);  // RandomGrayscale
    if (rng.Bernoulli(m.blur_p())) {
      // PIL's GaussianBlur(radius σ), approximated by a true Gaussian.
      const double sigma = rng.Uniform(m.blur_sigma_min(), m.blur_sigma_max());
      GaussianBlurLikeTorchvision(img, 2 * static_cast<int>(std::ceil(3 * sigma)) + 1, sigma);
    }
    if (rng.Bernoulli(m.hflip_p())) cv::flip(img, img, 1);
  } else {
    img = CenterCrop(ResizeShortSide(image, size), size).clone();
  }
  return img;
}

cv::Mat ImageTransform::ClipView(const cv::Mat& image, Rng& rng) const {
  const ClipViewTransformConfig& m = config_.clip_view();
  const int size = m.size();
  cv::Mat img;
  if (config_.train()) {
    const cv::Rect crop = RandomResizedCropRect(rng, image.cols, image.rows, m.crop_scale_min(),
                                                m.crop_scale_max(), 3.0 / 4, 4.0 / 3);
    img = ResizeTo(image(crop), {size, size});
  } else {
    img = CenterCrop(ResizeShortSide(image, size), size).clone();
  }
  return img;
}

cv::Mat ImageTransform::Mgca(const cv::Mat& image, Rng& rng) const {
  const MgcaTransformConfig& m = config_.mgca();
  cv::Mat img = ResizeLongSide(image, m.load_size(), true);
  const int crop = m.crop();
  if (config_.train()) {
    const int top = static_cast<int>(rng.UniformInt(0, img.rows - crop));
    const int left = static_cast<int>(rng.UniformInt(0, img.cols - crop));
    img = img(cv::Rect(left, top, crop, crop)).clone();
  } else {
    img = CenterCrop(img, crop).clone();
  }
  return img;
}

cv::Mat ImageTransform::CbisProbe(const cv::Mat& image, Rng& rng) const {
  const CbisProbeTransformConfig& m = config_.cbis_probe();
  cv::Mat img = ResizeTo(image, output_size_).clone();
  if (config_.train()) {
    if (rng.Bernoulli(m.vflip_p())) cv::flip(img, img, 0);
    if (rng.Bernoulli(m.hflip_p())) cv::flip(img, img, 1);
  }
  return img;
}

cv::Mat ImageTransform::FpnMil(const cv::Mat& image, Rng& rng) const {
  const FpnMilTransformConfig& m = config_.fpn_mil();
  cv::Mat img = image;
  if (config_.train() && m.augment()) {
    img = image.clone();
    if (rng.Bernoulli(m.flip_p())) cv::flip(img, img, 1);
    if (rng.Bernoulli(m.flip_p())) cv::flip(img, img, 0);
    // 90° steps of a non-square image would change the patch grid; only
    // 180° is applied to those.
    const int quarter = static_cast<int>(rng.UniformInt(0, 3));
    if (img.rows == img.cols && quarter % 2 == 1) {
      cv::rotate(img, img, quarter == 1 ? cv::ROTATE_90_COUNTERCLOCKWISE : cv::ROTATE_90_CLOCKWISE);
    } else if (quarter == 2) {
      cv::rotate(img, img, cv::ROTATE_180);
    }
  }
  return img;
}

}  // namespace mammovl::data
