// Geometric image operations of the reference pipelines on cv::Mat, with the
// exact parameter conventions of the libraries they were written with:
// albumentations 1.4.7 Affine (built from scikit-image 0.21 transforms) and
// ElasticTransform, torchvision's RandomResizedCrop, MaMA's OtsuCut and
// long-side resize with padding. Random draws come from `Rng`. No LibTorch.
#ifndef MAMMOVL_DATA_TRANSFORMS_GEOMETRIC_H_
#define MAMMOVL_DATA_TRANSFORMS_GEOMETRIC_H_

#include <opencv2/core.hpp>

#include "data/transforms/rng.h"

namespace mammovl::data {

// Parameters of one albumentations Affine application, after the library's
// own sign flips (it negates the drawn rotation and shears).
struct AffineParams {
  double rotate_deg = 0;
  double shear_x_deg = 0, shear_y_deg = 0;
  double scale_x = 1, scale_y = 1;
  double translate_x_px = 0, translate_y_px = 0;
};

// Draws Affine(rotate=r, translate_percent=t, scale=(lo, hi), shear=s) with
// scalar r, t, s as albumentations 1.4.7 does: a scalar is a fixed value
// (rotate = -r, shear = (-s, -s), translate = (t·w, t·h)); only the x and y
// scales are drawn, independently, from U(lo, hi).
AffineParams SampleMammoClipAffine(Rng& rng, double rotate_deg, double translate_fraction,
                                   double scale_lo, double scale_hi, double shear_deg, int width,
                                   int height);

// The forward 3×3 matrix albumentations passes (first two rows) to
// cv2.warpAffine: centre to the origin (shift w/2 − 0.5, h/2 − 0.5), y-shear
// via ±90° rotations, then scikit-image 0.21's AffineTransform(scale,
// rotation, shear_x, translation), then back to the centre.
cv::Matx33d AlbumentationsAffineMatrix(const AffineParams& params, int width, int height);

// cv::warpAffine with the forward matrix, linear interpolation, constant 0
// border, same size (albumentations' warp_affine).
cv::Mat WarpAffineLinear(const cv::Mat& src, const cv::Matx33d& forward, int border_mode);

// One draw of albumentations 1.4.7 ElasticTransform (approximate=False):
// the random affine of its three control points (kept with the library's
// (h, w) / (x, y) mix-up) and the displacement fields dx, dy (uniform
// noise in [-1, 1) smoothed by a Gaussian of `sigma`, times `alpha`).
struct ElasticParams {
  cv::Matx23d affine;
  cv::Mat1f dx, dy;  // full resolution
};

// `field_downsample` 1 smooths full-resolution noise exactly like
// scipy.ndimage.gaussian_filter (reflect, truncate 4); k > 1 smooths noise
// on a k-times coarser grid (noise scaled by 1/k so the field has the same
// variance and correlation length) and upsamples bilinearly.
ElasticParams SampleElastic(Rng& rng, int width, int height, double alpha, double sigma,
                            double alpha_affine, int field_downsample);

// Draws only the control-point affine of ElasticTransform.
cv::Matx23d SampleElasticAffine(Rng& rng, int width, int height, double alpha_affine);

// The library's application: warpAffine then remap, both linear with
// BORDER_REFLECT_101.
cv::Mat ApplyElastic(const cv::Mat& src, const ElasticParams& params);

// scipy.ndimage.gaussian_filter(x, sigma) (mode 'reflect', truncate 4.0)
// on a float image.
cv::Mat1f GaussianFilterLikeScipy(const cv::Mat1f& x, double sigma);

// One remap for `affine` (forward, may be null) followed by `elastic` (may
// be null), i.e. src(A⁻¹ E⁻¹ (p + d(p))), linear, constant 0 border: the
// fused form of Affine + ElasticTransform with a single interpolation.
cv::Mat FusedWarp(const cv::Mat& src, const cv::Matx33d* affine, const ElasticParams* elastic);

// torchvision RandomResizedCrop.get_params: up to 10 draws of area fraction
// U(scale) and log-uniform aspect ratio, else the central crop of the
// clamped ratio. Returns the crop rectangle.
cv::Rect RandomResizedCropRect(Rng& rng, int width, int height, double scale_lo, double scale_hi,
                               double ratio_lo, double ratio_hi);

// Resizes to `size` with INTER_AREA when shrinking along both axes and
// INTER_LINEAR otherwise.
cv::Mat ResizeTo(const cv::Mat& src, cv::Size size);

// MaMA's OtsuCut: bounding box of the Otsu foreground of an 8-bit image;
// the input when there is no foreground.
cv::Mat OtsuCut(const cv::Mat& gray8);

// MaMA's / MGCA's loading step: long side to `size` (INTER_AREA), short
// side int(short · size / long); with `pad`, zero padding of the short side
// to size × size, floor before and ceil after.
cv::Mat ResizeLongSide(const cv::Mat& src, int size, bool pad);

// torchvision Resize(size) with an int: shorter side to `size`, longer side
// int(size · long / short).
cv::Mat ResizeShortSide(const cv::Mat& src, int size);

// torchvision CenterCrop (the image must be at least `size` each way).
cv::Mat CenterCrop(const cv::Mat& src, int size);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_TRANSFORMS_GEOMETRIC_H_
