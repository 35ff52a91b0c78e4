// From RetinaNet head outputs to scored boxes for one image
// (shared/reference/mammoclip.md §8.4): decode the anchors' deltas, clip to
// the image, keep scores above a threshold, non-maximum suppression
// (class-agnostic as the reference, or per class).
#ifndef MAMMOVL_DETECTION_POSTPROCESS_H_
#define MAMMOVL_DETECTION_POSTPROCESS_H_

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "detection/box.h"
#include "detection/detection_config.pb.h"

namespace mammovl::detection {

// InvalidArgument naming the field.
absl::Status ValidatePostprocessConfig(const PostprocessConfig& config);

// `classification` [A, K] probabilities, `regression` [A, 4] deltas,
// `anchors` [A, 4], for an image of `height` x `width` pixels. Returns the
// detections in descending score order. CLASS_AGNOSTIC: the score of an
// anchor is its best class probability and its label that class (the first
// on ties); PER_CLASS: every (anchor, class) pair above the threshold is a
// candidate of that class. InvalidArgument for bad shapes or config.
absl::StatusOr<ImageDetections> PostprocessDetections(
    const at::Tensor& classification, const at::Tensor& regression,
    const at::Tensor& anchors, int64_t height, int64_t width,
    const BoxCoderConfig& coder_config, const PostprocessConfig& config);

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_POSTPROCESS_H_
