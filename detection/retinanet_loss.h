// RetinaNet training targets and losses as Mammo-CLIP computes them
// (shared/reference/mammoclip.md §8.4): IoU assignment of anchors to
// ground-truth boxes, the focal loss on sigmoid probabilities and the
// smooth-L1 box regression loss, per image and averaged over the batch.
#ifndef MAMMOVL_DETECTION_RETINANET_LOSS_H_
#define MAMMOVL_DETECTION_RETINANET_LOSS_H_

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "detection/detection_config.pb.h"

namespace mammovl::detection {

// Ground truth of one image for training: `boxes` [G, 4] float32 in the
// input frame and `labels` [G] int64 in [0, K). G may be 0.
struct ImageTargets {
  at::Tensor boxes;
  at::Tensor labels;
};

// Codes in AnchorAssignment::matched.
inline constexpr int64_t kNegativeAnchor = -1;
inline constexpr int64_t kIgnoredAnchor = -2;

struct AnchorAssignment {
  // [A] int64: index of the assigned box for positives, kNegativeAnchor or
  // kIgnoredAnchor otherwise.
  at::Tensor matched;
  at::Tensor max_iou;  // [A] float32 (0 when there are no boxes)
  int64_t num_positive = 0;
};

// InvalidArgument naming the field for thresholds outside (0, 1] or
// negative_iou > positive_iou.
absl::Status ValidateAssignerConfig(const AssignerConfig& config);

// Assigns `anchors` [A, 4] to `boxes` [G, 4]: the box of highest IoU (the
// first on ties) if that IoU >= positive_iou; negative below negative_iou;
// ignored in between. Without boxes every anchor is negative.
AnchorAssignment AssignAnchors(const at::Tensor& anchors,
                               const at::Tensor& boxes,
                               const AssignerConfig& config);

// InvalidArgument naming the field for out-of-range values.
absl::Status ValidateRetinaLossConfig(const RetinaLossConfig& config);

struct RetinaLoss {
  at::Tensor classification;  // scalar, mean over images
  at::Tensor regression;      // scalar, mean over images
  at::Tensor total;           // classification + regression_weight * regression
  int64_t num_positive_anchors = 0;  // over the batch
};

// Computes the losses for a batch. `classification` [B, A, K] holds sigmoid
// probabilities (the head's output), `regression` [B, A, 4] box deltas,
// `anchors` [A, 4], `targets` one entry per image. Per image: focal loss
// summed over non-ignored anchors and classes, divided by max(1, positives);
// smooth-L1 averaged over the positives' coordinates (0 without positives);
// images without boxes as `negative_image_loss` says. Gradients flow to
// `classification` and `regression`.
//
// InvalidArgument for mismatched shapes, labels outside [0, K), non-finite
// boxes, or a bad config; Internal for other torch errors.
absl::StatusOr<RetinaLoss> ComputeRetinaLoss(
    const at::Tensor& classification, const at::Tensor& regression,
    const at::Tensor& anchors, const std::vector<ImageTargets>& targets,
    const RetinaLossConfig& loss_config, const AssignerConfig& assigner_config,
    const BoxCoderConfig& coder_config);

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_RETINANET_LOSS_H_
