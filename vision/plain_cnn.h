// A plain convolutional backbone: optional 2×2 space-to-depth input, then
// stages of 3×3 convolution + BatchNorm + ReLU with 2×2 max pooling between
// stages. Small and fast on CPU, and it keeps specks of one or two pixels:
// every input pixel reaches the first convolution unblurred, and max pooling
// (not a strided convolution) carries the strongest response to the next
// stage. On the synthetic corpus it finds calcification clusters that a
// narrow ResNet-18 misses (vision/README.md). Parameter names: `conv{k}`,
// `bn{k}`, k counting every convolution from 0.
#ifndef MAMMOVL_VISION_PLAIN_CNN_H_
#define MAMMOVL_VISION_PLAIN_CNN_H_

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "vision/backbone.h"
#include "vision/vision_config.pb.h"

namespace mammovl::vision {

// InvalidArgument naming the field for a channel ≤ 0, convs_per_stage ≤ 0 or
// batch_norm_epsilon ≤ 0.
absl::Status ValidatePlainCnnConfig(const PlainCnnConfig& config);

// `Forward(images [B, 3, H, W])` returns one map per stage in `maps` (strides
// 2, 4, 8, ... with space-to-depth, else 1, 2, 4, ...), the last one as
// `head_map`, and its spatial mean as `pooled`. With space-to-depth H and W
// must be even.
class PlainCnnImpl : public BackboneImpl {
 public:
  // `config` must have passed ValidatePlainCnnConfig.
  PlainCnnImpl(const PlainCnnConfig& config, bool channels_last);

  BackboneOutput Forward(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return channels_.back(); }
  int64_t local_dim() const override { return 0; }
  std::vector<int64_t> map_channels() const override { return channels_; }

 private:
  PlainCnnConfig config_;
  bool channels_last_;
  std::vector<int64_t> channels_;  // per stage
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> bns_;
};
TORCH_MODULE(PlainCnn);

}  // namespace mammovl::vision

#endif  // MAMMOVL_VISION_PLAIN_CNN_H_
