#include "vision/resnet.h"

#include <ATen/ATen.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "vision/fused_ops.h"

namespace mammovl::vision {
namespace {

struct DepthSpec {
  bool bottleneck;
  std::vector<int64_t> blocks;
};

DepthSpec SpecOf(ResNetConfig::Depth depth) {
  switch (depth) {
    case ResNetConfig::RESNET18:
      return {false, {2, 2, 2, 2}};
    case ResNetConfig::RESNET34:
      return {false, {3, 4, 6, 3}};
    case ResNetConfig::RESNET50:
      return {true, {3, 4, 6, 3}};
    case ResNetConfig::RESNET101:
      return {true, {3, 4, 23, 3}};
    case ResNetConfig::RESNET152:
      return {true, {3, 8, 36, 3}};
    default:
      return {false, {}};
  }
}

torch::nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                       int64_t pad) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .stride(stride)
                               .padding(pad)
                               .bias(false));
}

torch::nn::BatchNorm2d Bn(int64_t channels, double eps) {
  return torch::nn::BatchNorm2d(
      torch::nn::BatchNorm2dOptions(channels).eps(eps));
}

}  // namespace

absl::Status ValidateResNetConfig(const ResNetConfig& config) {
  if (SpecOf(config.depth()).blocks.empty()) {
    return absl::InvalidArgumentError("resnet.depth is DEPTH_UNSPECIFIED");
  }
  if (config.base_width() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "resnet.base_width must be > 0 (got ", config.base_width(), ")"));
  }
  if (config.input_resize() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "resnet.input_resize must be >= 0 (got ", config.input_resize(), ")"));
  }
  if (config.local_stage() < 1 || config.local_stage() > 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "resnet.local_stage must be in 1..4 (got ", config.local_stage(), ")"));
  }
  if (config.stage_blocks_size() != 0) {
    if (config.stage_blocks_size() != 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("resnet.stage_blocks must have 4 values (got ",
                       config.stage_blocks_size(), ")"));
    }
    for (int i = 0; i < 4; ++i) {
      if (config.stage_blocks(i) <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("resnet.stage_blocks[", i, "] must be > 0 (got ",
                         config.stage_blocks(i), ")"));
      }
    }
  }
  if (!(config.batch_norm_epsilon() > 0)) {
    return absl::InvalidArgumentError("resnet.batch_norm_epsilon must be > 0");
  }
  return absl::OkStatus();
}

ResNetBlockImpl::ResNetBlockImpl(bool bottleneck, int64_t in, int64_t planes,
                                 int64_t stride, double eps)
    : bottleneck_(bottleneck), stride_(stride) {
  const int64_t expansion = bottleneck ? 4 : 1;
  if (bottleneck) {
    conv1_ = register_module("conv1", Conv(in, planes, 1, 1, 0));
    bn1_ = register_module("bn1", Bn(planes, eps));
    conv2_ = register_module("conv2", Conv(planes, planes, 3, stride, 1));
    bn2_ = register_module("bn2", Bn(planes, eps));
    conv3_ =
        register_module("conv3", Conv(planes, planes * expansion, 1, 1, 0));
    bn3_ = register_module("bn3", Bn(planes * expansion, eps));
  } else {
    conv1_ = register_module("conv1", Conv(in, planes, 3, stride, 1));
    bn1_ = register_module("bn1", Bn(planes, eps));
    conv2_ = register_module("conv2", Conv(planes, planes, 3, 1, 1));
    bn2_ = register_module("bn2", Bn(planes, eps));
  }
  if (stride != 1 || in != planes * expansion) {
    downsample_conv_ = Conv(in, planes * expansion, 1, stride, 0);
    downsample_bn_ = Bn(planes * expansion, eps);
    downsample_ = register_module(
        "downsample", torch::nn::Sequential(downsample_conv_, downsample_bn_));
  }
}

torch::Tensor ResNetBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = at::relu(bn1_->forward(conv1_->forward(x)));
  if (bottleneck_) {
    out = at::relu(bn2_->forward(conv2_->forward(out)));
    out = bn3_->forward(conv3_->forward(out));
  } else {
    out = bn2_->forward(conv2_->forward(out));
  }
  const torch::Tensor identity = downsample_ ? downsample_->forward(x) : x;
  return at::relu(out + identity);
}

torch::Tensor ResNetBlockImpl::ForwardFused(const torch::Tensor& x) {
  torch::Tensor out = FusedConvBn(x, conv1_, bn1_, true);
  if (bottleneck_) {
    out = FusedConvBn(out, conv2_, bn2_, true);
    out = FusedConvBn(out, conv3_, bn3_, false);
  } else {
    out = FusedConvBn(out, conv2_, bn2_, false);
  }
  if (downsample_) {
    out.add_(FusedConvBn(x, downsample_conv_, downsample_bn_, false));
  } else {
    out.add_(x);
  }
  return at::relu_(out);
}

ResNetImpl::ResNetImpl(const ResNetConfig& config, bool channels_last)
    : config_(config), channels_last_(channels_last) {
  DepthSpec spec = SpecOf(config.depth());
  if (config.stage_blocks_size() == 4) {
    spec.blocks.assign(config.stage_blocks().begin(),
                       config.stage_blocks().end());
  }
  const int64_t base = config.base_width();
  const double eps = config.batch_norm_epsilon();
  const int64_t expansion = spec.bottleneck ? 4 : 1;
  conv1_ = register_module("conv1", Conv(3, base, 7, 2, 3));
  bn1_ = register_module("bn1", Bn(base, eps));
  int64_t in = base;
  for (int stage = 0; stage < 4; ++stage) {
    const int64_t planes = base << stage;
    torch::nn::Sequential layer;
    for (int64_t i = 0; i < spec.blocks[stage]; ++i) {
      const int64_t stride = (i == 0 && stage > 0) ? 2 : 1;
      layer->push_back(ResNetBlock(spec.bottleneck, in, planes, stride, eps));
      in = planes * expansion;
    }
    layers_.push_back(
        register_module("layer" + std::to_string(stage + 1), layer));
    channels_.push_back(in);
  }
}

BackboneOutput ResNetImpl::Forward(const torch::Tensor& images) {
  CheckImages(images, "ResNet");
  const bool fused = UseFusedPath();
  torch::Tensor x = images;
  if (config_.input_resize() > 0) {
    const int64_t s = config_.input_resize();
    x = at::upsample_bilinear2d(x, {s, s}, config_.resize_align_corners());
  }
  x = channels_last_ ? x.contiguous(at::MemoryFormat::ChannelsLast)
                     : x.contiguous();
  x = fused ? FusedConvBn(x, conv1_, bn1_, true)
            : at::relu(bn1_->forward(conv1_->forward(x)));
  x = at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
  BackboneOutput out;
  for (auto& layer : layers_) {
    for (size_t i = 0; i < layer->size(); ++i) {
      auto block = layer->ptr<ResNetBlockImpl>(i);
      x = fused ? block->ForwardFused(x) : block->forward(x);
    }
    out.maps.push_back(x);
  }
  out.head_map = out.maps[3];
  out.pooled = out.head_map.mean({2, 3});
  const torch::Tensor& local = out.maps[config_.local_stage() - 1];
  out.grid_rows = local.size(2);
  out.grid_cols = local.size(3);
  out.local = local.flatten(2).transpose(1, 2);
  return out;
}

}  // namespace mammovl::vision
