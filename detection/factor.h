// Mammo-FActOR (shared/reference/mammoclip.md §9): weakly supervised
// localisation by aligning the channels of a frozen image encoder's last
// feature map with text embeddings of finding sentences. One MLP per
// attribute maps each channel's spatial vector (a "region") to the text
// space; the loss asks the best-matching channel of an image to match the
// attribute when the image has the finding; heatmaps weight the channels by
// their similarity to the attribute.
#ifndef MAMMOVL_DETECTION_FACTOR_H_
#define MAMMOVL_DETECTION_FACTOR_H_

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "detection/detection_config.pb.h"

namespace mammovl::detection {

// InvalidArgument naming the field.
absl::Status ValidateFactorConfig(const FactorConfig& config);

// Attribute mappers: `mapper_<k>` = Sequential(Linear(R, hidden), ReLU,
// Linear(hidden, D)) for attribute k, R = H * W regions of the feature map.
class FactorMapperImpl : public torch::nn::Module {
 public:
  FactorMapperImpl(const FactorConfig& config, int64_t num_regions,
                   int64_t num_attributes);

  // `features` [B, C, H, W] with H * W = num_regions. Returns the channel
  // embeddings [B, C, K, D] for the K attributes, paired as
  // `reference_channel_pairing` says.
  torch::Tensor forward(const torch::Tensor& features);

  int64_t num_regions() const { return num_regions_; }
  int64_t num_attributes() const { return static_cast<int64_t>(mappers_.size()); }

 private:
  bool reference_pairing_;
  int64_t num_regions_;
  std::vector<torch::nn::Sequential> mappers_;
};
TORCH_MODULE(FactorMapper);

// Returns the loss for channel embeddings `regions` [B, C, K, D], attribute
// embeddings `attributes` [K, D] and labels [B, K] in {0, 1}: with
// s_ik = max_c cos(regions[i, c, k], attributes[k]) / temperature,
//   mean over positives (i, k) of
//   -log(exp(s_ik) / (exp(s_ik) + sum_j exp(s_jk * (1 - y_jk)))),
// where positives j contribute exp(0) = 1 each, as the reference. 0 without
// positives. Differentiable in `regions`.
torch::Tensor FactorLoss(const torch::Tensor& regions,
                         const torch::Tensor& attributes,
                         const torch::Tensor& labels, double temperature);

// Returns heatmaps [B, K, H, W] in [0, 1]: channel weights
// w_ck = max(0, cos(regions[b, c, k], attributes[k])), map
// max(0, sum_c w_ck features[b, c]) divided by its maximum (all-zero maps
// stay 0). `features` [B, C, H, W], `regions` [B, C, K, D].
torch::Tensor FactorHeatmaps(const torch::Tensor& features,
                             const torch::Tensor& regions,
                             const torch::Tensor& attributes);

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_FACTOR_H_
