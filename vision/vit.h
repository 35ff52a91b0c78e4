// Vision transformer in the DINOv2 layout (`patch_embed.proj`, `cls_token`,
// `pos_embed`, `register_tokens`, `mask_token`, `blocks.{i}.norm1`, `attn.qkv`,
// `attn.proj`, `ls1.gamma`, `norm2`, `mlp.fc1`, `mlp.fc2`, `ls2.gamma`,
// `norm`): DINOv2 ViT-B/14 with 4 registers as MaMA uses it, and the
// timm/DeiT/BLIP ViT-B/16 of MGCA (same names, no registers, LayerScale or mask
// token). Position embeddings are interpolated exactly as DINOv2 does for other
// input sizes; gradient checkpointing trades compute for memory in training.
#ifndef MAMMOVL_VISION_VIT_H_
#define MAMMOVL_VISION_VIT_H_

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "vision/backbone.h"
#include "vision/vision_config.pb.h"

namespace mammovl::vision {

// InvalidArgument naming the field: non-positive sizes, embed_dim not
// divisible by num_heads, negative registers, gradient checkpointing with
// more segments than blocks or combined with return_block_outputs.
absl::Status ValidateVitConfig(const VitConfig& config);

class VitAttentionImpl : public torch::nn::Module {
 public:
  VitAttentionImpl(int64_t dim, int64_t heads);
  // x [B, T, D] → [B, T, D]; stores the attention probabilities in
  // `*attention` when it is non-null.
  torch::Tensor forward(const torch::Tensor& x,
                        torch::Tensor* attention = nullptr);

 private:
  int64_t heads_;
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr};
};
TORCH_MODULE(VitAttention);

class VitMlpImpl : public torch::nn::Module {
 public:
  VitMlpImpl(int64_t dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(VitMlp);

class LayerScaleImpl : public torch::nn::Module {
 public:
  explicit LayerScaleImpl(int64_t dim);
  torch::Tensor gamma;
};
TORCH_MODULE(LayerScale);

// Pre-norm block: x + ls1(attn(norm1(x))), then x + ls2(mlp(norm2(x))).
class VitBlockImpl : public torch::nn::Module {
 public:
  VitBlockImpl(int64_t dim, int64_t heads, int64_t hidden, bool layer_scale,
               double eps);
  torch::Tensor forward(const torch::Tensor& x,
                        torch::Tensor* attention = nullptr);

 private:
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  VitAttention attn_{nullptr};
  VitMlp mlp_{nullptr};
  LayerScale ls1_{nullptr}, ls2_{nullptr};
};
TORCH_MODULE(VitBlock);

// `Forward(images)` takes [B, 3, H, W] with H and W multiples of the patch
// size and returns `pooled` per `pooling`, `local` = final-LayerNorm patch
// tokens [B, (H/p)·(W/p), D] (row-major grid), `prenorm_tokens`, `cls_token`,
// `register_tokens` and, if configured, `last_attention` / `block_outputs`.
class VisionTransformerImpl : public BackboneImpl {
 public:
  // `config` must have passed ValidateVitConfig.
  explicit VisionTransformerImpl(const VitConfig& config);

  BackboneOutput Forward(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return config_.embed_dim(); }
  int64_t local_dim() const override { return config_.embed_dim(); }
  std::vector<int64_t> map_channels() const override { return {}; }

  // Position embeddings for a `rows` × `cols` patch grid, CLS first:
  // [1, 1 + rows·cols, D]. The stored table when the grid is the trained one.
  torch::Tensor PositionEmbedding(int64_t rows, int64_t cols);

  torch::Tensor cls_token, pos_embed, register_tokens, mask_token;

 private:
  torch::Tensor RunBlocks(torch::Tensor x, BackboneOutput* out);

  VitConfig config_;
  torch::nn::Conv2d patch_proj_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(VisionTransformer);

}  // namespace mammovl::vision

#endif  // MAMMOVL_VISION_VIT_H_
