// RetinaNet classification and regression heads (shared/reference/
// mammoclip.md §8.3), shared across pyramid levels, with pytorch-retinanet's
// parameter names (`conv1`..`convN`, `output`) so its state dicts load by
// name under `classificationModel.` / `regressionModel.`.
#ifndef MAMMOVL_DETECTION_RETINANET_HEAD_H_
#define MAMMOVL_DETECTION_RETINANET_HEAD_H_

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"
#include "detection/detection_config.pb.h"

namespace mammovl::detection {

// InvalidArgument naming the field.
absl::Status ValidateRetinaHeadConfig(const RetinaHeadConfig& config);

// `num_convs` x [3x3 conv + ReLU] then a 3x3 output conv with
// `num_anchors * values_per_anchor` channels; sigmoid on the output for the
// classification head. forward(levels) takes the pyramid maps [B, C_in, H_l,
// W_l] and returns [B, sum_l H_l * W_l * num_anchors, values_per_anchor]:
// per level, locations row-major, then anchor, then value.
//
// Initialisation as the reference: every conv weight ~ N(0, sqrt(2 / (k * k
// * out_channels))) with PyTorch's default bias; then the output conv's
// weight is 0 and its bias -ln((1 - prior) / prior) (classification) or 0
// (regression).
class RetinaHeadImpl : public torch::nn::Module {
 public:
  enum class Kind { kClassification, kRegression };

  RetinaHeadImpl(Kind kind, const RetinaHeadConfig& config,
                 int64_t in_channels, int64_t num_anchors, int64_t num_classes);

  torch::Tensor forward(const std::vector<torch::Tensor>& levels);

  // Runs the convs on one level: [B, A * V, H, W] (sigmoid applied for the
  // classification head).
  torch::Tensor ForwardLevel(const torch::Tensor& x);

  int64_t values_per_anchor() const { return values_per_anchor_; }

 private:
  Kind kind_;
  int64_t num_anchors_;
  int64_t values_per_anchor_;
  std::vector<torch::nn::Conv2d> convs_;
  torch::nn::Conv2d output_{nullptr};
};
TORCH_MODULE(RetinaHead);

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_RETINANET_HEAD_H_
