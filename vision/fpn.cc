#include "vision/fpn.h"

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mammovl::vision {
namespace {

torch::nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel,
                       int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .stride(stride)
                               .padding(kernel / 2));
}

// Registers `conv` as `<parent>.<child>.0` (a Sequential-style wrapper).
torch::nn::Conv2d RegisterWrapped(torch::nn::Module& parent,
                                  const std::string& child,
                                  torch::nn::Conv2d conv) {
  auto wrapper =
      parent.register_module(child, std::make_shared<torch::nn::Module>());
  return wrapper->register_module("0", conv);
}

torch::Tensor Nearest(const torch::Tensor& x, int64_t h, int64_t w) {
  if (x.size(2) == h && x.size(3) == w) return x;
  return at::upsample_nearest2d(x, {h, w});
}

}  // namespace

absl::Status ValidateFpnConfig(const FpnConfig& config,
                               const std::vector<int64_t>& in_channels) {
  if (in_channels.empty())
    return absl::InvalidArgumentError("fpn: no input maps");
  for (size_t i = 0; i < in_channels.size(); ++i) {
    if (in_channels[i] <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("fpn: input ", i, " has ", in_channels[i], " channels"));
    }
  }
  if (config.layout() == FpnConfig::LAYOUT_UNSPECIFIED) {
    return absl::InvalidArgumentError("fpn.layout is LAYOUT_UNSPECIFIED");
  }
  if (config.extra_levels() == FpnConfig::EXTRA_LEVELS_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "fpn.extra_levels is EXTRA_LEVELS_UNSPECIFIED");
  }
  if (config.out_channels() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fpn.out_channels must be > 0 (got ", config.out_channels(), ")"));
  }
  if (config.pool_stride() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fpn.pool_stride must be >= 1 (got ", config.pool_stride(), ")"));
  }
  for (int i = 0; i < config.upsample_lateral_size(); ++i) {
    const int v = config.upsample_lateral(i);
    if (v < 0 || v >= static_cast<int>(in_channels.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fpn.upsample_lateral[", i, "] = ", v, " is not an input index (0..",
          in_channels.size() - 1, ")"));
    }
  }
  return absl::OkStatus();
}

FpnImpl::FpnImpl(const FpnConfig& config, std::vector<int64_t> in_channels)
    : config_(config), in_channels_(std::move(in_channels)) {
  const int64_t out = config.out_channels();
  const size_t n = in_channels_.size();
  upsample_lateral_.assign(n, false);
  for (int i : config.upsample_lateral()) upsample_lateral_[i] = true;

  std::shared_ptr<torch::nn::Module> inner, layer;
  if (config.layout() != FpnConfig::RETINANET) {
    inner =
        register_module("inner_blocks", std::make_shared<torch::nn::Module>());
    layer =
        register_module("layer_blocks", std::make_shared<torch::nn::Module>());
  }
  for (size_t i = 0; i < n; ++i) {
    torch::nn::Conv2d lat = Conv(in_channels_[i], out, 1, 1);
    torch::nn::Conv2d smooth = Conv(out, out, 3, 1);
    switch (config.layout()) {
      case FpnConfig::FPN_MIL:
        lat = RegisterWrapped(*inner, absl::StrCat("inner_block_", i), lat);
        smooth =
            RegisterWrapped(*layer, absl::StrCat("layer_block_", i), smooth);
        break;
      case FpnConfig::RETINANET: {
        const int64_t level = config.first_level() + static_cast<int64_t>(i);
        lat = register_module(absl::StrCat("P", level, "_1"), lat);
        smooth = register_module(absl::StrCat("P", level, "_2"), smooth);
        break;
      }
      default:
        lat = RegisterWrapped(*inner, std::to_string(i), lat);
        smooth = RegisterWrapped(*layer, std::to_string(i), smooth);
        break;
    }
    lateral_.push_back(lat);
    output_.push_back(smooth);
  }
  if (config.extra_levels() == FpnConfig::CONV_P6P7) {
    const int64_t p6_in =
        config.extra_from_output() ? out : in_channels_.back();
    p6_ = Conv(p6_in, out, 3, 2);
    p7_ = Conv(out, out, 3, 2);
    if (config.layout() == FpnConfig::RETINANET) {
      const int64_t level = config.first_level() + static_cast<int64_t>(n);
      p6_ = register_module(absl::StrCat("P", level), p6_);
      p7_ = register_module(absl::StrCat("P", level + 1, "_2"), p7_);
    } else {
      auto extra = register_module("extra_blocks",
                                   std::make_shared<torch::nn::Module>());
      p6_ = extra->register_module("p6", p6_);
      p7_ = extra->register_module("p7", p7_);
    }
  }
}

int64_t FpnImpl::num_outputs() const {
  const int64_t n = static_cast<int64_t>(in_channels_.size());
  switch (config_.extra_levels()) {
    case FpnConfig::MAX_POOL:
      return n + 1;
    case FpnConfig::CONV_P6P7:
      return n + 2;
    default:
      return n;
  }
}

std::vector<torch::Tensor> FpnImpl::forward(
    const std::vector<torch::Tensor>& maps) {
  const size_t n = in_channels_.size();
  TORCH_CHECK(maps.size() == n, "FPN expects ", n, " maps, got ", maps.size());
  for (size_t i = 0; i < n; ++i) {
    TORCH_CHECK(maps[i].dim() == 4 && maps[i].size(1) == in_channels_[i],
                "FPN input ", i, " should be [B, ", in_channels_[i],
                ", H, W], got ", maps[i].sizes());
  }
  auto lateral = [&](size_t i) {
    torch::Tensor y = lateral_[i]->forward(maps[i]);
    if (upsample_lateral_[i])
      y = at::upsample_nearest2d(y, {2 * y.size(2), 2 * y.size(3)});
    return y;
  };
  std::vector<torch::Tensor> results(n);
  torch::Tensor last = lateral(n - 1);
  results[n - 1] = output_[n - 1]->forward(last);
  for (size_t k = n - 1; k-- > 0;) {
    torch::Tensor lat = lateral(k);
    if (config_.top_down()) {
      last = lat + Nearest(last, lat.size(2), lat.size(3));
    } else {
      last = lat;
    }
    results[k] = output_[k]->forward(last);
  }
  if (config_.extra_levels() == FpnConfig::MAX_POOL) {
    const int64_t s = config_.pool_stride();
    results.push_back(at::max_pool2d(results.back(), {1, 1}, {s, s}));
  } else if (config_.extra_levels() == FpnConfig::CONV_P6P7) {
    torch::Tensor p6 = p6_->forward(config_.extra_from_output() ? results[n - 1]
                                                                : maps[n - 1]);
    results.push_back(p6);
    results.push_back(p7_->forward(at::relu(p6)));
  }
  return results;
}

}  // namespace mammovl::vision
