// torchvision ResNet (18/34/50/101/152) with torchvision's parameter names
// (`conv1`, `bn1`, `layer{1..4}.{i}.conv{1,2,3}`, `bn{1,2,3}`,
// `downsample.0/1`), so `resnet50-*.pth` and MGCA/MedCLIP image towers load by
// name. No `fc`: classifiers and projections are heads (vision/heads.h).
#ifndef MAMMOVL_VISION_RESNET_H_
#define MAMMOVL_VISION_RESNET_H_

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "vision/backbone.h"
#include "vision/vision_config.pb.h"

namespace mammovl::vision {

// InvalidArgument naming the field for an unset depth, base_width ≤ 0,
// negative input_resize or local_stage outside 1..4.
absl::Status ValidateResNetConfig(const ResNetConfig& config);

// A BasicBlock (ResNet-18/34) or Bottleneck (50/101/152, stride on the 3×3
// conv as torchvision's v1.5).
class ResNetBlockImpl : public torch::nn::Module {
 public:
  ResNetBlockImpl(bool bottleneck, int64_t in, int64_t planes, int64_t stride,
                  double bn_eps);

  torch::Tensor forward(const torch::Tensor& x);
  // Eval-mode path without autograd: BatchNorm folded, in-place ReLU/add.
  torch::Tensor ForwardFused(const torch::Tensor& x);

 private:
  bool bottleneck_;
  int64_t stride_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  // `downsample` = Sequential(conv, bn); the holders below share its modules.
  torch::nn::Sequential downsample_{nullptr};
  torch::nn::Conv2d downsample_conv_{nullptr};
  torch::nn::BatchNorm2d downsample_bn_{nullptr};
};
TORCH_MODULE(ResNetBlock);

// `Forward(images)` returns `pooled` [B, 8·base·expansion] (2048 for
// ResNet-50), `maps` = layer1..layer4 (strides 4, 8, 16, 32), `head_map` =
// layer4 and `local` = the `local_stage` map as [B, h·w, C].
class ResNetImpl : public BackboneImpl {
 public:
  // `config` must have passed ValidateResNetConfig.
  ResNetImpl(const ResNetConfig& config, bool channels_last);

  BackboneOutput Forward(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return channels_[3]; }
  int64_t local_dim() const override {
    return channels_[config_.local_stage() - 1];
  }
  std::vector<int64_t> map_channels() const override { return channels_; }

 private:
  ResNetConfig config_;
  bool channels_last_;
  std::vector<int64_t> channels_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::vector<torch::nn::Sequential> layers_;
};
TORCH_MODULE(ResNet);

}  // namespace mammovl::vision

#endif  // MAMMOVL_VISION_RESNET_H_
