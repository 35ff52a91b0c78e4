#include "detection/retinanet_head.h"

#include <cmath>
#include <string>
#include <vector>

#include <torch/nn/init.h>
#include <torch/nn/functional/activation.h>

#include "absl/strings/str_cat.h"

namespace mammovl::detection {

absl::Status ValidateRetinaHeadConfig(const RetinaHeadConfig& config) {
  if (config.feature_size() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "head.feature_size must be >= 1 (got ", config.feature_size(), ")"));
  }
  if (config.num_convs() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "head.num_convs must be >= 0 (got ", config.num_convs(), ")"));
  }
  const double p = config.prior_probability();
  if (!(p > 0 && p < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "head.prior_probability must be in (0, 1) (got ", p, ")"));
  }
  return absl::OkStatus();
}

RetinaHeadImpl::RetinaHeadImpl(Kind kind, const RetinaHeadConfig& config,
                               int64_t in_channels, int64_t num_anchors,
                               int64_t num_classes)
    : kind_(kind),
      num_anchors_(num_anchors),
      values_per_anchor_(kind == Kind::kClassification ? num_classes : 4) {
  const int64_t feat = config.feature_size();
  int64_t c_in = in_channels;
  for (int i = 0; i < config.num_convs(); ++i) {
    auto conv = register_module(
        absl::StrCat("conv", i + 1),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(c_in, feat, 3).padding(1)));
    convs_.push_back(conv);
    c_in = feat;
  }
  output_ = register_module(
      "output", torch::nn::Conv2d(torch::nn::Conv2dOptions(
                                      c_in, num_anchors * values_per_anchor_, 3)
                                      .padding(1)));
  torch::NoGradGuard no_grad;
  for (auto& conv : convs_) {
    const double n = 9.0 * static_cast<double>(conv->options.out_channels());
    torch::nn::init::normal_(conv->weight, 0.0, std::sqrt(2.0 / n));
  }
  output_->weight.zero_();
  if (kind_ == Kind::kClassification) {
    const double p = config.prior_probability();
    output_->bias.fill_(-std::log((1.0 - p) / p));
  } else {
    output_->bias.zero_();
  }
}

torch::Tensor RetinaHeadImpl::ForwardLevel(const torch::Tensor& x) {
  torch::Tensor h = x;
  for (auto& conv : convs_) h = torch::relu(conv->forward(h));
  h = output_->forward(h);
  if (kind_ == Kind::kClassification) h = torch::sigmoid(h);
  return h;
}

torch::Tensor RetinaHeadImpl::forward(const std::vector<torch::Tensor>& levels) {
  TORCH_CHECK(!levels.empty(), "RetinaHead: no pyramid levels");
  std::vector<torch::Tensor> outs;
  outs.reserve(levels.size());
  for (const torch::Tensor& x : levels) {
    TORCH_CHECK(x.dim() == 4, "RetinaHead: expected [B, C, H, W], got ",
                x.sizes());
    torch::Tensor o = ForwardLevel(x).permute({0, 2, 3, 1});
    outs.push_back(o.reshape({o.size(0), -1, values_per_anchor_}));
  }
  return torch::cat(outs, 1);
}

}  // namespace mammovl::detection
