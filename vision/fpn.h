// Feature pyramid network over any backbone's stage maps, with the parameter
// names of torchvision, FPN-MIL or pytorch-retinanet (vision_config.proto,
// `FpnConfig`). Maps go in finest first and come out finest first, followed by
// the extra levels.
#ifndef MAMMOVL_VISION_FPN_H_
#define MAMMOVL_VISION_FPN_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "vision/vision_config.pb.h"

namespace mammovl::vision {

// InvalidArgument naming the field: no inputs, a non-positive channel count,
// out-of-range `upsample_lateral` indices, pool_stride < 1, unset enums.
absl::Status ValidateFpnConfig(const FpnConfig& config,
                               const std::vector<int64_t>& in_channels);

class FpnImpl : public torch::nn::Module {
 public:
  // `in_channels`: channels of each input map, finest first. The arguments
  // must have passed ValidateFpnConfig.
  FpnImpl(const FpnConfig& config, std::vector<int64_t> in_channels);

  // maps[i]: [B, in_channels[i], H_i, W_i], finest first. Returns the pyramid
  // [B, out_channels, ·, ·], finest first, then the extra levels.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& maps);

  int64_t num_outputs() const;

 private:
  FpnConfig config_;
  std::vector<int64_t> in_channels_;
  std::vector<bool> upsample_lateral_;
  std::vector<torch::nn::Conv2d> lateral_, output_;
  torch::nn::Conv2d p6_{nullptr}, p7_{nullptr};
};
TORCH_MODULE(Fpn);

}  // namespace mammovl::vision

#endif  // MAMMOVL_VISION_FPN_H_
