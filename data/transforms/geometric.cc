#include "data/transforms/geometric.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace mammovl::data {
namespace {

constexpr double kDegToRad = M_PI / 180.0;

// scikit-image 0.21 AffineTransform(scale=(sx, sy), rotation=r, shear=sh,
// translation=(tx, ty)) with a scalar shear (shear_y = 0).
cv::Matx33d SkimageAffine(double sx, double sy, double r, double shear, double tx, double ty) {
  const double a0 = sx * std::cos(r);
  const double a1 = -sy * (std::tan(shear) * std::cos(r) + std::sin(r));
  const double b0 = sx * std::sin(r);
  const double b1 = -sy * (std::tan(shear) * std::sin(r) - std::cos(r));
  return cv::Matx33d(a0, a1, tx, b0, b1, ty, 0, 0, 1);
}

cv::Matx33d Rotation(double r) {
  return cv::Matx33d(std::cos(r), -std::sin(r), 0, std::sin(r), std::cos(r), 0, 0, 0, 1);
}

cv::Matx33d Translation(double x, double y) { return cv::Matx33d(1, 0, x, 0, 1, y, 0, 0, 1); }

cv::Mat1f UniformNoise(Rng& rng, int rows, int cols, float scale) {
  cv::Mat1f n(rows, cols);
  cv::RNG cv_rng(rng.NextU64());
  cv_rng.fill(n, cv::RNG::UNIFORM, -1.0f, 1.0f);
  if (scale != 1.0f) n *= scale;
  return n;
}

}  // namespace

AffineParams SampleMammoClipAffine(Rng& rng, double rotate_deg, double translate_fraction,
                                   double scale_lo, double scale_hi, double shear_deg, int width,
                                   int height) {
  AffineParams p;
  // Draw order of the library: translate x, y; shear x, y; scale x, y;
  // rotate. Scalars give degenerate ranges (fixed values).
  p.translate_x_px = translate_fraction * width;
  p.translate_y_px = translate_fraction * height;
  p.shear_x_deg = -shear_deg;
  p.shear_y_deg = -shear_deg;
  p.scale_x = rng.Uniform(scale_lo, scale_hi);
  p.scale_y = rng.Uniform(scale_lo, scale_hi);
  p.rotate_deg = -rotate_deg;
  return p;
}

cv::Matx33d AlbumentationsAffineMatrix(const AffineParams& p, int width, int height) {
  const double shift_x = width / 2.0 - 0.5;
  const double shift_y = height / 2.0 - 0.5;
  const cv::Matx33d to_topleft = Translation(-shift_x, -shift_y);
  const cv::Matx33d shear_y_rot = Rotation(-M_PI / 2);
  const cv::Matx33d shear_y = SkimageAffine(1, 1, 0, p.shear_y_deg * kDegToRad, 0, 0);
  const cv::Matx33d shear_y_rot_inv = Rotation(M_PI / 2);
  const cv::Matx33d transforms =
      SkimageAffine(p.scale_x, p.scale_y, p.rotate_deg * kDegToRad, p.shear_x_deg * kDegToRad,
                    p.translate_x_px, p.translate_y_px);
  const cv::Matx33d to_center = Translation(shift_x, shift_y);
  // skimage's `a + b` is b.params @ a.params: applied left to right.
  return to_center * transforms * shear_y_rot_inv * shear_y * shear_y_rot * to_topleft;
}

cv::Mat WarpAffineLinear(const cv::Mat& src, const cv::Matx33d& forward, int border_mode) {
  const cv::Matx23d m(forward(0, 0), forward(0, 1), forward(0, 2), forward(1, 0), forward(1, 1),
                      forward(1, 2));
  cv::Mat dst;
  cv::warpAffine(src, dst, m, src.size(), cv::INTER_LINEAR, border_mode, cv::Scalar(0));
  return dst;
}

cv::Matx23d SampleElasticAffine(Rng& rng, int width, int height, double alpha_affine) {
  // center_square = (h, w) // 2 used as an (x, y) point: the library's mix-up.
  const float c0 = static_cast<float>(height / 2);
  const float c1 = static_cast<float>(width / 2);
  const float s = static_cast<float>(std::min(height, width) / 3);
  const cv::Point2f pts1[3] = {{c0 + s, c1 + s}, {c0 + s, c1 - s}, {c0 - s, c1 - s}};
  cv::Point2f pts2[3];
  for (int i = 0; i < 3; ++i) {
    pts2[i].x = pts1[i].x + static_cast<float>(rng.Uniform(-alpha_affine, alpha_affine));
    pts2[i].y = pts1[i].y + static_cast<float>(rng.Uniform(-alpha_affine, alpha_affine));
  }
  const cv::Mat m = cv::getAffineTransform(pts1, pts2);
  return cv::Matx23d(m.ptr<double>(0)[0], m.ptr<double>(0)[1], m.ptr<double>(0)[2],
                     m.ptr<double>(1)[0], m.ptr<double>(1)[1], m.ptr<double>(1)[2]);
}

cv::Mat1f GaussianFilterLikeScipy(const cv::Mat1f& x, double sigma) {
  // scipy: radius = int(truncate * sigma + 0.5), mode 'reflect' = abccba.
  const int radius = static_cast<int>(4.0 * sigma + 0.5);
  cv::Mat1f out;
  if (radius <= 0) return x.clone();
  cv::GaussianBlur(x, out, cv::Size(2 * radius + 1, 2 * radius + 1), sigma, sigma,
                   cv::BORDER_REFLECT);
  return out;
}

ElasticParams SampleElastic(Rng& rng, int width, int height, double alpha, double sigma,
                            double alpha_affine, int field_downsample) {
  ElasticParams p;
  p.affine = SampleElasticAffine(rng, width, height, alpha_affine);
  const int k = std::max(1, field_downsample);
  for (cv::Mat1f* field : {&p.dx, &p.dy}) {
    if (k == 1) {
      *field = GaussianFilterLikeScipy(UniformNoise(rng, height, width, 1.0f), sigma);
      *field *= alpha;
    } else {
      const int rows = (height + k - 1) / k, cols = (width + k - 1) / k;
      cv::Mat1f coarse = GaussianFilterLikeScipy(
          UniformNoise(rng, rows, cols, 1.0f / static_cast<float>(k)), sigma / k);
      coarse *= alpha;
      cv::resize(coarse, *field, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
    }
  }
  return p;
}

cv::Mat ApplyElastic(const cv::Mat& src, const ElasticParams& p) {
  cv::Mat warped;
  cv::warpAffine(src, warped, p.affine, src.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
  cv::Mat1f map_x(src.rows, src.cols), map_y(src.rows, src.cols);
  for (int y = 0; y < src.rows; ++y) {
    float* mx = map_x[y];
    float* my = map_y[y];
    const float* dx = p.dx[y];
    const float* dy = p.dy[y];
    for (int x = 0; x < src.cols; ++x) {
      mx[x] = static_cast<float>(x) + dx[x];
      my[x] = static_cast<float>(y) + dy[x];
    }
  }
  cv::Mat out;
  cv::remap(warped, out, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
  return out;
}

cv::Mat FusedWarp(const cv::Mat& src, const cv::Matx33d* affine, const ElasticParams* elastic) {
  cv::Matx33d forward = cv::Matx33d::eye();
  if (affine != nullptr) forward = *affine;
  if (elastic != nullptr) {
    const cv::Matx23d& e = elastic->affine;
    forward = cv::Matx33d(e(0, 0), e(0, 1), e(0, 2), e(1, 0), e(1, 1), e(1, 2), 0, 0, 1) * forward;
  }
  if (elastic == nullptr) return WarpAffineLinear(src, forward, cv::BORDER_CONSTANT);
  const cv::Matx33d inv = forward.inv();
  cv::Mat1f map_x(src.rows, src.cols), map_y(src.rows, src.cols);
  const float a = static_cast<float>(inv(0, 0)), b = static_cast<float>(inv(0, 1));
  const float c = static_cast<float>(inv(0, 2)), d = static_cast<float>(inv(1, 0));
  const float e = static_cast<float>(inv(1, 1)), f = static_cast<float>(inv(1, 2));
  for (int y = 0; y < src.rows; ++y) {
    float* mx = map_x[y];
    float* my = map_y[y];
    const float* dx = elastic->dx[y];
    const float* dy = elastic->dy[y];
    for (int x = 0; x < src.cols; ++x) {
      const float qx = static_cast<float>(x) + dx[x];
      const float qy = static_cast<float>(y) + dy[x];
      mx[x] = a * qx + b * qy + c;
      my[x] = d * qx + e * qy + f;
    }
  }
  cv::Mat out;
  cv::remap(src, out, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  return out;
}

cv::Rect RandomResizedCropRect(Rng& rng, int width, int height, double scale_lo, double scale_hi,
                               double ratio_lo, double ratio_hi) {
  const double area = static_cast<double>(width) * height;
  const double log_lo = std::log(ratio_lo), log_hi = std::log(ratio_hi);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * rng.Uniform(scale_lo, scale_hi);
    const double ratio = std::exp(rng.Uniform(log_lo, log_hi));
    const int w = static_cast<int>(std::lround(std::sqrt(target * ratio)));
    const int h = static_cast<int>(std::lround(std::sqrt(target / ratio)));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int i = static_cast<int>(rng.UniformInt(0, height - h));
      const int j = static_cast<int>(rng.UniformInt(0, width - w));
      return {j, i, w, h};
    }
  }
  // Fallback: central crop.
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < ratio_lo) {
    h = static_cast<int>(std::lround(w / ratio_lo));
  } else if (in_ratio > ratio_hi) {
    w = static_cast<int>(std::lround(h * ratio_hi));
  }
  return {(width - w) / 2, (height - h) / 2, w, h};
}

cv::Mat ResizeTo(const cv::Mat& src, cv::Size size) {
  if (src.size() == size) return src;
  cv::Mat out;
  const bool shrink = size.width <= src.cols && size.height <= src.rows;
  cv::resize(src, out, size, 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

cv::Mat OtsuCut(const cv::Mat& gray8) {
  cv::Mat mask;
  cv::threshold(gray8, mask, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  const cv::Rect box = cv::boundingRect(mask);
  if (box.area() == 0) return gray8;
  return gray8(box);
}

cv::Mat ResizeLongSide(const cv::Mat& src, int size, bool pad) {
  const bool tall = src.rows >= src.cols;
  const int long_side = tall ? src.rows : src.cols;
  const int short_side = tall ? src.cols : src.rows;
  const int new_short = static_cast<int>(static_cast<double>(short_side) * size / long_side);
  const cv::Size target = tall ? cv::Size(new_short, size) : cv::Size(size, new_short);
  cv::Mat resized;
  cv::resize(src, resized, target, 0, 0, cv::INTER_AREA);
  if (!pad) return resized;
  const int missing = size - new_short;
  const int before = missing / 2, after = missing - before;
  cv::Mat out;
  if (tall) {
    cv::copyMakeBorder(resized, out, 0, 0, before, after, cv::BORDER_CONSTANT, cv::Scalar(0));
  } else {
    cv::copyMakeBorder(resized, out, before, after, 0, 0, cv::BORDER_CONSTANT, cv::Scalar(0));
  }
  return out;
}

cv::Mat ResizeShortSide(const cv::Mat& src, int size) {
  const bool tall = src.rows >= src.cols;
  const int short_side = tall ? src.cols : src.rows;
  const int long_side = tall ? src.rows : src.cols;
  const int new_long = static_cast<int>(static_cast<double>(size) * long_side / short_side);
  return ResizeTo(src, tall ? cv::Size(size, new_long) : cv::Size(new_long, size));
}

cv::Mat CenterCrop(const cv::Mat& src, int size) {
  // torchvision: top = int(round((h - size) / 2)), Python's round-half-even.
  const int top = static_cast<int>(std::nearbyint((src.rows - size) / 2.0));
  const int left = static_cast<int>(std::nearbyint((src.cols - size) / 2.0));
  return src(cv::Rect(left, top, size, size));
}

}  // namespace mammovl::data
