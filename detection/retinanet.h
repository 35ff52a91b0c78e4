// The RetinaNet detector of Mammo-CLIP (shared/reference/mammoclip.md §8) on
// any vision/ backbone: backbone maps -> vision/fpn pyramid -> shared
// classification and regression heads, with the anchors of the pyramid's
// actual grid sizes. Sits on vision/ and the detection building blocks; the
// training loop and data live in detection/detector_runner.h.
#ifndef MAMMOVL_DETECTION_RETINANET_H_
#define MAMMOVL_DETECTION_RETINANET_H_

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "detection/anchors.h"
#include "detection/box.h"
#include "detection/detector_config.pb.h"
#include "detection/retinanet_head.h"
#include "vision/fpn.h"
#include "vision/image_encoder.h"

namespace mammovl::detection {

struct RetinaNetOutput {
  torch::Tensor classification;  // [B, A, K] probabilities
  torch::Tensor regression;      // [B, A, 4] box deltas
  torch::Tensor anchors;         // [A, 4] float32 (x1, y1, x2, y2)
};

// Submodules: `encoder` (vision::ImageEncoder), `fpn`, `classificationModel`,
// `regressionModel` (pytorch-retinanet's head names).
class RetinaNetImpl : public torch::nn::Module {
 public:
  RetinaNetImpl(const RetinaNetConfig& config, vision::ImageEncoder encoder,
                vision::Fpn fpn, AnchorGenerator anchors);

  // images [B, 3, H, W] float32, normalised.
  RetinaNetOutput forward(const torch::Tensor& images);

  // Sets train/eval mode, keeping backbone BatchNorm layers in eval mode
  // under BATCH_NORM_FROZEN.
  void SetTraining(bool on);

  // Decoded, clipped, thresholded and NMS'd boxes per image of `output` for
  // images of `height` x `width`. InvalidArgument for bad shapes.
  absl::StatusOr<std::vector<ImageDetections>> Detect(
      const RetinaNetOutput& output, int64_t height, int64_t width) const;

  const RetinaNetConfig& config() const { return config_; }
  vision::ImageEncoder encoder() { return encoder_; }
  int num_classes() const { return config_.classes_size(); }

 private:
  RetinaNetConfig config_;
  vision::ImageEncoder encoder_{nullptr};
  vision::Fpn fpn_{nullptr};
  RetinaHead classification_{nullptr};
  RetinaHead regression_{nullptr};
  AnchorGenerator anchors_;
  // Anchors of the last grid sizes seen (they rarely change).
  std::vector<GridSize> cached_grids_;
  torch::Tensor cached_anchors_;
};
TORCH_MODULE(RetinaNet);

// Checks every field (encoder, maps, FPN, head, anchors, coder, assigner,
// loss, post-processing, classes) before anything is built; InvalidArgument
// naming the field.
absl::Status ValidateRetinaNetConfig(const RetinaNetConfig& config);

// Builds the encoder (loading its checkpoint if configured), the FPN on the
// selected maps' channels and the heads; with FROZEN the backbone's
// parameters get requires_grad false. Errors: validation, checkpoint
// loading, Internal for torch errors.
absl::StatusOr<RetinaNet> BuildRetinaNet(const RetinaNetConfig& config);

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_RETINANET_H_
