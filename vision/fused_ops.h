// Small tensor helpers shared by the backbones' inference paths: BatchNorm
// folding (and a convolution with its BatchNorm folded in), TF-"SAME"
// padding arithmetic and a Linear that runs on oneDNN.
// Internal to vision/.
#ifndef MAMMOVL_VISION_FUSED_OPS_H_
#define MAMMOVL_VISION_FUSED_OPS_H_

#include <ATen/ATen.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

#include <cstdint>
#include <utility>

namespace mammovl::vision {

// Zero padding of one 2-D convolution, in pixels per side.
struct Padding2d {
  int64_t top = 0;
  int64_t bottom = 0;
  int64_t left = 0;
  int64_t right = 0;

  bool symmetric() const { return top == bottom && left == right; }
  bool zero() const {
    return top == 0 && bottom == 0 && left == 0 && right == 0;
  }
  bool operator==(const Padding2d& o) const {
    return top == o.top && bottom == o.bottom && left == o.left &&
           right == o.right;
  }
};

// TF "SAME" padding for a convolution with square kernel `kernel`, stride
// `stride` and dilation 1 over an input of `height` × `width`: the output is
// ceil(size / stride) and the total pad is split with the smaller half first.
inline Padding2d SamePadding(int64_t height, int64_t width, int64_t kernel,
                             int64_t stride) {
  auto split = [&](int64_t size, int64_t* before, int64_t* after) {
    const int64_t out = (size + stride - 1) / stride;
    const int64_t total =
        std::max<int64_t>((out - 1) * stride + kernel - size, 0);
    *before = total / 2;
    *after = total - total / 2;
  };
  Padding2d p;
  split(height, &p.top, &p.bottom);
  split(width, &p.left, &p.right);
  return p;
}

// Returns (weight, bias) of a convolution followed by an eval-mode BatchNorm,
// folded into one convolution: w·γ/√(var+ε) and (b − μ)·γ/√(var+ε) + β.
// `conv_bias` may be undefined; `gamma`/`beta` may be undefined (affine off).
inline std::pair<at::Tensor, at::Tensor> FoldBatchNorm(
    const at::Tensor& conv_weight, const at::Tensor& conv_bias,
    const at::Tensor& gamma, const at::Tensor& beta,
    const at::Tensor& running_mean, const at::Tensor& running_var, double eps) {
  at::Tensor scale = (running_var + eps).rsqrt();
  if (gamma.defined()) scale = scale * gamma;
  std::vector<int64_t> view(conv_weight.dim(), 1);
  view[0] = -1;
  at::Tensor weight = conv_weight * scale.view(view);
  at::Tensor bias = conv_bias.defined() ? (conv_bias - running_mean) * scale
                                        : -running_mean * scale;
  if (beta.defined()) bias = bias + beta;
  return {weight, bias};
}

// A square-kernel convolution that pads kernel / 2 on every side (all of
// ResNet's and PlainCnn's) followed by its eval-mode BatchNorm, folded into
// one convolution, optionally followed by an in-place ReLU.
inline at::Tensor FusedConvBn(const at::Tensor& x,
                              const torch::nn::Conv2d& conv,
                              const torch::nn::BatchNorm2d& bn, bool relu) {
  auto [w, b] =
      FoldBatchNorm(conv->weight, conv->bias, bn->weight, bn->bias,
                    bn->running_mean, bn->running_var, bn->options.eps());
  const int64_t kernel = (*conv->options.kernel_size())[0];
  const int64_t stride = (*conv->options.stride())[0];
  at::Tensor y =
      at::conv2d(x, w, b, {stride, stride}, {kernel / 2, kernel / 2});
  return relu ? at::relu_(y) : y;
}

// y = x · wᵀ + b over the last axis of `x` [..., in], computed as a 1×1
// NHWC convolution so that it runs on oneDNN (faster than the generic BLAS
// route of at::linear on CPU). `weight` [out, in], `bias` [out] or undefined.
// Differentiable; the result is contiguous [..., out].
inline at::Tensor ConvLinear(const at::Tensor& x, const at::Tensor& weight,
                             const at::Tensor& bias) {
  const int64_t in = x.size(-1);
  const int64_t out = weight.size(0);
  at::Tensor rows = x.reshape({-1, in});
  if (!rows.is_contiguous()) rows = rows.contiguous();
  const int64_t m = rows.size(0);
  // [m, in] row-major is exactly an NHWC tensor of shape [1, in, m, 1].
  at::Tensor nhwc = rows.view({1, m, 1, in}).permute({0, 3, 1, 2});
  at::Tensor y = at::conv2d(nhwc, weight.view({out, in, 1, 1}), bias);
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = out;
  // The output is NHWC [1, out, m, 1], i.e. [m, out] row-major.
  return y.permute({0, 2, 3, 1}).reshape(shape);
}

}  // namespace mammovl::vision

#endif  // MAMMOVL_VISION_FUSED_OPS_H_
