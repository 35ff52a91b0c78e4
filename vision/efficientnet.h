// EfficientNet B0–B7 in the lukemelas layout that Mammo-CLIP and FPN-MIL
// vendor: parameter names `_conv_stem`, `_bn0`, `_blocks.{i}._expand_conv`,
// `_bn0`, `_depthwise_conv`, `_bn1`, `_se_reduce`, `_se_expand`,
// `_project_conv`, `_bn2`, then `_conv_head`, `_bn1` (no `_fc`), so
// `image_encoder.*` tensors of a Mammo-CLIP checkpoint load by name.
//
// Padding follows the reference exactly: TF-"SAME" pads fixed at construction
// from the nominal image size (260 for B2, 456 for B5), not from the input, so
// a 1520×912 mammogram gives 48×29 head maps as in Mammo-CLIP.
#ifndef MAMMOVL_VISION_EFFICIENTNET_H_
#define MAMMOVL_VISION_EFFICIENTNET_H_

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "vision/backbone.h"
#include "vision/fused_ops.h"
#include "vision/vision_config.pb.h"

namespace mammovl::vision {

// Returns `config` with the variant's coefficients filled in where unset.
EfficientNetConfig ResolveEfficientNetConfig(const EfficientNetConfig& config);

// Checks ranges (coefficients > 0, rates in [0, 1), taps inside the network).
// InvalidArgument naming the field otherwise.
absl::Status ValidateEfficientNetConfig(const EfficientNetConfig& config);

// The shape of one MBConv block, as the reference derives it.
struct MBConvSpec {
  int64_t index = 0;  // position in `_blocks`
  int64_t stage = 0;  // 0..6
  int64_t input_filters = 0;
  int64_t output_filters = 0;
  int64_t expand_ratio = 1;
  int64_t kernel = 3;
  int64_t stride = 1;
  int64_t squeeze_filters = 1;  // max(1, int(input_filters · 0.25))
  bool residual = false;  // stride 1, in == out, not a stage's first block
  double drop_connect_rate = 0;  // 0.2 · index / num_blocks
  bool dynamic_padding = false;  // pads from the real input (Padding DYNAMIC)
  Padding2d depthwise_padding;   // static pads of the depthwise conv
  double bn_momentum = 0.01;     // PyTorch BatchNorm momentum
};

// Returns every block's spec for a resolved config, in `_blocks` order.
std::vector<MBConvSpec> EfficientNetBlockSpecs(
    const EfficientNetConfig& resolved);

// Mobile inverted bottleneck with squeeze-excitation.
class MBConvBlockImpl : public torch::nn::Module {
 public:
  MBConvBlockImpl(const MBConvSpec& spec, double bn_eps);

  // Reference computation with autograd (training, or eval with gradients).
  torch::Tensor forward(const torch::Tensor& x);
  // Eval-mode computation without autograd: BatchNorm folded into the convs,
  // in-place Swish, the SE gate folded into the projection, pads written by
  // the preceding activation.
  torch::Tensor ForwardFused(const torch::Tensor& x);

  const MBConvSpec& spec() const { return spec_; }

 private:
  Padding2d DepthwisePadding(const torch::Tensor& x) const;

  MBConvSpec spec_;
  torch::nn::Conv2d expand_conv_{nullptr};
  torch::nn::BatchNorm2d bn0_{nullptr};
  torch::nn::Conv2d depthwise_conv_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Conv2d se_reduce_{nullptr};
  torch::nn::Conv2d se_expand_{nullptr};
  torch::nn::Conv2d project_conv_{nullptr};
  torch::nn::BatchNorm2d bn2_{nullptr};
};
TORCH_MODULE(MBConvBlock);

// The network. `Forward(images)` returns `pooled` [B, C_head] (average pool,
// then dropout in training: 1408 for B2, 2048 for B5), `head_map` (the head
// conv's Swish output, Mammo-CLIP's raw feature map; the last block's output
// when `include_head` is off) and `maps` (the tapped blocks' outputs).
class EfficientNetImpl : public BackboneImpl {
 public:
  // `config` must have passed ValidateEfficientNetConfig.
  EfficientNetImpl(const EfficientNetConfig& config, bool channels_last);

  BackboneOutput Forward(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return feature_dim_; }
  int64_t local_dim() const override { return 0; }
  std::vector<int64_t> map_channels() const override;

  const EfficientNetConfig& config() const { return config_; }
  const std::vector<MBConvSpec>& block_specs() const { return specs_; }
  // Static padding of the stem conv (zero for DYNAMIC padding).
  const Padding2d& stem_padding() const { return stem_padding_; }

 private:
  torch::Tensor Stem(const torch::Tensor& x, bool fused);
  torch::Tensor Head(const torch::Tensor& x, bool fused);

  EfficientNetConfig config_;  // resolved
  bool channels_last_;
  std::vector<MBConvSpec> specs_;
  std::vector<int64_t> taps_;
  int64_t feature_dim_ = 0;
  Padding2d stem_padding_;
  torch::nn::Conv2d conv_stem_{nullptr};
  torch::nn::BatchNorm2d bn0_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::Conv2d conv_head_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
};
TORCH_MODULE(EfficientNet);

}  // namespace mammovl::vision

#endif  // MAMMOVL_VISION_EFFICIENTNET_H_
