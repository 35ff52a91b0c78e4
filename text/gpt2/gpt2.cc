#include "text/gpt2/gpt2.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/nn/init.h>

#include <cmath>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "text/attention_mask.h"
#include "text/checkpointing.h"
#include "text/module_util.h"

namespace mammovl::text {
namespace {

// HF "gelu_new": the tanh approximation, written as transformers does.
at::Tensor GeluNew(const at::Tensor& x) {
  constexpr double kC = 0.7978845608028654;  // sqrt(2 / pi)
  return 0.5 * x * (1.0 + at::tanh(kC * (x + 0.044715 * at::pow(x, 3.0))));
}

}  // namespace

Conv1DImpl::Conv1DImpl(int64_t in, int64_t out) {
  weight = register_parameter("weight", at::empty({in, out}));
  bias = register_parameter("bias", at::zeros({out}));
  torch::nn::init::normal_(weight, 0.0, 0.02);
}

void Conv1DImpl::EnableLora(int64_t rank, double alpha, double dropout) {
  TORCH_CHECK(rank > 0, "LoRA rank must be > 0, got ", rank);
  TORCH_CHECK(!has_lora(), "LoRA already enabled");
  const int64_t in = weight.size(0), out = weight.size(1);
  lora_A_ = register_module(
      "lora_A",
      torch::nn::Linear(torch::nn::LinearOptions(in, rank).bias(false)));
  lora_B_ = register_module(
      "lora_B",
      torch::nn::Linear(torch::nn::LinearOptions(rank, out).bias(false)));
  lora_A_->weight.set_data(lora_A_->weight.to(weight.options()));
  lora_B_->weight.set_data(at::zeros({out, rank}, weight.options()));
  torch::nn::init::kaiming_uniform_(lora_A_->weight, std::sqrt(5.0));
  lora_dropout_ = register_module("lora_dropout", torch::nn::Dropout(dropout));
  scaling_ = alpha / static_cast<double>(rank);
}

at::Tensor Conv1DImpl::Delta() const {
  // (B A)ᵀ · scaling, in the [in, out] layout of `weight`.
  return at::matmul(lora_B_->weight, lora_A_->weight).t() * scaling_;
}

void Conv1DImpl::Merge() {
  if (!has_lora() || merged_) return;
  at::NoGradGuard no_grad;
  weight.add_(Delta());
  merged_ = true;
}

void Conv1DImpl::Unmerge() {
  if (!has_lora() || !merged_) return;
  at::NoGradGuard no_grad;
  weight.sub_(Delta());
  merged_ = false;
}

at::Tensor Conv1DImpl::forward(const at::Tensor& x) {
  at::Tensor y = at::addmm(bias, x.reshape({-1, x.size(-1)}), weight);
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = weight.size(1);
  y = y.view(shape);
  if (has_lora() && !merged_)
    y = y + lora_B_(lora_A_(lora_dropout_(x))) * scaling_;
  return y;
}

Gpt2BlockImpl::Gpt2BlockImpl(const Gpt2Config& c, int layer_index)
    : heads_(c.n_head()) {
  const int64_t d = c.n_embd();
  const int64_t inner = c.n_inner() > 0 ? c.n_inner() : 4 * d;
  const double eps = c.layer_norm_epsilon();
  ln_1_ = register_module(
      "ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(eps)));
  auto attn = RegisterGroup(this, "attn");
  c_attn_ = attn->register_module("c_attn", Conv1D(d, 3 * d));
  attn_proj_ = attn->register_module("c_proj", Conv1D(d, d));
  ln_2_ = register_module(
      "ln_2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(eps)));
  auto mlp = RegisterGroup(this, "mlp");
  c_fc_ = mlp->register_module("c_fc", Conv1D(d, inner));
  mlp_proj_ = mlp->register_module("c_proj", Conv1D(inner, d));
  attn_dropout_ =
      register_module("attn_dropout", torch::nn::Dropout(c.attn_pdrop()));
  resid_dropout_ =
      register_module("resid_dropout", torch::nn::Dropout(c.resid_pdrop()));
  score_scale_ = 1.0;
  if (c.scale_attn_weights())
    score_scale_ /= std::sqrt(static_cast<double>(d / heads_));
  if (c.scale_attn_by_inverse_layer_idx())
    score_scale_ /= static_cast<double>(layer_index + 1);
}

at::Tensor Gpt2BlockImpl::forward(const at::Tensor& x,
                                  const at::Tensor& additive_mask) {
  const int64_t b = x.size(0), s = x.size(1), d = x.size(2);
  const int64_t hd = d / heads_;
  const std::vector<at::Tensor> qkv = c_attn_(ln_1_(x)).split(d, -1);
  auto heads = [&](const at::Tensor& t) {
    return t.view({b, s, heads_, hd}).transpose(1, 2);
  };
  at::Tensor scores =
      at::matmul(heads(qkv[0]), heads(qkv[1]).transpose(-1, -2)) * score_scale_;
  at::Tensor probs = at::softmax(scores + additive_mask, -1);
  probs = attn_dropout_(probs);
  const at::Tensor context =
      at::matmul(probs, heads(qkv[2])).transpose(1, 2).reshape({b, s, d});
  const at::Tensor h = x + resid_dropout_(attn_proj_(context));
  return h + resid_dropout_(mlp_proj_(GeluNew(c_fc_(ln_2_(h)))));
}

Gpt2ModelImpl::Gpt2ModelImpl(const Gpt2Config& c) : config_(c) {
  TORCH_CHECK(c.n_embd() % c.n_head() == 0, "n_embd ", c.n_embd(),
              " is not a multiple of n_head ", c.n_head());
  const int64_t d = c.n_embd();
  wte_ = register_module(
      "wte",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size(), d)));
  wpe_ = register_module(
      "wpe",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(c.n_positions(), d)));
  torch::nn::init::normal_(wte_->weight, 0.0, 0.02);
  torch::nn::init::normal_(wpe_->weight, 0.0, 0.02);
  drop_ = register_module("drop", torch::nn::Dropout(c.embd_pdrop()));
  h_ = register_module("h", torch::nn::ModuleList());
  for (int i = 0; i < c.n_layer(); ++i) h_->push_back(Gpt2Block(c, i));
  ln_f_ = register_module(
      "ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(
                  c.layer_norm_epsilon())));
  if (c.has_lora()) {
    const LoraConfig& lora = c.lora();
    std::vector<std::string> targets(lora.target_modules().begin(),
                                     lora.target_modules().end());
    if (targets.empty()) targets.push_back("c_attn");
    for (const auto& item : named_modules("", /*include_self=*/false)) {
      auto conv = std::dynamic_pointer_cast<Conv1DImpl>(item.value());
      if (!conv) continue;
      for (const std::string& t : targets) {
        if (item.key() == t || absl::EndsWith(item.key(), "." + t)) {
          conv->EnableLora(lora.rank(), lora.alpha(), lora.dropout());
          ++num_lora_modules_;
          break;
        }
      }
    }
    TORCH_CHECK(num_lora_modules_ > 0,
                "LoRA target modules match no Conv1D of the model");
    for (const auto& p : named_parameters()) {
      p.value().set_requires_grad(absl::StrContains(p.key(), ".lora_"));
    }
  }
}

at::Tensor Gpt2ModelImpl::forward(const at::Tensor& input_ids,
                                  const at::Tensor& attention_mask) {
  TORCH_CHECK(input_ids.dim() == 2, "input_ids must be [B, S], got ",
              input_ids.sizes());
  TORCH_CHECK(attention_mask.sizes() == input_ids.sizes(), "attention_mask ",
              attention_mask.sizes(), " does not match input_ids ",
              input_ids.sizes());
  const int64_t s = input_ids.size(1);
  TORCH_CHECK(s <= config_.n_positions(), "sequence of ", s,
              " tokens exceeds n_positions ", config_.n_positions());
  const at::Tensor ids = input_ids.to(at::kLong);
  at::Tensor x = drop_(wte_(ids) + wpe_(at::arange(s, ids.options())));
  // Causal positions get the lowest finite value, then padded keys get it
  // added (as transformers' eager GPT-2 attention does).
  const double lowest = LowestFinite(x.scalar_type());
  const at::Tensor causal =
      at::ones({s, s}, ids.options().dtype(at::kBool)).tril();
  const at::Tensor causal_add =
      at::zeros({s, s}, x.options()).masked_fill(causal.logical_not(), lowest);
  const at::Tensor pad_add = (1.0 - attention_mask.to(x.scalar_type()))
                                 .mul(lowest)
                                 .unsqueeze(1)
                                 .unsqueeze(2);
  const at::Tensor additive = causal_add.unsqueeze(0).unsqueeze(0) + pad_add;
  const bool checkpoint = config_.gradient_checkpointing() && is_training();
  for (size_t i = 0; i < h_->size(); ++i) {
    auto block = h_->ptr<Gpt2BlockImpl>(i);
    if (checkpoint) {
      x = Checkpointed(
          [block, additive](const at::Tensor& t) {
            return block->forward(t, additive);
          },
          x, AnyRequiresGrad(*block));
    } else {
      x = block->forward(x, additive);
    }
  }
  return ln_f_(x);
}

void Gpt2ModelImpl::MergeLora() {
  for (const auto& m : modules()) {
    if (auto conv = std::dynamic_pointer_cast<Conv1DImpl>(m)) conv->Merge();
  }
}

void Gpt2ModelImpl::UnmergeLora() {
  for (const auto& m : modules()) {
    if (auto conv = std::dynamic_pointer_cast<Conv1DImpl>(m)) conv->Unmerge();
  }
}

}  // namespace mammovl::text
