// The interface every image backbone in vision/ implements (EfficientNet,
// ResNet, ViT, PlainCnn), and the outputs it returns. Downstream code
// (projection heads, FPN, MIL, detection, losses) sees only this.
#ifndef MAMMOVL_VISION_BACKBONE_H_
#define MAMMOVL_VISION_BACKBONE_H_

#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <vector>

namespace mammovl::vision {

// What a backbone returns for images [B, 3, H, W] float32. Fields a backbone
// does not produce stay undefined (or empty). Convolutional maps come back in
// the memory format the backbone runs in (NHWC when `channels_last`).
struct BackboneOutput {
  // Global feature [B, D]: EfficientNet average pool (+ dropout in training),
  // ResNet average pool of layer4, ViT according to its pooling.
  torch::Tensor pooled;
  // Feature maps [B, C_i, H_i, W_i] in order: EfficientNet taps (default: the
  // last block of each stage), ResNet layer1..layer4. Empty for ViT.
  std::vector<torch::Tensor> maps;
  // Last map before pooling: EfficientNet head conv (Mammo-CLIP's raw feature
  // map), ResNet layer4, headless EfficientNet's last block. Undefined for ViT.
  torch::Tensor head_map;
  // Local features [B, N, C] for token-wise alignment: ViT final-LayerNorm
  // patch tokens, ResNet `local_stage` map flattened row-major.
  torch::Tensor local;
  // ViT only: all tokens after the last block, before the final LayerNorm
  // [B, 1 + R + N, D]; the final-LayerNorm CLS token [B, D] and register
  // tokens [B, R, D]; optionally the last block's attention probabilities
  // [B, heads, T, T] and every block's output [B, T, D].
  torch::Tensor prenorm_tokens;
  torch::Tensor cls_token;
  torch::Tensor register_tokens;
  torch::Tensor last_attention;
  std::vector<torch::Tensor> block_outputs;
  // Patch grid (rows, cols) of `local` for ViT and ResNet.
  int64_t grid_rows = 0;
  int64_t grid_cols = 0;
};

// Base class of the backbones. `Forward` checks its input with TORCH_CHECK
// (callers at a library boundary wrap it in core's `RunTorch`). In eval mode
// with gradients off (`torch::InferenceMode` or `torch::NoGradGuard`) the
// convolutional backbones take a fused path (BatchNorm folded into the
// convolutions, in-place activations) that gives the same numbers faster.
class BackboneImpl : public torch::nn::Module {
 public:
  ~BackboneImpl() override = default;

  virtual BackboneOutput Forward(const torch::Tensor& images) = 0;
  // Width of `pooled`.
  virtual int64_t feature_dim() const = 0;
  // Width of `local` (0 if the backbone has no local features).
  virtual int64_t local_dim() const = 0;
  // Channels of each entry of `maps`, in order.
  virtual std::vector<int64_t> map_channels() const = 0;

 protected:
  // TORCH_CHECKs that `images` is [B, 3, H, W] float32; `name` leads the
  // message ("ResNet expects images [B, 3, H, W], got ...").
  static void CheckImages(const torch::Tensor& images, const char* name) {
    TORCH_CHECK(images.dim() == 4 && images.size(1) == 3, name,
                " expects images [B, 3, H, W], got ", images.sizes());
    TORCH_CHECK(images.scalar_type() == at::kFloat, name,
                " expects float32 images, got ", images.scalar_type());
  }
  // Whether `Forward` may take the fused path: eval mode, gradients off.
  bool UseFusedPath() const {
    return !is_training() && !c10::GradMode::is_enabled();
  }
};

}  // namespace mammovl::vision

#endif  // MAMMOVL_VISION_BACKBONE_H_
