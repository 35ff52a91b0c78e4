#include "data/transforms/photometric.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace mammovl::data {
namespace {

// Pillow's ImagingBlend(degenerate, image, alpha) for a constant degenerate
// image: float32 `in1 + alpha * (in2 - in1)`, clipped, truncated.
void BlendWithConstant(cv::Mat& gray8, int degenerate, float alpha) {
  uint8_t lut[256];
  for (int v = 0; v < 256; ++v) {
    const float temp = static_cast<float>(degenerate) + alpha * static_cast<float>(v - degenerate);
    lut[v] = temp <= 0.0f ? 0 : temp >= 255.0f ? 255 : static_cast<uint8_t>(temp);
  }
  for (int y = 0; y < gray8.rows; ++y) {
    uint8_t* row = gray8.ptr<uint8_t>(y);
    for (int x = 0; x < gray8.cols; ++x) row[x] = lut[row[x]];
  }
}

}  // namespace

const double kImageNetMean[3] = {0.485, 0.456, 0.406};
const double kImageNetStd[3] = {0.229, 0.224, 0.225};

void AdjustBrightness(cv::Mat& gray8, double factor) {
  BlendWithConstant(gray8, 0, static_cast<float>(factor));
}

void AdjustContrast(cv::Mat& gray8, double factor) {
  const double mean = cv::mean(gray8)[0];
  BlendWithConstant(gray8, static_cast<int>(mean + 0.5), static_cast<float>(factor));
}

void ColorJitterGray(cv::Mat& gray8, double brightness, double contrast, double saturation,
                     double hue, Rng& rng) {
  std::vector<int> order = {0, 1, 2, 3};
  rng.Shuffle(order);
  const double b = rng.Uniform(std::max(0.0, 1 - brightness), 1 + brightness);
  const double c = rng.Uniform(std::max(0.0, 1 - contrast), 1 + contrast);
  rng.Uniform(std::max(0.0, 1 - saturation), 1 + saturation);  // no effect on gray
  rng.Uniform(-hue, hue);                                       // no effect on gray
  for (int op : order) {
    if (op == 0 && brightness > 0) AdjustBrightness(gray8, b);
    if (op == 1 && contrast > 0) AdjustContrast(gray8, c);
  }
}

void GaussianBlurLikeTorchvision(cv::Mat& gray8, int kernel_size, double sigma) {
  cv::Mat1f kernel(1, kernel_size);
  const float half = (kernel_size - 1) * 0.5f;
  float sum = 0;
  for (int i = 0; i < kernel_size; ++i) {
    // linspace(-half, half, k) in float32
    const float x = kernel_size > 1 ? -half + i * (2 * half / (kernel_size - 1)) : 0.0f;
    const float v = std::exp(-0.5f * (x / static_cast<float>(sigma)) * (x / static_cast<float>(sigma)));
    kernel(0, i) = v;
    sum += v;
  }
  kernel /= sum;
  cv::Mat f;
  gray8.convertTo(f, CV_32F);
  cv::sepFilter2D(f, f, CV_32F, kernel, kernel, cv::Point(-1, -1), 0, cv::BORDER_REFLECT_101);
  for (int y = 0; y < f.rows; ++y) {
    const float* in = f.ptr<float>(y);
    uint8_t* out = gray8.ptr<uint8_t>(y);
    for (int x = 0; x < f.cols; ++x) {
      out[x] = static_cast<uint8_t>(std::clamp(std::nearbyint(in[x]), 0.0f, 255.0f));
    }
  }
}

NormalizationLut MinMaxLut(const cv::Mat& gray8, double mean, double std) {
  double lo = 0, hi = 0;
  cv::minMaxLoc(gray8, &lo, &hi);
  // float32 as the reference: x -= min(x); x /= max(x); (x - mean) / std.
  const float range = static_cast<float>(hi - lo);
  const float s = static_cast<float>(std);
  const float m = static_cast<float>(mean);
  NormalizationLut lut;
  lut.channels = 1;
  for (int v = 0; v < 256; ++v) {
    const float unit = range > 0 ? (static_cast<float>(v) - static_cast<float>(lo)) / range : 0.0f;
    lut.value[0][v] = (unit - m) / s;
  }
  return lut;
}

NormalizationLut UnitLut(const double* mean, const double* std, int channels) {
  NormalizationLut lut;
  lut.channels = channels;
  for (int c = 0; c < channels; ++c) {
    for (int v = 0; v < 256; ++v) {
      lut.value[c][v] = (static_cast<float>(v) / 255.0f - static_cast<float>(mean[c])) /
                        static_cast<float>(std[c]);
    }
  }
  return lut;
}

void WritePlanar(const cv::Mat& gray8, const NormalizationLut& lut, int out_channels, float* dst) {
  const size_t plane = gray8.total();
  for (int c = 0; c < out_channels; ++c) {
    const int lc = std::min(c, lut.channels - 1);
    if (c > 0 && lc == c - 1 && lc == lut.channels - 1) {
      std::memcpy(dst + c * plane, dst + (c - 1) * plane, plane * sizeof(float));
      continue;
    }
    const float* table = lut.value[lc];
    float* out = dst + c * plane;
    for (int y = 0; y < gray8.rows; ++y) {
      const uint8_t* in = gray8.ptr<uint8_t>(y);
      for (int x = 0; x < gray8.cols; ++x) *out++ = table[in[x]];
    }
  }
}

cv::Mat WriteInterleaved(const cv::Mat& gray8, const NormalizationLut& lut) {
  const int channels = lut.channels;
  cv::Mat out(gray8.size(), CV_32FC(channels));
  for (int y = 0; y < gray8.rows; ++y) {
    const uint8_t* in = gray8.ptr<uint8_t>(y);
    float* o = out.ptr<float>(y);
    for (int x = 0; x < gray8.cols; ++x) {
      for (int c = 0; c < channels; ++c) *o++ = lut.value[c][in[x]];
    }
  }
  return out;
}

cv::Mat MinMaxNormalize(const cv::Mat& gray8, double mean, double std) {
  return WriteInterleaved(gray8, MinMaxLut(gray8, mean, std));
}

cv::Mat NormalizeUnit(const cv::Mat& gray8, const double* mean, const double* std, int channels) {
  return WriteInterleaved(gray8, UnitLut(mean, std, channels));
}

}  // namespace mammovl::data
