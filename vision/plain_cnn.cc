#include "vision/plain_cnn.h"

#include <ATen/ATen.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "vision/fused_ops.h"

namespace mammovl::vision {
namespace {

std::vector<int64_t> StageChannels(const PlainCnnConfig& config) {
  if (config.channels_size() == 0) return {16, 32, 48, 64};
  return {config.channels().begin(), config.channels().end()};
}

}  // namespace

absl::Status ValidatePlainCnnConfig(const PlainCnnConfig& config) {
  for (int i = 0; i < config.channels_size(); ++i) {
    if (config.channels(i) <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("plain_cnn.channels[", i, "] must be > 0 (got ",
                       config.channels(i), ")"));
    }
  }
  if (config.convs_per_stage() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("plain_cnn.convs_per_stage must be > 0 (got ",
                     config.convs_per_stage(), ")"));
  }
  if (!(config.batch_norm_epsilon() > 0)) {
    return absl::InvalidArgumentError(
        "plain_cnn.batch_norm_epsilon must be > 0");
  }
  return absl::OkStatus();
}

PlainCnnImpl::PlainCnnImpl(const PlainCnnConfig& config, bool channels_last)
    : config_(config),
      channels_last_(channels_last),
      channels_(StageChannels(config)) {
  int64_t in = config.space_to_depth() ? 12 : 3;
  for (int64_t out : channels_) {
    for (int j = 0; j < config.convs_per_stage(); ++j) {
      const std::string k = std::to_string(convs_.size());
      convs_.push_back(register_module(
          "conv" + k,
          torch::nn::Conv2d(
              torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false))));
      bns_.push_back(register_module(
          "bn" + k, torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(
                        config.batch_norm_epsilon()))));
      in = out;
    }
  }
}

BackboneOutput PlainCnnImpl::Forward(const torch::Tensor& images) {
  CheckImages(images, "PlainCnn");
  const bool fused = UseFusedPath();
  torch::Tensor x = images;
  if (config_.space_to_depth()) {
    TORCH_CHECK(x.size(2) % 2 == 0 && x.size(3) % 2 == 0,
                "PlainCnn with space_to_depth needs an even height and width, "
                "got ",
                x.size(2), "x", x.size(3));
    x = at::pixel_unshuffle(x, 2);
  }
  x = channels_last_ ? x.contiguous(at::MemoryFormat::ChannelsLast)
                     : x.contiguous();
  BackboneOutput out;
  size_t k = 0;
  for (size_t stage = 0; stage < channels_.size(); ++stage) {
    if (stage > 0) x = at::max_pool2d(x, {2, 2}, {2, 2});
    for (int j = 0; j < config_.convs_per_stage(); ++j, ++k) {
      x = fused ? FusedConvBn(x, convs_[k], bns_[k], /*relu=*/true)
                : at::relu(bns_[k]->forward(convs_[k]->forward(x)));
    }
    out.maps.push_back(x);
  }
  out.head_map = x;
  out.pooled = x.mean({2, 3});
  return out;
}

}  // namespace mammovl::vision
