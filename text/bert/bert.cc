#include "text/bert/bert.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/nn/functional/activation.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "text/attention_mask.h"
#include "text/checkpointing.h"
#include "text/module_util.h"

namespace mammovl::text {
namespace {

torch::nn::Linear MakeLinear(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out));
}

torch::nn::LayerNorm MakeNorm(int64_t dim, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
}

}  // namespace

BertLayerImpl::BertLayerImpl(const BertConfig& c)
    : heads_(c.num_attention_heads()) {
  const int64_t h = c.hidden_size();
  auto attention = RegisterGroup(this, "attention");
  auto self = RegisterGroup(attention.get(), "self");
  query_ = self->register_module("query", MakeLinear(h, h));
  key_ = self->register_module("key", MakeLinear(h, h));
  value_ = self->register_module("value", MakeLinear(h, h));
  auto attention_output = RegisterGroup(attention.get(), "output");
  attention_out_ = attention_output->register_module("dense", MakeLinear(h, h));
  attention_norm_ = attention_output->register_module(
      "LayerNorm", MakeNorm(h, c.layer_norm_eps()));
  auto intermediate = RegisterGroup(this, "intermediate");
  intermediate_ = intermediate->register_module(
      "dense", MakeLinear(h, c.intermediate_size()));
  auto output = RegisterGroup(this, "output");
  output_ =
      output->register_module("dense", MakeLinear(c.intermediate_size(), h));
  output_norm_ =
      output->register_module("LayerNorm", MakeNorm(h, c.layer_norm_eps()));
  attention_dropout_ =
      register_module("attention_dropout",
                      torch::nn::Dropout(c.attention_probs_dropout_prob()));
  hidden_dropout_ = register_module(
      "hidden_dropout", torch::nn::Dropout(c.hidden_dropout_prob()));
}

at::Tensor BertLayerImpl::forward(const at::Tensor& x,
                                  const at::Tensor& additive_mask,
                                  at::Tensor* attention) {
  const int64_t b = x.size(0), l = x.size(1), h = x.size(2);
  const int64_t d = h / heads_;
  auto split = [&](const at::Tensor& t) {
    return t.view({b, l, heads_, d}).transpose(1, 2);
  };
  const at::Tensor q = split(query_(x));
  const at::Tensor k = split(key_(x));
  const at::Tensor v = split(value_(x));
  at::Tensor scores =
      at::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(d));
  scores = scores + additive_mask;
  at::Tensor probs = at::softmax(scores, -1);
  if (attention != nullptr) *attention = probs;
  probs = attention_dropout_(probs);
  const at::Tensor context =
      at::matmul(probs, v).transpose(1, 2).reshape({b, l, h});
  const at::Tensor attended =
      attention_norm_(hidden_dropout_(attention_out_(context)) + x);
  const at::Tensor inner = torch::nn::functional::gelu(intermediate_(attended));
  return output_norm_(hidden_dropout_(output_(inner)) + attended);
}

BertModelImpl::BertModelImpl(const BertConfig& c) : config_(c) {
  TORCH_CHECK(c.hidden_size() % c.num_attention_heads() == 0, "hidden_size ",
              c.hidden_size(), " is not a multiple of num_attention_heads ",
              c.num_attention_heads());
  const int64_t h = c.hidden_size();
  auto embeddings = RegisterGroup(this, "embeddings");
  word_embeddings_ = embeddings->register_module(
      "word_embeddings",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size(), h)));
  position_embeddings_ = embeddings->register_module(
      "position_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(
                                 c.max_position_embeddings(), h)));
  if (c.type_vocab_size() > 0) {
    token_type_embeddings_ = embeddings->register_module(
        "token_type_embeddings",
        torch::nn::Embedding(
            torch::nn::EmbeddingOptions(c.type_vocab_size(), h)));
  }
  embeddings_norm_ =
      embeddings->register_module("LayerNorm", MakeNorm(h, c.layer_norm_eps()));
  embeddings_dropout_ = register_module(
      "embeddings_dropout", torch::nn::Dropout(c.hidden_dropout_prob()));
  auto encoder = RegisterGroup(this, "encoder");
  layers_ = encoder->register_module("layer", torch::nn::ModuleList());
  for (int i = 0; i < c.num_hidden_layers(); ++i)
    layers_->push_back(BertLayer(c));
  if (c.add_pooler()) {
    auto pooler = RegisterGroup(this, "pooler");
    pooler_ = pooler->register_module("dense", MakeLinear(h, h));
  }
}

BertOutput BertModelImpl::forward(const at::Tensor& input_ids,
                                  const at::Tensor& attention_mask,
                                  const at::Tensor& token_type_ids,
                                  bool return_last_attention,
                                  bool return_hidden_states) {
  TORCH_CHECK(input_ids.dim() == 2, "input_ids must be [B, L], got ",
              input_ids.sizes());
  TORCH_CHECK(attention_mask.sizes() == input_ids.sizes(), "attention_mask ",
              attention_mask.sizes(), " does not match input_ids ",
              input_ids.sizes());
  const int64_t l = input_ids.size(1);
  TORCH_CHECK(l <= config_.max_position_embeddings(), "sequence of ", l,
              " tokens exceeds max_position_embeddings ",
              config_.max_position_embeddings());
  const at::Tensor ids = input_ids.to(at::kLong);
  at::Tensor x = word_embeddings_(ids);
  if (config_.zero_position_ids()) {
    // MGCA: position embedding 0 everywhere, no token-type embedding.
    x = x + position_embeddings_->weight[0];
  } else {
    x = x + position_embeddings_(at::arange(l, ids.options()));
    if (token_type_embeddings_) {
      x = x + (token_type_ids.defined()
                   ? token_type_embeddings_(token_type_ids.to(at::kLong))
                   : token_type_embeddings_->weight[0]);
    }
  }
  x = embeddings_dropout_(embeddings_norm_(x));

  const at::Tensor mask =
      attention_mask.to(x.scalar_type()).unsqueeze(1).unsqueeze(2);
  const at::Tensor additive = (1.0 - mask) * LowestFinite(x.scalar_type());
  BertOutput out;
  if (return_hidden_states) out.hidden_states.push_back(x);
  const bool checkpoint = config_.gradient_checkpointing() && is_training();
  for (size_t i = 0; i < layers_->size(); ++i) {
    auto layer = layers_->ptr<BertLayerImpl>(i);
    const bool last = i + 1 == layers_->size();
    if (last && return_last_attention) {
      x = layer->forward(x, additive, &out.last_attention);
    } else if (checkpoint) {
      x = Checkpointed(
          [layer, additive](const at::Tensor& t) {
            return layer->forward(t, additive);
          },
          x, AnyRequiresGrad(*layer));
    } else {
      x = layer->forward(x, additive);
    }
    if (return_hidden_states) out.hidden_states.push_back(x);
  }
  out.last_hidden_state = x;
  if (pooler_) out.pooler_output = at::tanh(pooler_(x.select(1, 0)));
  return out;
}

}  // namespace mammovl::text
