// The references' image pipelines, built from a `TransformConfig`: each
// turns an 8-bit gray mammogram (cv::Mat CV_8UC1) into the float image the
// model sees (CV_32FC1, or CV_32FC3 where the reference normalises three
// channels differently), drawing its random choices from an `Rng` so that a
// seed reproduces an augmentation exactly. Thread-safe (const after
// `Create`). No LibTorch.
#ifndef MAMMOVL_DATA_TRANSFORMS_PIPELINES_H_
#define MAMMOVL_DATA_TRANSFORMS_PIPELINES_H_

#include <opencv2/core.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/transforms/photometric.h"
#include "data/transforms/rng.h"
#include "data/transforms/transform_config.pb.h"

namespace mammovl::data {

class ImageTransform {
 public:
  // InvalidArgument naming the field for out-of-range values or no pipeline.
  static absl::StatusOr<ImageTransform> Create(const TransformConfig& config);

  // Applies the pipeline. `image` must be CV_8UC1 and non-empty
  // (InvalidArgument otherwise).
  absl::StatusOr<cv::Mat> Apply(const cv::Mat& image, Rng& rng) const;

  // Same result written planar ([out_channels, H, W] float32) into `dst`,
  // e.g. a sample's slice of a batch tensor; `out_channels` >= channels()
  // repeats the last channel. The pipeline's output size must be fixed
  // (`output_size()` non-empty) and `dst` must hold out_channels·H·W
  // floats. Same draws from `rng` as `Apply`.
  absl::Status ApplyInto(const cv::Mat& image, Rng& rng, int out_channels, float* dst) const;

  // Output height × width, and 1 or 3 channels.
  cv::Size output_size() const { return output_size_; }
  int channels() const { return channels_; }
  const TransformConfig& config() const { return config_; }

 private:
  explicit ImageTransform(TransformConfig config);
  // Runs the pipeline up to its final 8-bit image and returns the lookup
  // table of its normalisation.
  absl::StatusOr<cv::Mat> Prepare(const cv::Mat& image, Rng& rng, NormalizationLut* lut) const;
  cv::Mat MammoClip(const cv::Mat& image, Rng& rng) const;
  cv::Mat Mama(const cv::Mat& image, Rng& rng) const;
  cv::Mat Simclr(const cv::Mat& image, Rng& rng) const;
  cv::Mat ClipView(const cv::Mat& image, Rng& rng) const;
  cv::Mat Mgca(const cv::Mat& image, Rng& rng) const;
  cv::Mat CbisProbe(const cv::Mat& image, Rng& rng) const;
  cv::Mat FpnMil(const cv::Mat& image, Rng& rng) const;

  TransformConfig config_;
  cv::Size output_size_;
  int channels_ = 1;
};

// Checks a config without building it.
absl::Status ValidateTransformConfig(const TransformConfig& config);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_TRANSFORMS_PIPELINES_H_
