// Intensity operations of the reference pipelines on 8-bit gray images, with
// the arithmetic of the libraries they came from (Pillow's ImageEnhance for
// torchvision's ColorJitter on PIL images, torchvision's GaussianBlur), and
// the float normalisations that end each pipeline. No LibTorch.
#ifndef MAMMOVL_DATA_TRANSFORMS_PHOTOMETRIC_H_
#define MAMMOVL_DATA_TRANSFORMS_PHOTOMETRIC_H_

#include <opencv2/core.hpp>

#include "data/transforms/rng.h"

namespace mammovl::data {

// Pillow ImageEnhance.Brightness(img).enhance(factor): blend with black,
// float32 arithmetic, truncated and clipped to [0, 255]. In place, CV_8UC1.
void AdjustBrightness(cv::Mat& gray8, double factor);

// Pillow ImageEnhance.Contrast(img).enhance(factor): blend with the image's
// mean gray level int(mean + 0.5). In place, CV_8UC1.
void AdjustContrast(cv::Mat& gray8, double factor);

// torchvision ColorJitter(brightness, contrast, saturation, hue) on a gray
// image replicated to RGB: the four adjustments in a random order with
// factors U(max(0, 1 − b), 1 + b) etc.; saturation and hue leave such an
// image unchanged, so only brightness and contrast act (their order matters).
void ColorJitterGray(cv::Mat& gray8, double brightness, double contrast, double saturation,
                     double hue, Rng& rng);

// torchvision GaussianBlur(kernel_size, sigma) on an 8-bit image: float32
// kernel exp(-0.5 (x/σ)²) over linspace(−(k−1)/2, (k−1)/2, k), reflect
// padding, rounded half to even. In place.
void GaussianBlurLikeTorchvision(cv::Mat& gray8, int kernel_size, double sigma);

// Mammo-CLIP's normalisation: per-image (x − min) / max(x − min), then
// (· − mean) / std, to CV_32FC1. A constant image maps to (0 − mean) / std.
cv::Mat MinMaxNormalize(const cv::Mat& gray8, double mean, double std);

// ToTensor + Normalize: x / 255 then (· − mean[c]) / std[c]. One mean/std
// gives CV_32FC1; three give CV_32FC3 (the gray value replicated).
cv::Mat NormalizeUnit(const cv::Mat& gray8, const double* mean, const double* std, int channels);

// The final value of every gray level, per output channel: the last step of
// each pipeline as a lookup table, so it can write straight into a batch.
struct NormalizationLut {
  int channels = 1;
  float value[3][256];
};

// Mammo-CLIP's min–max + mean/std for this image (one channel).
NormalizationLut MinMaxLut(const cv::Mat& gray8, double mean, double std);
// x / 255 then (· − mean[c]) / std[c] for `channels` (1 or 3) channels.
NormalizationLut UnitLut(const double* mean, const double* std, int channels);
// Writes `gray8` through `lut` as planar float32 [out_channels, H, W] at
// `dst`; channels beyond the LUT's repeat its last channel.
void WritePlanar(const cv::Mat& gray8, const NormalizationLut& lut, int out_channels, float* dst);
// Returns `gray8` through `lut` as an interleaved CV_32FC(lut.channels).
cv::Mat WriteInterleaved(const cv::Mat& gray8, const NormalizationLut& lut);

// ImageNet statistics of torchvision.
extern const double kImageNetMean[3];
extern const double kImageNetStd[3];

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_TRANSFORMS_PHOTOMETRIC_H_
