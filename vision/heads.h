// Projection heads that sit on a backbone, with the parameter names of the
// references so their checkpoints load by name (vision_config.proto):
//  - `ProjectionHead` on the pooled feature [B, D]: one Linear (Mammo-CLIP
//    `image_projection.projection`, MaMA `global_embed`), Mammo-CLIP's
//    residual MLP, or the MGCA/MaMA Linear-BN-ReLU-Linear-BN head.
//  - `LocalProjectionHead` on tokens [B, N, D]: the MGCA/MaMA `local_embed`
//    (kernel-1 Conv1d stack, BatchNorm statistics over batch and tokens).
#ifndef MAMMOVL_VISION_HEADS_H_
#define MAMMOVL_VISION_HEADS_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "absl/status/status.h"
#include "vision/vision_config.pb.h"

namespace mammovl::vision {

// InvalidArgument naming the field (no head selected, non-positive sizes,
// dropout outside [0, 1)).
absl::Status ValidateProjectionHeadConfig(const ProjectionHeadConfig& config);
absl::Status ValidateLocalProjectionConfig(const LocalProjectionConfig& config);

class ProjectionHeadImpl : public torch::nn::Module {
 public:
  // `config` must have passed ValidateProjectionHeadConfig.
  ProjectionHeadImpl(const ProjectionHeadConfig& config, int64_t input_dim);

  // x [B, input_dim] → [B, output_dim()], L2-normalised if configured.
  torch::Tensor forward(const torch::Tensor& x);
  int64_t output_dim() const { return output_dim_; }

  // LINEAR: the parameters sit on this module itself (`weight`, `bias`).
  torch::Tensor weight, bias;

 private:
  ProjectionHeadConfig config_;
  int64_t output_dim_ = 0;
  bool normalize_ = false;
  double dropout_ = 0;
  torch::nn::Linear projection_{nullptr}, fc_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
  torch::nn::Sequential head_{nullptr};
};
TORCH_MODULE(ProjectionHead);

class LocalProjectionHeadImpl : public torch::nn::Module {
 public:
  LocalProjectionHeadImpl(const LocalProjectionConfig& config,
                          int64_t input_dim);

  // tokens [B, N, input_dim] → [B, N, output_dim], L2-normalised if configured.
  torch::Tensor forward(const torch::Tensor& tokens);
  int64_t output_dim() const { return config_.output_dim(); }

 private:
  LocalProjectionConfig config_;
  torch::nn::Sequential head_{nullptr};
};
TORCH_MODULE(LocalProjectionHead);

}  // namespace mammovl::vision

#endif  // MAMMOVL_VISION_HEADS_H_
