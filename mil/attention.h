// The pooling and set-encoding modules of FPN-MIL, with the reference's
// parameter names so its state dicts load by name:
//   AttentionPooling  (gated) attention MIL pooling, Ilse et al. 2018:
//                     `attention_V.0`, `attention_U.0`, `attention_weights`
//                     (gated) or `module.0`, `module.3` (plain)
//   MultiheadAttentionBlock  MAB(Q, K): `fc_q`, `fc_k`, `fc_v`, `fc_o`,
//                     optional `ln0`, `ln1`
//   InducedSetAttentionBlock  ISAB: `I` [1, m, d], `mab0`, `mab1`
//   SetAttentionBlock SAB: `mab`
//   PoolingByMultiheadAttention  PMA with one seed: `S` [1, 1, d], `mab`
// Reference quirks kept for checkpoint and numerical parity (fpn_mil.md §3.4,
// §7.11): scores are scaled by sqrt(d_V), not sqrt(d_V / heads); heads are
// stacked along the batch dimension (row h·B + b); the residual adds the
// projected query; PMA has no feed-forward step before pooling.
//
// Inputs are instance sets [B, N, D] float; outputs documented per module.
// Shapes are checked with TORCH_CHECK (callers wrap calls in core::RunTorch).
#ifndef MAMMOVL_MIL_ATTENTION_H_
#define MAMMOVL_MIL_ATTENTION_H_

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "mil/mil_config.pb.h"

namespace mammovl::mil {

// A bag embedding and the attention that produced it.
struct PooledBag {
  torch::Tensor pooled;     // [B, D]
  torch::Tensor attention;  // [B, N], rows sum to 1 (undefined for mean/max)
};

// (Gated) attention pooling: a = softmax_N(w·(tanh(V z) [⊙ sigmoid(U z)]) + b),
// pooled = Σ a_n z_n. Dropout (config) after tanh and sigmoid in training.
class AttentionPoolingImpl : public torch::nn::Module {
 public:
  AttentionPoolingImpl(int64_t in_dim, const AttentionPoolingConfig& config);
  // x [B, N, in_dim] → pooled [B, in_dim], attention [B, N].
  PooledBag forward(const torch::Tensor& x);

 private:
  bool gated_;
  torch::nn::Sequential attention_V_{nullptr}, attention_U_{nullptr};
  torch::nn::Linear attention_weights_{nullptr};
  torch::nn::Sequential module_{nullptr};  // plain attention
};
TORCH_MODULE(AttentionPooling);

// Output of a MAB: O [B, nQ, d_V] and the attention A [H·B, nQ, nK]
// (head-major: row h·B + b).
struct MabOutput {
  torch::Tensor output;
  torch::Tensor attention;
};

// Multihead attention block MAB(Q, K) of the Set Transformer, as FPN-MIL:
// O = q + softmax(q kᵀ / sqrt(d_V)) v per head, [LN0], O + ReLU(fc_o(O)), [LN1].
class MultiheadAttentionBlockImpl : public torch::nn::Module {
 public:
  MultiheadAttentionBlockImpl(int64_t dim_q, int64_t dim_k, int64_t dim_v,
                              int64_t num_heads, bool layer_norm);
  // q [B, nQ, dim_q], k [B, nK, dim_k].
  MabOutput forward(const torch::Tensor& q, const torch::Tensor& k);

  int64_t dim_v() const { return dim_v_; }
  int64_t num_heads() const { return num_heads_; }

 private:
  int64_t dim_v_, num_heads_;
  torch::nn::Linear fc_q_{nullptr}, fc_k_{nullptr}, fc_v_{nullptr},
      fc_o_{nullptr};
  torch::nn::LayerNorm ln0_{nullptr}, ln1_{nullptr};
};
TORCH_MODULE(MultiheadAttentionBlock);

// ISAB(X) = MAB1(X, MAB0(I, X)) with m learned inducing points I.
class InducedSetAttentionBlockImpl : public torch::nn::Module {
 public:
  InducedSetAttentionBlockImpl(int64_t dim_in, int64_t dim_out,
                               int64_t num_inducing, int64_t num_heads,
                               bool layer_norm);
  // x [B, N, dim_in] → [B, N, dim_out].
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor inducing_;
  MultiheadAttentionBlock mab0_{nullptr}, mab1_{nullptr};
};
TORCH_MODULE(InducedSetAttentionBlock);

// SAB(X) = MAB(X, X).
class SetAttentionBlockImpl : public torch::nn::Module {
 public:
  SetAttentionBlockImpl(int64_t dim_in, int64_t dim_out, int64_t num_heads,
                        bool layer_norm);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  MultiheadAttentionBlock mab_{nullptr};
};
TORCH_MODULE(SetAttentionBlock);

// PMA with one seed S: pooled = nan_to_num(MAB(S, X)). The attention
// returned is the heads' mean (equal to the reference's for one head).
class PoolingByMultiheadAttentionImpl : public torch::nn::Module {
 public:
  PoolingByMultiheadAttentionImpl(int64_t dim, const PmaPoolingConfig& config);
  // x [B, N, dim] → pooled [B, dim], attention [B, N].
  PooledBag forward(const torch::Tensor& x);

 private:
  torch::Tensor seed_;
  MultiheadAttentionBlock mab_{nullptr};
};
TORCH_MODULE(PoolingByMultiheadAttention);

// Xavier-uniform initialisation of a [1, m, d] tensor as PyTorch computes it
// for a 3-D tensor (fan_in = m·d, fan_out = 1·d).
void XavierUniform3d(torch::Tensor& tensor);

}  // namespace mammovl::mil

#endif  // MAMMOVL_MIL_ATTENTION_H_
