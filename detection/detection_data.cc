#include "detection/detection_data.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include <glog/logging.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "core/progress.h"
#include "core/thread_pool.h"

namespace mammovl::detection {

absl::Status ValidateDetectorInputConfig(const DetectorInputConfig& config) {
  if (config.height() < 32 || config.width() < 32) {
    return absl::InvalidArgumentError(absl::StrCat("input.height and input.width must be >= 32 (got ",
                                                   config.height(), " x ", config.width(), ")"));
  }
  if (!(config.std() > 0) || !std::isfinite(config.mean())) {
    return absl::InvalidArgumentError(absl::StrCat("input.std must be > 0 and input.mean finite (got ",
                                                   config.mean(), ", ", config.std(), ")"));
  }
  for (auto [name, p] : {std::make_pair("hflip_probability", config.hflip_probability()),
                         std::make_pair("vflip_probability", config.vflip_probability())}) {
    if (!(p >= 0 && p <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("input.", name, " must be in [0, 1] (got ", p, ")"));
    }
  }
  if (!(config.rotate_deg() >= 0 && config.rotate_deg() <= 180)) {
    return absl::InvalidArgumentError(
        absl::StrCat("input.rotate_deg must be in [0, 180] (got ", config.rotate_deg(), ")"));
  }
  if (!(config.translate_fraction() >= 0 && config.translate_fraction() < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input.translate_fraction must be in [0, 1) (got ", config.translate_fraction(), ")"));
  }
  if (!(config.scale_min() > 0 && config.scale_min() <= config.scale_max() &&
        std::isfinite(config.scale_max()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("input.scale_min and input.scale_max must satisfy 0 < min <= max (got ",
                     config.scale_min(), ", ", config.scale_max(), ")"));
  }
  if (!(config.shear_deg() >= 0 && config.shear_deg() <= 60)) {
    return absl::InvalidArgumentError(
        absl::StrCat("input.shear_deg must be in [0, 60] (got ", config.shear_deg(), ")"));
  }
  return absl::OkStatus();
}

bool AffineEnabled(const DetectorInputConfig& config) {
  return config.rotate_deg() > 0 || config.translate_fraction() > 0 || config.shear_deg() > 0 ||
         config.scale_min() != 1 || config.scale_max() != 1;
}

AffineDraw DrawAffine(const DetectorInputConfig& config, int width, int height,
                      const std::function<double()>& uniform01) {
  auto symmetric = [&](double r) { return (2 * uniform01() - 1) * r; };
  AffineDraw d;
  d.rotate_deg = symmetric(config.rotate_deg());
  d.translate_x = symmetric(config.translate_fraction()) * width;
  d.translate_y = symmetric(config.translate_fraction()) * height;
  d.scale = config.scale_min() + uniform01() * (config.scale_max() - config.scale_min());
  d.shear_deg = symmetric(config.shear_deg());
  return d;
}

cv::Matx23d AffineMatrix(const AffineDraw& draw, int width, int height) {
  const double kDeg = M_PI / 180.0;
  const double c = std::cos(draw.rotate_deg * kDeg), s = std::sin(draw.rotate_deg * kDeg);
  const double k = std::tan(draw.shear_deg * kDeg);
  // A = R * Sh * S.
  const cv::Matx22d a = cv::Matx22d(c, -s, s, c) * cv::Matx22d(1, k, 0, 1) *
                        cv::Matx22d(draw.scale, 0, 0, draw.scale);
  const double cx = width / 2.0, cy = height / 2.0;
  const double tx = cx + draw.translate_x - (a(0, 0) * cx + a(0, 1) * cy);
  const double ty = cy + draw.translate_y - (a(1, 0) * cx + a(1, 1) * cy);
  return cv::Matx23d(a(0, 0), a(0, 1), tx, a(1, 0), a(1, 1), ty);
}

void ApplyAffine(const cv::Mat1f& image, const ImageGroundTruth& truth,
                 const cv::Matx23d& forward, float fill, cv::Mat1f* out_image,
                 ImageGroundTruth* out_truth, int64_t* dropped) {
  cv::warpAffine(image, *out_image, cv::Mat(forward), image.size(), cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT, cv::Scalar(fill));
  const double w = image.cols, h = image.rows;
  ImageGroundTruth out;
  for (size_t i = 0; i < truth.boxes.size(); ++i) {
    const Box& b = truth.boxes[i];
    double x1 = w, y1 = h, x2 = 0, y2 = 0;
    for (auto [x, y] : {std::make_pair(b.x1, b.y1), std::make_pair(b.x2, b.y1),
                        std::make_pair(b.x1, b.y2), std::make_pair(b.x2, b.y2)}) {
      const double px = forward(0, 0) * x + forward(0, 1) * y + forward(0, 2);
      const double py = forward(1, 0) * x + forward(1, 1) * y + forward(1, 2);
      x1 = std::min(x1, px);
      y1 = std::min(y1, py);
      x2 = std::max(x2, px);
      y2 = std::max(y2, py);
    }
    x1 = std::clamp(x1, 0.0, w);
    x2 = std::clamp(x2, 0.0, w);
    y1 = std::clamp(y1, 0.0, h);
    y2 = std::clamp(y2, 0.0, h);
    if (!(x2 > x1) || !(y2 > y1)) {
      if (dropped != nullptr) ++*dropped;
      continue;
    }
    out.boxes.push_back({static_cast<float>(x1), static_cast<float>(y1), static_cast<float>(x2),
                         static_cast<float>(y2)});
    out.labels.push_back(truth.labels[i]);
  }
  *out_truth = std::move(out);
}

ImageGroundTruth MapBoxes(const std::vector<data::Box>& boxes, const std::string& image_id,
                          const std::vector<std::string>& classes, cv::Size source,
                          cv::Size target, int64_t* dropped) {
  ImageGroundTruth truth;
  const double sx = source.width > 0 ? static_cast<double>(target.width) / source.width : 0;
  const double sy = source.height > 0 ? static_cast<double>(target.height) / source.height : 0;
  for (const data::Box& b : boxes) {
    if (!b.image_id.empty() && b.image_id != image_id) continue;
    const auto it = std::find(classes.begin(), classes.end(), b.category);
    if (it == classes.end()) continue;
    const bool finite = std::isfinite(b.xmin) && std::isfinite(b.ymin) && std::isfinite(b.xmax) &&
                        std::isfinite(b.ymax);
    const double x1 = finite ? std::clamp<double>(b.xmin, 0, source.width) : 0;
    const double x2 = finite ? std::clamp<double>(b.xmax, 0, source.width) : 0;
    const double y1 = finite ? std::clamp<double>(b.ymin, 0, source.height) : 0;
    const double y2 = finite ? std::clamp<double>(b.ymax, 0, source.height) : 0;
    if (!finite || !(x2 > x1) || !(y2 > y1)) {
      if (dropped != nullptr) ++*dropped;
      continue;
    }
    truth.boxes.push_back({static_cast<float>(x1 * sx), static_cast<float>(y1 * sy),
                           static_cast<float>(x2 * sx), static_cast<float>(y2 * sy)});
    truth.labels.push_back(static_cast<int>(it - classes.begin()));
  }
  return truth;
}

absl::StatusOr<cv::Mat1f> PrepareDetectorImage(const cv::Mat& image,
                                               const DetectorInputConfig& config) {
  if (image.empty() || image.channels() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a non-empty grayscale image (got ", image.cols, " x ", image.rows, " with ",
        image.channels(), " channels)"));
  }
  cv::Mat f;
  image.convertTo(f, CV_32F);
  const cv::Size size(config.width(), config.height());
  const int interp =
      size.width < f.cols && size.height < f.rows ? cv::INTER_AREA : cv::INTER_LINEAR;
  cv::Mat resized;
  cv::resize(f, resized, size, 0, 0, interp);
  double lo = 0, hi = 0;
  cv::minMaxLoc(resized, &lo, &hi);
  const double range = hi - lo;
  // ((x - lo) / range - mean) / std as one affine map.
  const double a = range > 0 ? 1.0 / (range * config.std()) : 0.0;
  const double b = range > 0 ? (-lo / range - config.mean()) / config.std()
                             : -config.mean() / config.std();
  cv::Mat1f out;
  resized.convertTo(out, CV_32F, a, b);
  return out;
}

absl::StatusOr<DetectionSet> LoadDetectionSet(const std::vector<data::Sample>& samples,
                                              const std::vector<std::string>& classes,
                                              const DetectorInputConfig& config,
                                              int num_threads,
                                              double max_unreadable_fraction) {
  DetectionSet set;
  std::vector<DetectionImage> images(samples.size());
  std::vector<std::string> errors(samples.size());
  std::vector<int64_t> dropped(samples.size(), 0);
  core::ProgressOptions progress_options;
  progress_options.unit = "img";
  core::ProgressReporter progress("load images", static_cast<int64_t>(samples.size()),
                                  progress_options);
  core::ThreadPool pool(num_threads);
  core::ParallelFor(&pool, static_cast<int64_t>(samples.size()), [&](int64_t i) {
    const data::Sample& s = samples[i];
    DetectionImage& out = images[i];
    if (s.images.empty()) {
      errors[i] = "sample without an image";
      progress.Add();
      return;
    }
    out.image_id = s.images[0].image_id;
    out.path = s.images[0].path;
    cv::Mat raw = cv::imread(out.path, cv::IMREAD_ANYDEPTH | cv::IMREAD_GRAYSCALE);
    if (raw.empty()) {
      errors[i] = "cannot read or decode the image";
      progress.Add();
      return;
    }
    absl::StatusOr<cv::Mat1f> prepared = PrepareDetectorImage(raw, config);
    if (!prepared.ok()) {
      errors[i] = std::string(prepared.status().message());
      progress.Add();
      return;
    }
    out.image = *std::move(prepared);
    out.original_width = raw.cols;
    out.original_height = raw.rows;
    out.truth = MapBoxes(s.boxes, out.image_id, classes, raw.size(),
                         cv::Size(config.width(), config.height()), &dropped[i]);
    progress.Add();
  });
  progress.Finish();
  for (size_t i = 0; i < samples.size(); ++i) {
    set.boxes_dropped += dropped[i];
    if (!errors[i].empty()) {
      LOG(WARNING) << "skipping image " << images[i].path << ": " << errors[i];
      set.skipped.emplace_back(images[i].path, errors[i]);
      continue;
    }
    set.boxes_kept += static_cast<int64_t>(images[i].truth.boxes.size());
    set.images.push_back(std::move(images[i]));
  }
  if (!samples.empty() &&
      static_cast<double>(set.skipped.size()) > max_unreadable_fraction * samples.size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        set.skipped.size(), " of ", samples.size(),
        " images could not be read (more than max_unreadable_fraction = ",
        max_unreadable_fraction, "); first: ", set.skipped.front().first, ": ",
        set.skipped.front().second));
  }
  if (set.boxes_dropped > 0) {
    LOG(WARNING) << set.boxes_dropped
                 << " boxes dropped (non-finite, inverted or empty inside the image)";
  }
  return set;
}

void WritePlanes(const cv::Mat1f& image, bool hflip, bool vflip, float* dst) {
  const int h = image.rows, w = image.cols;
  for (int y = 0; y < h; ++y) {
    const float* src = image.ptr<float>(vflip ? h - 1 - y : y);
    float* row = dst + static_cast<size_t>(y) * w;
    if (hflip) {
      for (int x = 0; x < w; ++x) row[x] = src[w - 1 - x];
    } else {
      std::memcpy(row, src, sizeof(float) * w);
    }
  }
  const size_t plane = static_cast<size_t>(h) * w;
  std::memcpy(dst + plane, dst, sizeof(float) * plane);
  std::memcpy(dst + 2 * plane, dst, sizeof(float) * plane);
}

ImageGroundTruth FlipTruth(const ImageGroundTruth& truth, bool hflip, bool vflip, int width,
                           int height) {
  ImageGroundTruth out = truth;
  for (Box& b : out.boxes) {
    if (hflip) {
      const float x1 = static_cast<float>(width) - b.x2;
      b.x2 = static_cast<float>(width) - b.x1;
      b.x1 = x1;
    }
    if (vflip) {
      const float y1 = static_cast<float>(height) - b.y2;
      b.y2 = static_cast<float>(height) - b.y1;
      b.y1 = y1;
    }
  }
  return out;
}

}  // namespace mammovl::detection
