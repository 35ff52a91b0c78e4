#include "vision/heads.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

#include <cmath>

#include "absl/strings/str_cat.h"

namespace mammovl::vision {
namespace {

torch::Tensor Normalize(const torch::Tensor& x) {
  // F.normalize(x, dim=-1): x / max(‖x‖, 1e-12).
  return x / x.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12);
}

torch::nn::Sequential BnMlp(int64_t in, int64_t hidden, int64_t out,
                            bool conv1d) {
  auto bn = [](int64_t c, bool affine) {
    return torch::nn::BatchNorm1d(
        torch::nn::BatchNorm1dOptions(c).affine(affine));
  };
  torch::nn::Sequential head;
  if (conv1d) {
    head->push_back(torch::nn::Conv1d(torch::nn::Conv1dOptions(in, hidden, 1)));
  } else {
    head->push_back(torch::nn::Linear(in, hidden));
  }
  head->push_back(bn(hidden, true));
  head->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
  if (conv1d) {
    head->push_back(
        torch::nn::Conv1d(torch::nn::Conv1dOptions(hidden, out, 1)));
  } else {
    head->push_back(torch::nn::Linear(hidden, out));
  }
  head->push_back(bn(out, false));
  return head;
}

absl::Status CheckPositive(const char* field, int64_t v) {
  if (v > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " must be > 0 (got ", v, ")"));
}

}  // namespace

absl::Status ValidateProjectionHeadConfig(const ProjectionHeadConfig& config) {
  switch (config.head_case()) {
    case ProjectionHeadConfig::kLinear:
      return CheckPositive("projection.linear.output_dim",
                           config.linear().output_dim());
    case ProjectionHeadConfig::kMlp: {
      const float p = config.mlp().dropout();
      if (!(p >= 0 && p < 1)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "projection.mlp.dropout must be in [0, 1) (got ", p, ")"));
      }
      return CheckPositive("projection.mlp.output_dim",
                           config.mlp().output_dim());
    }
    case ProjectionHeadConfig::kBnMlp:
      if (absl::Status s = CheckPositive("projection.bn_mlp.hidden_dim",
                                         config.bn_mlp().hidden_dim());
          !s.ok()) {
        return s;
      }
      return CheckPositive("projection.bn_mlp.output_dim",
                           config.bn_mlp().output_dim());
    default:
      return absl::InvalidArgumentError(
          "projection: no head selected (set linear, mlp or bn_mlp)");
  }
}

absl::Status ValidateLocalProjectionConfig(
    const LocalProjectionConfig& config) {
  if (absl::Status s =
          CheckPositive("local_projection.hidden_dim", config.hidden_dim());
      !s.ok()) {
    return s;
  }
  return CheckPositive("local_projection.output_dim", config.output_dim());
}

ProjectionHeadImpl::ProjectionHeadImpl(const ProjectionHeadConfig& config,
                                       int64_t input_dim)
    : config_(config) {
  switch (config.head_case()) {
    case ProjectionHeadConfig::kLinear: {
      output_dim_ = config.linear().output_dim();
      normalize_ = config.linear().l2_normalize();
      // nn.Linear's initialisation.
      weight =
          register_parameter("weight", at::empty({output_dim_, input_dim}));
      torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
      if (config.linear().bias()) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(input_dim));
        bias = register_parameter(
            "bias", at::empty({output_dim_}).uniform_(-bound, bound));
      }
      break;
    }
    case ProjectionHeadConfig::kMlp:
      output_dim_ = config.mlp().output_dim();
      normalize_ = config.mlp().l2_normalize();
      dropout_ = config.mlp().dropout();
      projection_ = register_module("projection",
                                    torch::nn::Linear(input_dim, output_dim_));
      fc_ = register_module("fc", torch::nn::Linear(output_dim_, output_dim_));
      layer_norm_ = register_module(
          "layer_norm",
          torch::nn::LayerNorm(torch::nn::LayerNormOptions({output_dim_})));
      break;
    default:
      output_dim_ = config.bn_mlp().output_dim();
      normalize_ = config.bn_mlp().l2_normalize();
      head_ =
          register_module("head", BnMlp(input_dim, config.bn_mlp().hidden_dim(),
                                        output_dim_, /*conv1d=*/false));
      break;
  }
}

torch::Tensor ProjectionHeadImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2, "projection head expects [B, D], got ", x.sizes());
  torch::Tensor y;
  switch (config_.head_case()) {
    case ProjectionHeadConfig::kLinear:
      y = at::linear(x, weight, bias);
      break;
    case ProjectionHeadConfig::kMlp: {
      torch::Tensor projected = projection_->forward(x);
      torch::Tensor h = fc_->forward(at::gelu(projected));
      h = torch::nn::functional::dropout(
          h, torch::nn::functional::DropoutFuncOptions().p(dropout_).training(
                 is_training()));
      y = layer_norm_->forward(h + projected);
      break;
    }
    default:
      y = head_->forward(x);
      break;
  }
  return normalize_ ? Normalize(y) : y;
}

LocalProjectionHeadImpl::LocalProjectionHeadImpl(
    const LocalProjectionConfig& config, int64_t input_dim)
    : config_(config) {
  head_ = register_module("head", BnMlp(input_dim, config.hidden_dim(),
                                        config.output_dim(), /*conv1d=*/true));
}

torch::Tensor LocalProjectionHeadImpl::forward(const torch::Tensor& tokens) {
  TORCH_CHECK(tokens.dim() == 3, "local projection expects [B, N, D], got ",
              tokens.sizes());
  torch::Tensor y =
      head_->forward(tokens.permute({0, 2, 1})).permute({0, 2, 1});
  return config_.l2_normalize() ? Normalize(y) : y;
}

}  // namespace mammovl::vision
