// Images and boxes for the detector: dataset samples (data/datasets) turned
// into images in the detector's input frame (resized, per-image min-max,
// normalised as the reference) with their ground-truth boxes mapped into
// that frame, plus the box-aware flips of training. No LibTorch.
#ifndef MAMMOVL_DETECTION_DETECTION_DATA_H_
#define MAMMOVL_DETECTION_DETECTION_DATA_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/datasets/sample.h"
#include "detection/box.h"
#include "detection/detector_config.pb.h"

namespace mammovl::detection {

struct DetectionImage {
  std::string image_id;
  std::string path;
  cv::Mat1f image;          // input frame, normalised (min-max, mean, std)
  ImageGroundTruth truth;   // boxes in the input frame
  int original_width = 0;   // the file's size
  int original_height = 0;
};

struct DetectionSet {
  std::vector<DetectionImage> images;
  // Images that could not be read: (path, reason).
  std::vector<std::pair<std::string, std::string>> skipped;
  int64_t boxes_kept = 0;
  // Boxes dropped for being non-finite, inverted, or empty after clipping to
  // the image.
  int64_t boxes_dropped = 0;
};

// Checks the input frame fields (InvalidArgument naming them).
absl::Status ValidateDetectorInputConfig(const DetectorInputConfig& config);

// Maps the boxes of `image_id` (boxes with an empty image id belong to every
// image) whose category is one of `classes` (label = index) from a
// `source` frame into a `target` frame (both width x height): clipped to the
// source image, then scaled. Non-finite, inverted and boxes that are empty
// after clipping (e.g. wholly outside the image) are dropped and counted in
// `*dropped`. Boxes of other categories are ignored.
ImageGroundTruth MapBoxes(const std::vector<data::Box>& boxes, const std::string& image_id,
                          const std::vector<std::string>& classes, cv::Size source,
                          cv::Size target, int64_t* dropped);

// The reference's image normalisation of a grayscale image (8- or 16-bit,
// or float): resize to `config`'s frame (INTER_AREA when shrinking, else
// linear), min-max to [0, 1] (a constant image becomes 0), then
// (x - mean) / std. InvalidArgument for an empty or multi-channel image.
absl::StatusOr<cv::Mat1f> PrepareDetectorImage(const cv::Mat& image,
                                               const DetectorInputConfig& config);

// Reads every image of `samples` (first image of each sample) on
// `num_threads` threads, prepares it and maps its boxes. Unreadable images
// are skipped and listed; FailedPrecondition when more than
// `max_unreadable_fraction` of them fail. A progress line is logged.
absl::StatusOr<DetectionSet> LoadDetectionSet(const std::vector<data::Sample>& samples,
                                              const std::vector<std::string>& classes,
                                              const DetectorInputConfig& config,
                                              int num_threads,
                                              double max_unreadable_fraction);

// Writes `image` into `dst` as 3 identical planes [3, H, W], flipped
// horizontally and/or vertically.
void WritePlanes(const cv::Mat1f& image, bool hflip, bool vflip, float* dst);

// The same flips applied to boxes of an image of `width` x `height`.
ImageGroundTruth FlipTruth(const ImageGroundTruth& truth, bool hflip, bool vflip, int width,
                           int height);

// One draw of the affine augmentation.
struct AffineDraw {
  double rotate_deg = 0;
  double shear_deg = 0;
  double scale = 1;
  double translate_x = 0, translate_y = 0;  // pixels
};

// Whether `config` asks for the affine augmentation at all.
bool AffineEnabled(const DetectorInputConfig& config);

// Draws the parameters uniformly from `config`'s ranges; `uniform01` returns
// numbers in [0, 1).
AffineDraw DrawAffine(const DetectorInputConfig& config, int width, int height,
                      const std::function<double()>& uniform01);

// The forward map p' = T(c + t) R(rotate) Sh_x(shear) S(scale) T(-c) p with
// c the image centre, as a 2 x 3 matrix on pixel coordinates.
cv::Matx23d AffineMatrix(const AffineDraw& draw, int width, int height);

// Warps `image` (linear, `fill` outside) and `truth` with `forward`; boxes
// become the enclosing box of their four transformed corners clipped to the
// image, and boxes left empty are dropped (counted in `*dropped`).
void ApplyAffine(const cv::Mat1f& image, const ImageGroundTruth& truth,
                 const cv::Matx23d& forward, float fill, cv::Mat1f* out_image,
                 ImageGroundTruth* out_truth, int64_t* dropped);

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_DETECTION_DATA_H_
