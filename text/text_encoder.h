// The text tower of every recipe, built from a `TextEncoderConfig`: a
// tokenizer, BERT or GPT-2 (+ LoRA) with Hugging Face weights loaded through
// core/state_dict, and a pooling. Texts in, hidden states and pooled
// features out.
//
//   MVL_ASSIGN_OR_RETURN(TextEncoder encoder, BuildTextEncoder(config));
//   MVL_ASSIGN_OR_RETURN(TextEncoderOutput out, encoder.Encode({"no mass",
//   "mass"}));
//   // out.pooled: [2, hidden]
#ifndef MAMMOVL_TEXT_TEXT_ENCODER_H_
#define MAMMOVL_TEXT_TEXT_ENCODER_H_

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "text/text_config.pb.h"
#include "text/tokenizer/tokenizer.h"

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace mammovl::text {

struct TextEncoderOutput {
  // [B, L] int64 and [B, L] int64 (1 = token). L is the padded length, or the
  // longest text of the batch with `trim_padding`.
  at::Tensor input_ids;
  at::Tensor attention_mask;
  // [B, L, hidden]: last hidden states (after ln_f for GPT-2).
  at::Tensor hidden;
  // [B, hidden]: pooled as the config says.
  at::Tensor pooled;
};

class TextEncoder {
 public:
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const TextEncoderConfig& config() const { return config_; }
  // The model (a BertModel or Gpt2Model module): parameters, train()/eval(),
  // to(device).
  torch::nn::Module& module() const { return *module_; }
  int64_t hidden_size() const;

  // Tokenizes `texts` with the config's encode options (padded at least to
  // the longest text) and runs the model on the module's device. Errors:
  // those of `Tokenizer::EncodeBatch`; torch errors as Status.
  absl::StatusOr<TextEncoderOutput> Encode(
      absl::Span<const std::string> texts) const;

  // Runs the model on already tokenised input ([B, L] ids and mask).
  absl::StatusOr<TextEncoderOutput> Forward(
      const at::Tensor& input_ids, const at::Tensor& attention_mask) const;

 private:
  friend absl::StatusOr<TextEncoder> BuildTextEncoder(
      const TextEncoderConfig& config);
  TextEncoder() = default;

  TextEncoderConfig config_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::shared_ptr<torch::nn::Module> module_;
};

// Checks `config` without reading files. InvalidArgument naming the field.
absl::Status ValidateTextEncoderConfig(const TextEncoderConfig& config);

// Builds the tokenizer and the model, loads `checkpoint` (growing the token
// embedding for tokens the tokenizer added, with N(0, 0.02) rows as Hugging
// Face's resize does), applies `freeze`. Errors: validation; tokenizer
// loading; NotFound/InvalidArgument from core/state_dict; InvalidArgument
// for missing or mis-shaped tensors, or a tokenizer with more tokens than the
// model's vocabulary.
absl::StatusOr<TextEncoder> BuildTextEncoder(const TextEncoderConfig& config);

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_TEXT_ENCODER_H_
