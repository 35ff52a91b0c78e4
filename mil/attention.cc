#include "mil/attention.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>

#include <cmath>

namespace mammovl::mil {

void XavierUniform3d(torch::Tensor& tensor) {
  const double fan_in = static_cast<double>(tensor.size(1)) * tensor.size(2);
  const double fan_out = static_cast<double>(tensor.size(0)) * tensor.size(2);
  const double bound = std::sqrt(3.0) * std::sqrt(2.0 / (fan_in + fan_out));
  at::NoGradGuard no_grad;
  tensor.uniform_(-bound, bound);
}

AttentionPoolingImpl::AttentionPoolingImpl(int64_t in_dim,
                                           const AttentionPoolingConfig& config)
    : gated_(config.gated()) {
  const int64_t hidden = config.hidden_dim();
  const double p = config.dropout();
  if (gated_) {
    attention_V_ = register_module(
        "attention_V", torch::nn::Sequential(torch::nn::Linear(in_dim, hidden),
                                             torch::nn::Tanh(),
                                             torch::nn::Dropout(p)));
    attention_U_ = register_module(
        "attention_U", torch::nn::Sequential(torch::nn::Linear(in_dim, hidden),
                                             torch::nn::Sigmoid(),
                                             torch::nn::Dropout(p)));
    attention_weights_ =
        register_module("attention_weights", torch::nn::Linear(hidden, 1));
  } else {
    module_ = register_module(
        "module", torch::nn::Sequential(torch::nn::Linear(in_dim, hidden),
                                        torch::nn::Tanh(), torch::nn::Dropout(p),
                                        torch::nn::Linear(hidden, 1)));
  }
}

PooledBag AttentionPoolingImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 3, "attention pooling expects [B, N, D], got ",
              x.sizes());
  torch::Tensor scores;  // [B, N, 1]
  if (gated_) {
    scores = attention_weights_(attention_V_->forward(x) *
                                attention_U_->forward(x));
  } else {
    scores = module_->forward(x);
  }
  torch::Tensor a = at::softmax(scores, /*dim=*/1).squeeze(-1);  // [B, N]
  PooledBag out;
  out.pooled = at::bmm(a.unsqueeze(1), x).squeeze(1);
  out.attention = a;
  return out;
}

MultiheadAttentionBlockImpl::MultiheadAttentionBlockImpl(int64_t dim_q,
                                                         int64_t dim_k,
                                                         int64_t dim_v,
                                                         int64_t num_heads,
                                                         bool layer_norm)
    : dim_v_(dim_v), num_heads_(num_heads) {
  TORCH_CHECK(num_heads > 0 && dim_v % num_heads == 0, "MAB: ", num_heads,
              " heads do not divide width ", dim_v);
  fc_q_ = register_module("fc_q", torch::nn::Linear(dim_q, dim_v));
  fc_k_ = register_module("fc_k", torch::nn::Linear(dim_k, dim_v));
  fc_v_ = register_module("fc_v", torch::nn::Linear(dim_k, dim_v));
  if (layer_norm) {
    ln0_ = register_module(
        "ln0", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim_v})));
    ln1_ = register_module(
        "ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim_v})));
  }
  fc_o_ = register_module("fc_o", torch::nn::Linear(dim_v, dim_v));
}

MabOutput MultiheadAttentionBlockImpl::forward(const torch::Tensor& q_in,
                                               const torch::Tensor& k_in) {
  TORCH_CHECK(q_in.dim() == 3 && k_in.dim() == 3 &&
                  q_in.size(0) == k_in.size(0),
              "MAB expects Q [B, nQ, d] and K [B, nK, d], got ", q_in.sizes(),
              " and ", k_in.sizes());
  const int64_t batch = q_in.size(0);
  const int64_t split = dim_v_ / num_heads_;
  const torch::Tensor q = fc_q_(q_in);
  const torch::Tensor k = fc_k_(k_in);
  const torch::Tensor v = fc_v_(k_in);
  // Heads stacked along the batch: [H·B, n, d_V / H].
  const torch::Tensor q_heads = at::cat(q.split(split, 2), 0);
  const torch::Tensor k_heads = at::cat(k.split(split, 2), 0);
  const torch::Tensor v_heads = at::cat(v.split(split, 2), 0);
  torch::Tensor a = at::softmax(
      at::bmm(q_heads, k_heads.transpose(1, 2)) / std::sqrt(static_cast<double>(dim_v_)),
      /*dim=*/-1);
  torch::Tensor o = at::cat((q_heads + at::bmm(a, v_heads)).split(batch, 0), 2);
  if (ln0_) o = ln0_(o);
  o = o + at::relu(fc_o_(o));
  if (ln1_) o = ln1_(o);
  return {o, a};
}

InducedSetAttentionBlockImpl::InducedSetAttentionBlockImpl(
    int64_t dim_in, int64_t dim_out, int64_t num_inducing, int64_t num_heads,
    bool layer_norm) {
  inducing_ = register_parameter("I", at::empty({1, num_inducing, dim_out}));
  XavierUniform3d(inducing_);
  mab0_ = register_module(
      "mab0", MultiheadAttentionBlock(dim_out, dim_in, dim_out, num_heads,
                                      layer_norm));
  mab1_ = register_module(
      "mab1", MultiheadAttentionBlock(dim_in, dim_out, dim_out, num_heads,
                                      layer_norm));
}

torch::Tensor InducedSetAttentionBlockImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 3, "ISAB expects [B, N, D], got ", x.sizes());
  const torch::Tensor h =
      mab0_(inducing_.expand({x.size(0), -1, -1}), x).output;
  return mab1_(x, h).output;
}

SetAttentionBlockImpl::SetAttentionBlockImpl(int64_t dim_in, int64_t dim_out,
                                             int64_t num_heads,
                                             bool layer_norm) {
  mab_ = register_module("mab", MultiheadAttentionBlock(dim_in, dim_in, dim_out,
                                                        num_heads, layer_norm));
}

torch::Tensor SetAttentionBlockImpl::forward(const torch::Tensor& x) {
  return mab_(x, x).output;
}

PoolingByMultiheadAttentionImpl::PoolingByMultiheadAttentionImpl(
    int64_t dim, const PmaPoolingConfig& config) {
  seed_ = register_parameter("S", at::empty({1, 1, dim}));
  XavierUniform3d(seed_);
  mab_ = register_module(
      "mab", MultiheadAttentionBlock(dim, dim, dim, config.num_heads(),
                                     config.layer_norm()));
}

PooledBag PoolingByMultiheadAttentionImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 3, "PMA expects [B, N, D], got ", x.sizes());
  const int64_t batch = x.size(0);
  MabOutput m = mab_(seed_.expand({batch, -1, -1}), x);
  PooledBag out;
  out.pooled = at::nan_to_num(m.output).squeeze(1);
  // [H·B, 1, N] → [H, B, N] → mean over heads.
  out.attention = m.attention.squeeze(1)
                      .view({mab_->num_heads(), batch, x.size(1)})
                      .mean(0);
  return out;
}

}  // namespace mammovl::mil
