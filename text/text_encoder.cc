#include "text/text_encoder.h"

#include <ATen/ATen.h>
#include <glog/logging.h>
#include <torch/nn/init.h>
#include <torch/nn/module.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/state_dict.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "text/bert/bert.h"
#include "text/gpt2/gpt2.h"
#include "text/module_state.h"
#include "text/text_pooling.h"

namespace mammovl::text {
namespace {

// Renames peft adapter keys ("lora_A.default.weight") to ours.
NamedTensors NormalizeNames(NamedTensors state) {
  for (auto& [name, tensor] : state) {
    name = absl::StrReplaceAll(name, {{".lora_A.default.", ".lora_A."},
                                      {".lora_B.default.", ".lora_B."}});
  }
  return state;
}

// The prefix to strip: the configured one, else "bert." / "transformer." /
// "base_model.model.transformer." when some key carries it, else none.
std::string DetectPrefix(const TextEncoderConfig& config,
                         const NamedTensors& state) {
  if (config.has_checkpoint_prefix()) return config.checkpoint_prefix();
  const std::vector<std::string> candidates =
      config.has_bert() ? std::vector<std::string>{"bert."}
                        : std::vector<std::string>{
                              "base_model.model.transformer.", "transformer."};
  for (const std::string& p : candidates) {
    for (const auto& [name, tensor] : state) {
      if (absl::StartsWith(name, p)) return p;
    }
  }
  return "";
}

}  // namespace

absl::Status ValidateTextEncoderConfig(const TextEncoderConfig& config) {
  if (!config.has_tokenizer())
    return absl::InvalidArgumentError("text.tokenizer is not set");
  MVL_RETURN_IF_ERROR(ValidateTokenizerConfig(config.tokenizer()));
  if (config.pooling() == TEXT_POOLING_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "text.pooling is TEXT_POOLING_UNSPECIFIED");
  }
  const int max_length = config.tokenizer().encode().max_length();
  switch (config.model_case()) {
    case TextEncoderConfig::kBert: {
      const BertConfig& b = config.bert();
      if (b.vocab_size() <= 0 || b.hidden_size() <= 0 ||
          b.num_hidden_layers() < 0 || b.num_attention_heads() <= 0 ||
          b.intermediate_size() <= 0 || b.max_position_embeddings() <= 0 ||
          b.type_vocab_size() < 0) {
        return absl::InvalidArgumentError("text.bert: sizes must be positive");
      }
      if (b.hidden_size() % b.num_attention_heads() != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("text.bert.hidden_size ", b.hidden_size(),
                         " is not a multiple of num_attention_heads ",
                         b.num_attention_heads()));
      }
      if (max_length > b.max_position_embeddings()) {
        return absl::InvalidArgumentError(
            absl::StrCat("text.tokenizer.encode.max_length ", max_length,
                         " exceeds text.bert.max_position_embeddings ",
                         b.max_position_embeddings()));
      }
      break;
    }
    case TextEncoderConfig::kGpt2: {
      const Gpt2Config& g = config.gpt2();
      if (g.vocab_size() <= 0 || g.n_embd() <= 0 || g.n_layer() < 0 ||
          g.n_head() <= 0 || g.n_positions() <= 0 || g.n_inner() < 0) {
        return absl::InvalidArgumentError("text.gpt2: sizes must be positive");
      }
      if (g.n_embd() % g.n_head() != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("text.gpt2.n_embd ", g.n_embd(),
                         " is not a multiple of n_head ", g.n_head()));
      }
      if (max_length > g.n_positions()) {
        return absl::InvalidArgumentError(
            absl::StrCat("text.tokenizer.encode.max_length ", max_length,
                         " exceeds text.gpt2.n_positions ", g.n_positions()));
      }
      if (g.has_lora() && g.lora().rank() <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "text.gpt2.lora.rank must be > 0, got ", g.lora().rank()));
      }
      if (g.has_lora() && (g.lora().dropout() < 0 || g.lora().dropout() >= 1)) {
        return absl::InvalidArgumentError(
            "text.gpt2.lora.dropout must be in [0, 1)");
      }
      break;
    }
    case TextEncoderConfig::MODEL_NOT_SET:
      return absl::InvalidArgumentError("text: no model (bert or gpt2) set");
  }
  return absl::OkStatus();
}

absl::StatusOr<TextEncoder> BuildTextEncoder(const TextEncoderConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateTextEncoderConfig(config));
  MVL_ASSIGN_OR_RETURN(Tokenizer tokenizer, BuildTokenizer(config.tokenizer()));
  const int64_t model_vocab = config.has_bert() ? config.bert().vocab_size()
                                                : config.gpt2().vocab_size();
  if (tokenizer.vocab_size() > model_vocab) {
    return absl::InvalidArgumentError(
        absl::StrCat("the tokenizer has ", tokenizer.vocab_size(),
                     " tokens but the model vocab_size is ", model_vocab));
  }
  TextEncoder encoder;
  encoder.config_ = config;
  encoder.tokenizer_ = std::make_shared<const Tokenizer>(std::move(tokenizer));
  std::string embedding_name;
  MVL_RETURN_IF_ERROR(core::RunTorch("building the text model", [&] {
    at::manual_seed(config.init_seed());
    if (config.has_bert()) {
      encoder.module_ = BertModel(config.bert()).ptr();
      embedding_name = "embeddings.word_embeddings.weight";
    } else {
      encoder.module_ = Gpt2Model(config.gpt2()).ptr();
      embedding_name = "wte.weight";
    }
    // Hugging Face's initialisation of embedding rows (also what rows added
    // for new tokens get).
    for (auto& p : encoder.module_->named_parameters()) {
      if (p.key() == embedding_name) {
        at::NoGradGuard no_grad;
        torch::nn::init::normal_(p.value(), 0.0, 0.02);
      }
    }
  }));
  if (!config.checkpoint().empty()) {
    MVL_ASSIGN_OR_RETURN(core::StateDict raw,
                         core::LoadStateDict(config.checkpoint()));
    NamedTensors state = NormalizeNames(std::move(raw));
    const std::string prefix = DetectPrefix(config, state);
    if (!prefix.empty()) state = StripPrefix(state, prefix);
    ModuleLoadOptions options;
    options.optional_substrings = {".lora_"};
    options.growable_rows = {embedding_name};
    absl::StatusOr<ModuleLoadReport> report =
        LoadModuleState(*encoder.module_, state, options);
    if (!report.ok()) {
      return absl::Status(
          report.status().code(),
          absl::StrCat(config.checkpoint(), ": ", report.status().message()));
    }
    LOG(INFO) << "text encoder: loaded " << report->loaded << " tensors from "
              << config.checkpoint()
              << (prefix.empty() ? "" : " (prefix " + prefix + ")")
              << ", ignored " << report->unexpected.size()
              << " checkpoint entries";
    for (const auto& [name, rows] : report->grown) {
      LOG(INFO) << "text encoder: " << name << " grew by " << rows
                << " rows for added tokens";
    }
  }
  if (config.freeze()) {
    for (auto& p : encoder.module_->named_parameters()) {
      if (!absl::StrContains(p.key(), ".lora_"))
        p.value().set_requires_grad(false);
    }
  }
  return encoder;
}

int64_t TextEncoder::hidden_size() const {
  return config_.has_bert() ? config_.bert().hidden_size()
                            : config_.gpt2().n_embd();
}

absl::StatusOr<TextEncoderOutput> TextEncoder::Encode(
    absl::Span<const std::string> texts) const {
  EncodeOptions options = config_.tokenizer().encode();
  if (options.padding() == EncodeOptions::NO_PADDING) {
    options.set_padding(EncodeOptions::PAD_TO_LONGEST);
  }
  MVL_ASSIGN_OR_RETURN(std::vector<Encoding> encodings,
                       tokenizer_->EncodeBatch(texts, options));
  const int64_t b = static_cast<int64_t>(encodings.size());
  const int64_t l = b == 0 ? 0 : static_cast<int64_t>(encodings[0].size());
  std::vector<int64_t> ids(b * l), mask(b * l);
  for (int64_t r = 0; r < b; ++r) {
    for (int64_t t = 0; t < l; ++t) {
      ids[r * l + t] = encodings[r].ids[t];
      mask[r * l + t] = encodings[r].attention_mask[t];
    }
  }
  return Forward(at::tensor(ids, at::kLong).view({b, l}),
                 at::tensor(mask, at::kLong).view({b, l}));
}

absl::StatusOr<TextEncoderOutput> TextEncoder::Forward(
    const at::Tensor& input_ids, const at::Tensor& attention_mask) const {
  return core::RunTorch("text encoder forward", [&] {
    at::Device device = at::kCPU;
    for (const auto& p : module_->parameters()) {
      device = p.device();
      break;
    }
    TextEncoderOutput out;
    out.input_ids = input_ids.to(device);
    out.attention_mask = attention_mask.to(device);
    const TextPooling pooling = config_.pooling();
    if (config_.trim_padding() && pooling != POOL_FIRST_PAD &&
        pooling != POOL_MEAN_ALL_POSITIONS && out.input_ids.size(1) > 0) {
      const int64_t longest = out.attention_mask.sum(1).max().item<int64_t>();
      // Right padding only: every row's tokens must lie in the first
      // `longest` columns.
      if (out.attention_mask
              .narrow(1, longest, out.attention_mask.size(1) - longest)
              .sum()
              .item<int64_t>() == 0) {
        out.input_ids =
            out.input_ids.narrow(1, 0, std::max<int64_t>(longest, 1));
        out.attention_mask =
            out.attention_mask.narrow(1, 0, std::max<int64_t>(longest, 1));
      }
    }
    if (config_.has_bert()) {
      auto* bert = dynamic_cast<BertModelImpl*>(module_.get());
      out.hidden =
          bert->forward(out.input_ids, out.attention_mask).last_hidden_state;
    } else {
      auto* gpt2 = dynamic_cast<Gpt2ModelImpl*>(module_.get());
      out.hidden = gpt2->forward(out.input_ids, out.attention_mask);
    }
    out.pooled = PoolText(out.hidden, out.attention_mask, config_.pooling());
    return out;
  });
}

}  // namespace mammovl::text
