// GPT-2 decoder with Hugging Face `GPT2Model` parameter names ("wte.weight",
// "h.0.attn.c_attn.weight", "ln_f.bias", ...; Conv1D weights stored
// [in, out] as HF does), BioMedLM's attention scaling options, LoRA adapters
// with peft's names ("h.0.attn.c_attn.lora_A.weight") that can be merged for
// inference, and optional gradient checkpointing. MaMA's text tower.
#ifndef MAMMOVL_TEXT_GPT2_GPT2_H_
#define MAMMOVL_TEXT_GPT2_GPT2_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "text/text_config.pb.h"

namespace mammovl::text {

// HF `Conv1D`: y = x @ weight + bias with weight [in, out]. With LoRA,
// y += dropout(x) @ lora_A.weightᵀ @ lora_B.weightᵀ · alpha / rank
// (lora_A [rank, in], lora_B [out, rank]), unless merged into `weight`.
class Conv1DImpl : public torch::nn::Module {
 public:
  Conv1DImpl(int64_t in, int64_t out);

  at::Tensor forward(const at::Tensor& x);

  // Adds adapters (A: kaiming-uniform, B: zeros, as peft initialises them).
  void EnableLora(int64_t rank, double alpha, double dropout);
  bool has_lora() const { return static_cast<bool>(lora_A_); }
  // Folds alpha/rank · (B A)ᵀ into `weight` (idempotent); `Unmerge` undoes it.
  void Merge();
  void Unmerge();
  bool merged() const { return merged_; }

  at::Tensor weight;
  at::Tensor bias;

 private:
  at::Tensor Delta() const;

  torch::nn::Linear lora_A_{nullptr}, lora_B_{nullptr};
  torch::nn::Dropout lora_dropout_{nullptr};
  double scaling_ = 0;
  bool merged_ = false;
};
TORCH_MODULE(Conv1D);

class Gpt2BlockImpl : public torch::nn::Module {
 public:
  Gpt2BlockImpl(const Gpt2Config& config, int layer_index);
  // `x` [B, S, D]; `additive_mask` [B, 1, S, S] (causal and padding).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& additive_mask);

 private:
  int heads_;
  double score_scale_;
  torch::nn::LayerNorm ln_1_{nullptr}, ln_2_{nullptr};
  Conv1D c_attn_{nullptr}, attn_proj_{nullptr}, c_fc_{nullptr},
      mlp_proj_{nullptr};
  torch::nn::Dropout attn_dropout_{nullptr}, resid_dropout_{nullptr};
};
TORCH_MODULE(Gpt2Block);

class Gpt2ModelImpl : public torch::nn::Module {
 public:
  // Builds the model; with `config.lora` set, adds adapters to the target
  // modules and freezes everything else (TORCH_CHECK fails if no module
  // matches a target).
  explicit Gpt2ModelImpl(const Gpt2Config& config);

  // `input_ids` [B, S] int64, `attention_mask` [B, S] (1 = token, 0 = pad).
  // Returns the final hidden states after `ln_f`, [B, S, n_embd].
  at::Tensor forward(const at::Tensor& input_ids,
                     const at::Tensor& attention_mask);

  // Merges / unmerges every LoRA adapter (for inference).
  void MergeLora();
  void UnmergeLora();
  // Number of Conv1D modules carrying adapters.
  int num_lora_modules() const { return num_lora_modules_; }

  const Gpt2Config& config() const { return config_; }

 private:
  Gpt2Config config_;
  torch::nn::Embedding wte_{nullptr}, wpe_{nullptr};
  torch::nn::Dropout drop_{nullptr};
  torch::nn::ModuleList h_{nullptr};
  torch::nn::LayerNorm ln_f_{nullptr};
  int num_lora_modules_ = 0;
};
TORCH_MODULE(Gpt2Model);

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_GPT2_GPT2_H_
