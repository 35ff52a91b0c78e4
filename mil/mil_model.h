// The multi-scale attention MIL model of FPN-MIL (fpn_mil.md §3): per scale
// an instance encoder (MLP or stacked ISAB/SAB) and a pooling (gated
// attention, PMA, mean or max) give a bag embedding and the instances'
// attention; per-scale heads give deep-supervision logits; a scale
// aggregator (gated attention, concatenation, or mean/max of the side
// probabilities) and a final head give the image logit.
//
// Parameter names follow the reference state dict (offline model):
//   side_inst_aggregator.encoders.encoder_{s}.{0.0 | i.<ISAB/SAB>}
//   side_inst_aggregator.aggregators.aggregator_{s}.<pooling>
//   side_classifiers.classifier_{s}.head_classifier
//   scale_aggregator.<gated attention>, classifier.head_classifier
// (the FPN, when present, sits under `inst_encoder.`).
#ifndef MAMMOVL_MIL_MIL_MODEL_H_
#define MAMMOVL_MIL_MIL_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mil/attention.h"
#include "mil/mil_config.pb.h"
#include "vision/fpn.h"

namespace mammovl::mil {

// Dropout → Linear(in → 1); the reference's `head` without sigmoid.
class ClassifierHeadImpl : public torch::nn::Module {
 public:
  ClassifierHeadImpl(int64_t in_dim, double dropout);
  // x [B, in] → [B, 1] logits.
  torch::Tensor forward(const torch::Tensor& x);
  const torch::Tensor& weight() const { return head_classifier_->weight; }

 private:
  torch::nn::Dropout drop_{nullptr};
  torch::nn::Linear head_classifier_{nullptr};
};
TORCH_MODULE(ClassifierHead);

// What the model returns for a batch of B bags.
struct MilOutput {
  // Final logit [B]; undefined for MEAN/MAX_PROBABILITY (no fused head).
  torch::Tensor logits;
  // Final probability [B]: sigmoid(logits), or the mean (max) of the side
  // heads' sigmoid probabilities.
  torch::Tensor probabilities;
  // Per scale (scale order): side logits [B] (empty without side heads),
  // bag embeddings [B, embed_dim] and instance attention [B, N_s] (undefined
  // for mean/max pooling).
  std::vector<torch::Tensor> side_logits;
  std::vector<torch::Tensor> bag_embeddings;
  std::vector<torch::Tensor> instance_attention;
  // Weight of each scale [B, S]: the scale aggregator's softmax (gated
  // attention), softmax over scales of x_s·W_s (concatenation, in eval mode
  // for any batch size; the reference only for batch 1), or 1/S.
  torch::Tensor scale_weights;
};

// The scale names and ISAB inducing points the model is built with.
struct MilModelLayout {
  std::vector<int64_t> scales;           // e.g. 16, 32, 128
  std::vector<int64_t> grid_sides;       // instance grid side per scale (patch / scale)
  std::vector<int64_t> inducing_points;  // per scale (ISAB only)
  std::vector<int64_t> backbone_channels;
};

class MilModelImpl : public torch::nn::Module {
 public:
  // Use `BuildMilModel`, which validates first.
  MilModelImpl(const MilModelConfig& config, MilModelLayout layout);

  // instance_sets[s]: [B, N_s, fpn_dim] in scale order.
  MilOutput ForwardInstances(const std::vector<torch::Tensor>& instance_sets);

  // The whole model on backbone maps: maps[i] [B, N, C_i, h_i, w_i] (N
  // patches per bag, finest first) → FPN → instance sets → MIL. Needs
  // `config.fpn()`.
  MilOutput Forward(const std::vector<torch::Tensor>& maps);

  // The FPN maps of B·N patches ([B·N, C_i, h_i, w_i] in, instance maps
  // [B·N, fpn_dim, g_s, g_s] out, scale order). Needs `config.fpn()`.
  std::vector<torch::Tensor> InstanceMaps(const std::vector<torch::Tensor>& maps);

  // The FPN (`inst_encoder`), or a null holder without one.
  vision::Fpn fpn() { return fpn_; }

  const MilModelConfig& config() const { return config_; }
  const MilModelLayout& layout() const { return layout_; }

 private:
  struct ScaleModules {
    std::vector<torch::nn::Sequential> mlp;
    std::vector<InducedSetAttentionBlock> isab;
    std::vector<SetAttentionBlock> sab;
    AttentionPooling attention{nullptr};
    PoolingByMultiheadAttention pma{nullptr};
    ClassifierHead side_head{nullptr};
  };
  torch::Tensor Encode(ScaleModules& scale, torch::Tensor x);
  PooledBag Pool(ScaleModules& scale, const torch::Tensor& x);

  MilModelConfig config_;
  MilModelLayout layout_;
  std::vector<ScaleModules> scales_;
  vision::Fpn fpn_{nullptr};
  AttentionPooling scale_aggregator_{nullptr};
  ClassifierHead classifier_{nullptr};
};
TORCH_MODULE(MilModel);

// The default scales (16, 32, 128) and backbone channels (120, 352) when the
// config leaves them empty.
std::vector<int64_t> ScalesOf(const MilModelConfig& config);
std::vector<int64_t> BackboneChannelsOf(const MilModelConfig& config);

// The reference's ISAB size rule: ceil(10·log10(n)) for n > 10, else n.
int64_t InducingPointsFor(double num_instances);

// Checks the model config against the patch size (scales divide the patch,
// heads divide widths, ranges, oneofs set, one scale per FPN output).
// InvalidArgument naming the field.
absl::Status ValidateMilModelConfig(const MilModelConfig& config,
                                    const PatchingConfig& patching);

// Returns the scale names, grid sides and inducing points for `config`.
absl::StatusOr<MilModelLayout> MakeMilModelLayout(
    const MilModelConfig& config, const PatchingConfig& patching);

// Validates and builds the model (default PyTorch initialisation).
absl::StatusOr<MilModel> BuildMilModel(const MilModelConfig& config,
                                       const PatchingConfig& patching);

// [B·N, D, h, w] FPN map of B bags of N patches → instance set
// [B, N·h·w, D] with instance index p·h·w + r·w + c.
torch::Tensor FlattenInstances(const torch::Tensor& map, int64_t batch);

// Attention [B, N·h·w] → [B, N, h, w] (the inverse order of
// `FlattenInstances`).
torch::Tensor UnflattenAttention(const torch::Tensor& attention,
                                 int64_t num_patches, int64_t h, int64_t w);

}  // namespace mammovl::mil

#endif  // MAMMOVL_MIL_MIL_MODEL_H_
