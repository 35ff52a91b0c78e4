// BERT encoder with Hugging Face `BertModel` parameter names
// ("embeddings.word_embeddings.weight",
// "encoder.layer.0.attention.self.query.weight", "pooler.dense.weight", ...),
// so Bio_ClinicalBERT checkpoints load by name. Used by Mammo-CLIP (12 layers),
// MGCA (first 6 layers, parity switches) and MedSLIP.
#ifndef MAMMOVL_TEXT_BERT_BERT_H_
#define MAMMOVL_TEXT_BERT_BERT_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "text/text_config.pb.h"

namespace mammovl::text {

struct BertOutput {
  // [B, L, hidden] float: the last layer's hidden states.
  at::Tensor last_hidden_state;
  // [B, hidden]: tanh(dense([CLS])) if the pooler is built, else undefined.
  at::Tensor pooler_output;
  // [B, heads, L, L]: the last layer's attention probabilities, only when
  // requested (MGCA's token importance).
  at::Tensor last_attention;
  // num_hidden_layers + 1 tensors [B, L, hidden] (embeddings first), only
  // when requested (MedSLIP pools layers 1, 2 and the last).
  std::vector<at::Tensor> hidden_states;
};

class BertLayerImpl : public torch::nn::Module {
 public:
  explicit BertLayerImpl(const BertConfig& config);
  // `x` [B, L, H]; `additive_mask` [B, 1, 1, L] (0 or a large negative).
  // Writes the attention probabilities to `*attention` if non-null.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& additive_mask,
                     at::Tensor* attention = nullptr);

 private:
  int heads_;
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr};
  torch::nn::Linear attention_out_{nullptr}, intermediate_{nullptr},
      output_{nullptr};
  torch::nn::LayerNorm attention_norm_{nullptr}, output_norm_{nullptr};
  torch::nn::Dropout attention_dropout_{nullptr}, hidden_dropout_{nullptr};
};
TORCH_MODULE(BertLayer);

class BertModelImpl : public torch::nn::Module {
 public:
  explicit BertModelImpl(const BertConfig& config);

  // `input_ids` [B, L] int64, `attention_mask` [B, L] (1 = token, 0 = pad),
  // `token_type_ids` [B, L] int64 or undefined (all zeros). Checks shapes
  // with TORCH_CHECK.
  BertOutput forward(const at::Tensor& input_ids,
                     const at::Tensor& attention_mask,
                     const at::Tensor& token_type_ids = {},
                     bool return_last_attention = false,
                     bool return_hidden_states = false);

  const BertConfig& config() const { return config_; }

 private:
  BertConfig config_;
  torch::nn::Embedding word_embeddings_{nullptr}, position_embeddings_{nullptr},
      token_type_embeddings_{nullptr};
  torch::nn::LayerNorm embeddings_norm_{nullptr};
  torch::nn::Dropout embeddings_dropout_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Linear pooler_{nullptr};
};
TORCH_MODULE(BertModel);

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_BERT_BERT_H_
