#include "detection/factor.h"

#include <cmath>
#include <vector>

#include <torch/nn/functional/normalization.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include "absl/strings/str_cat.h"

namespace mammovl::detection {

absl::Status ValidateFactorConfig(const FactorConfig& config) {
  if (config.embed_dim() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "factor.embed_dim must be >= 1 (got ", config.embed_dim(), ")"));
  }
  if (config.hidden_dim() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "factor.hidden_dim must be >= 0 (got ", config.hidden_dim(), ")"));
  }
  if (!(config.temperature() > 0) || !std::isfinite(config.temperature())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "factor.temperature must be > 0 (got ", config.temperature(), ")"));
  }
  if (!(config.box_percentile() >= 0 && config.box_percentile() <= 100)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "factor.box_percentile must be in [0, 100] (got ", config.box_percentile(),
        ")"));
  }
  if (config.min_box_area() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "factor.min_box_area must be >= 1 (got ", config.min_box_area(), ")"));
  }
  return absl::OkStatus();
}

FactorMapperImpl::FactorMapperImpl(const FactorConfig& config, int64_t num_regions,
                                   int64_t num_attributes)
    : reference_pairing_(config.reference_channel_pairing()),
      num_regions_(num_regions) {
  const int64_t hidden = config.hidden_dim() > 0 ? config.hidden_dim() : num_regions;
  for (int64_t k = 0; k < num_attributes; ++k) {
    mappers_.push_back(register_module(
        absl::StrCat("mapper_", k),
        torch::nn::Sequential(torch::nn::Linear(num_regions, hidden), torch::nn::ReLU(),
                              torch::nn::Linear(hidden, config.embed_dim()))));
  }
}

torch::Tensor FactorMapperImpl::forward(const torch::Tensor& features) {
  TORCH_CHECK(features.dim() == 4, "FactorMapper: expected [B, C, H, W], got ",
              features.sizes());
  TORCH_CHECK(features.size(2) * features.size(3) == num_regions_,
              "FactorMapper: the map has ", features.size(2) * features.size(3),
              " regions, the mappers expect ", num_regions_);
  const int64_t b = features.size(0), c = features.size(1);
  const torch::Tensor flat = features.reshape({b, c, num_regions_});
  std::vector<torch::Tensor> projections;
  for (auto& mapper : mappers_) projections.push_back(mapper->forward(flat));
  const int64_t k = static_cast<int64_t>(projections.size());
  if (reference_pairing_) {
    // torch.cat(dim=1) then view(-1, K, D): row r of the view takes entries
    // r * K .. r * K + K - 1 of the concatenated channels.
    return torch::cat(projections, 1).reshape({b, c, k, -1});
  }
  return torch::stack(projections, 2);
}

namespace {

// [B, C, K] cosine of every channel embedding with its attribute.
torch::Tensor ChannelCosines(const torch::Tensor& regions,
                             const torch::Tensor& attributes) {
  TORCH_CHECK(regions.dim() == 4, "expected regions [B, C, K, D], got ",
              regions.sizes());
  TORCH_CHECK(attributes.dim() == 2 && attributes.size(0) == regions.size(2) &&
                  attributes.size(1) == regions.size(3),
              "expected attributes [K, D] = [", regions.size(2), ", ",
              regions.size(3), "], got ", attributes.sizes());
  namespace F = torch::nn::functional;
  const torch::Tensor r = F::normalize(regions, F::NormalizeFuncOptions().dim(-1));
  const torch::Tensor t = F::normalize(attributes, F::NormalizeFuncOptions().dim(-1));
  return (r * t.unsqueeze(0).unsqueeze(0)).sum(-1);
}

}  // namespace

torch::Tensor FactorLoss(const torch::Tensor& regions,
                         const torch::Tensor& attributes,
                         const torch::Tensor& labels, double temperature) {
  const torch::Tensor cos = ChannelCosines(regions, attributes);
  TORCH_CHECK(labels.dim() == 2 && labels.size(0) == regions.size(0) &&
                  labels.size(1) == regions.size(2),
              "expected labels [B, K], got ", labels.sizes());
  const torch::Tensor s = std::get<0>(cos.max(1)) / temperature;  // [B, K]
  const torch::Tensor y = labels.to(s.scalar_type());
  const torch::Tensor others = s * (1 - y);  // [B, K]
  const int64_t b = s.size(0);
  // log(exp(s_ik) + sum_j exp(others_jk)) for every (i, k).
  const torch::Tensor all = torch::cat(
      {s.unsqueeze(0), others.unsqueeze(1).expand({b, b, s.size(1)})}, 0);  // [1+B, B, K]
  const torch::Tensor log_denominator = torch::logsumexp(all, 0);
  const torch::Tensor positive = y.gt(0.5);
  const torch::Tensor per = (log_denominator - s).masked_select(positive);
  if (per.numel() == 0) return (s * 0).sum();
  return per.mean();
}

torch::Tensor FactorHeatmaps(const torch::Tensor& features,
                             const torch::Tensor& regions,
                             const torch::Tensor& attributes) {
  TORCH_CHECK(features.dim() == 4 && features.size(0) == regions.size(0) &&
                  features.size(1) == regions.size(1),
              "FactorHeatmaps: features ", features.sizes(), " do not match regions ",
              regions.sizes());
  const torch::Tensor w = torch::relu(ChannelCosines(regions, attributes));  // [B, C, K]
  const torch::Tensor maps =
      torch::relu(torch::einsum("bck,bchw->bkhw", {w, features}));
  const torch::Tensor peak = std::get<0>(maps.flatten(2).max(2)).unsqueeze(-1).unsqueeze(-1);
  return torch::where(peak > 0, maps / peak.clamp_min(1e-30), torch::zeros_like(maps));
}

}  // namespace mammovl::detection
