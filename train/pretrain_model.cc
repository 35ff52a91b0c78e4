#include "train/pretrain_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_io.h"
#include "core/state_dict.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "losses/loss_builder.h"
#include "text/bert/bert.h"
#include "text/bert/word_aggregation.h"
#include "text/report/captions.h"
#include "text/text_encoder.h"
#include "text/text_pooling.h"
#include "vision/heads.h"
#include "vision/image_encoder.h"

namespace mammovl::train {
namespace {

// The SimCLR MLP (see SslHeadConfig).
class SslHeadImpl : public torch::nn::Module {
 public:
  SslHeadImpl(const SslHeadConfig& config, int64_t input_dim) {
    layers_ = register_module("layers", torch::nn::ModuleList());
    int64_t width = input_dim;
    for (const int32_t hidden : config.hidden_dims()) {
      layers_->push_back(torch::nn::Sequential(
          {{"linear", torch::nn::Linear(torch::nn::LinearOptions(width, hidden)
                                            .bias(config.bias()))},
           {"bn", torch::nn::BatchNorm1d(hidden)},
           {"relu", torch::nn::ReLU()}}));
      width = hidden;
    }
    out_ = register_module(
        "out", torch::nn::Linear(
                   torch::nn::LinearOptions(width, config.output_dim())
                       .bias(config.bias() || !config.final_batch_norm())));
    if (config.final_batch_norm()) {
      out_bn_ = register_module("out_bn",
                                torch::nn::BatchNorm1d(config.output_dim()));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    for (const auto& layer : *layers_) {
      x = layer->as<torch::nn::Sequential>()->forward(x);
    }
    x = out_->forward(x);
    if (out_bn_) x = out_bn_->forward(x);
    return x;
  }

 private:
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Linear out_{nullptr};
  torch::nn::BatchNorm1d out_bn_{nullptr};
};
TORCH_MODULE(SslHead);

// Which tower outputs a loss reads.
struct LossNeeds {
  bool text = true;         // text embedding
  bool image_view = false;  // a second image embedding
  bool text_view = false;   // a second text embedding
  bool local = false;       // image and text local embeddings
  bool ssl = false;         // SimCLR projections of two views
  bool image_local_weights = false;
  bool text_local_weights = false;
  // Step from which `local`, `ssl` and (with `image_view_late`) the second
  // image are needed (MaMA's gate); 0 = always.
  int64_t late_step = 0;
  bool image_view_late = false;
};

absl::StatusOr<LossNeeds> NeedsOf(const losses::LossConfig& loss) {
  LossNeeds n;
  switch (loss.loss_case()) {
    case losses::LossConfig::kClip:
      return n;
    case losses::LossConfig::kMammoClip:
      n.image_view = n.text_view = true;
      return n;
    case losses::LossConfig::kSimclr:
      n.text = false;
      n.ssl = true;
      return n;
    case losses::LossConfig::kSlip:
      n.ssl = true;
      return n;
    case losses::LossConfig::kSla:
      n.text = false;
      n.local = true;
      return n;
    case losses::LossConfig::kMama:
      // The partner image enters only the gated terms.
      n.image_view = loss.mama().partner_clip_weight() > 0 ||
                     loss.mama().multiview_weight() > 0;
      n.image_view_late = true;
      n.local = loss.mama().sla_weight() > 0;
      n.ssl = loss.mama().multiview_weight() > 0;
      n.late_step = loss.mama().late_loss_step();
      return n;
    case losses::LossConfig::kMgca:
      n.local = true;
      n.text_local_weights = true;
      n.image_local_weights = true;
      return n;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "loss: '", losses::LossConfig::descriptor()
                         ->FindFieldByNumber(loss.loss_case())
                         ->name(),
          "' is not a pretraining loss"));
  }
}

at::Tensor Normalize(const at::Tensor& x) {
  return torch::nn::functional::normalize(
      x, torch::nn::functional::NormalizeFuncOptions().dim(-1).eps(1e-12));
}

void AppendNamed(const std::string& prefix,
                 const torch::OrderedDict<std::string, torch::Tensor>& from,
                 NamedTensors* to) {
  for (const auto& item : from) {
    to->emplace_back(prefix + item.key(), item.value());
  }
}

// Converts a sample's EMBED fields into caption fields (text/report).
text::EmbedCaptionFields CaptionFields(const data::Sample& s) {
  const data::ClinicalInfo& c = *s.clinical;
  text::EmbedCaptionFields f;
  if (!c.study_description.empty()) f.study_description = c.study_description;
  if (!c.race.empty()) f.race = c.race;
  if (!c.ethnicity.empty()) f.ethnicity = c.ethnicity;
  if (c.age > 0) f.age = c.age;
  f.laterality = s.laterality;
  f.view_position = c.view;
  if (c.density > 0) f.density = c.density;
  f.birads = c.birads_letter;
  if (!c.mass_shape.empty()) f.mass_shape = c.mass_shape;
  if (!c.mass_density.empty()) f.mass_density = c.mass_density;
  if (!c.calc_find.empty()) f.calc_finding = c.calc_find;
  if (!c.calc_distribution.empty()) f.calc_distribution = c.calc_distribution;
  return f;
}

}  // namespace

struct PretrainModel::Impl {
  PretrainModelConfig config;
  LossNeeds needs;
  vision::ImageEncoder image_encoder{nullptr};
  std::unique_ptr<text::TextEncoder> text_encoder;
  vision::ProjectionHead text_projection{nullptr};
  vision::LocalProjectionHead text_local_projection{nullptr};
  SslHead ssl_head{nullptr};
  std::unique_ptr<losses::Loss> loss;
  int64_t separator_id = -1;
  std::vector<bool> is_continuation;  // WORDS: per vocabulary id
  int64_t sep_id = -1;                // WORDS: [SEP]
  int64_t embedding_dim = 0;

  // Tokenizes `texts` as the text config says ([B, L] ids and mask, padding
  // beyond the longest text dropped unless the pooling reads it).
  absl::StatusOr<std::pair<at::Tensor, at::Tensor>> Tokenize(
      absl::Span<const std::string> texts) const {
    text::EncodeOptions options = text_encoder->config().tokenizer().encode();
    if (options.padding() == text::EncodeOptions::NO_PADDING) {
      options.set_padding(text::EncodeOptions::PAD_TO_LONGEST);
    }
    MVL_ASSIGN_OR_RETURN(std::vector<text::Encoding> enc,
                         text_encoder->tokenizer().EncodeBatch(texts, options));
    const int64_t b = static_cast<int64_t>(enc.size());
    const int64_t l = b == 0 ? 0 : static_cast<int64_t>(enc[0].size());
    at::Tensor ids = at::empty({b, l}, at::kLong);
    at::Tensor mask = at::empty({b, l}, at::kLong);
    auto pi = ids.accessor<int64_t, 2>();
    auto pm = mask.accessor<int64_t, 2>();
    for (int64_t r = 0; r < b; ++r) {
      for (int64_t t = 0; t < l; ++t) {
        pi[r][t] = enc[r].ids[t];
        pm[r][t] = enc[r].attention_mask[t];
      }
    }
    return std::make_pair(ids, mask);
  }
};

PretrainModel::PretrainModel(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
PretrainModel::~PretrainModel() = default;

const PretrainModelConfig& PretrainModel::config() const {
  return impl_->config;
}
int64_t PretrainModel::embedding_dim() const { return impl_->embedding_dim; }
losses::Loss& PretrainModel::loss() { return *impl_->loss; }

NamedTensors PretrainModel::Parameters() const {
  NamedTensors out;
  AppendNamed("image_encoder.", impl_->image_encoder->named_parameters(),
              &out);
  if (impl_->text_encoder) {
    AppendNamed("text_encoder.",
                impl_->text_encoder->module().named_parameters(), &out);
  }
  if (impl_->text_projection) {
    AppendNamed("text_projection.",
                impl_->text_projection->named_parameters(), &out);
  }
  if (impl_->text_local_projection) {
    AppendNamed("text_local_projection.",
                impl_->text_local_projection->named_parameters(), &out);
  }
  if (impl_->ssl_head) {
    AppendNamed("ssl_head.", impl_->ssl_head->named_parameters(), &out);
  }
  for (const auto& [name, t] : impl_->loss->parameters()) {
    out.emplace_back(name, t);
  }
  return out;
}

NamedTensors PretrainModel::Buffers() const {
  NamedTensors out;
  AppendNamed("image_encoder.", impl_->image_encoder->named_buffers(), &out);
  if (impl_->text_encoder) {
    AppendNamed("text_encoder.", impl_->text_encoder->module().named_buffers(),
                &out);
  }
  if (impl_->text_projection) {
    AppendNamed("text_projection.", impl_->text_projection->named_buffers(),
                &out);
  }
  if (impl_->text_local_projection) {
    AppendNamed("text_local_projection.",
                impl_->text_local_projection->named_buffers(), &out);
  }
  if (impl_->ssl_head) {
    AppendNamed("ssl_head.", impl_->ssl_head->named_buffers(), &out);
  }
  return out;
}

void PretrainModel::SetTraining(bool training) {
  impl_->image_encoder->train(training);
  if (impl_->text_encoder) impl_->text_encoder->module().train(training);
  if (impl_->text_projection) impl_->text_projection->train(training);
  if (impl_->text_local_projection) {
    impl_->text_local_projection->train(training);
  }
  if (impl_->ssl_head) impl_->ssl_head->train(training);
}

absl::StatusOr<ImageFeatures> PretrainModel::ImageForward(
    const at::Tensor& images, bool with_local, bool with_ssl) {
  if (!images.defined() || images.dim() != 4 ||
      (images.size(1) != 1 && images.size(1) != 3)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "images must be [B, 1 or 3, H, W], got ",
        images.defined() ? c10::str(images.sizes()) : "undefined"));
  }
  return core::RunTorch("image tower", [&] {
    at::Tensor x = images.size(1) == 1 ? images.expand({-1, 3, -1, -1})
                                       : images;
    vision::EncoderOutput out = impl_->image_encoder->forward(x);
    ImageFeatures f;
    f.pooled = out.features.pooled;
    f.embedding = Normalize(out.embedding);
    if (with_local) {
      TORCH_CHECK(out.local_embedding.defined(),
                  "the image tower has no local projection head");
      f.local = out.local_embedding;
      const at::Tensor& attention = out.features.last_attention;
      if (attention.defined()) {
        // [CLS] query row, patch key columns, mean over heads.
        const int64_t patches = f.local.size(1);
        const int64_t tokens = attention.size(-1);
        f.local_weights = attention.select(2, 0)
                              .narrow(-1, tokens - patches, patches)
                              .mean(1);
      }
    }
    if (with_ssl) {
      TORCH_CHECK(impl_->ssl_head, "the model has no ssl_head");
      f.ssl = impl_->ssl_head->forward(
          impl_->config.ssl_head().input() == SslHeadConfig::IMAGE_EMBEDDING
              ? out.embedding
              : out.features.pooled);
    }
    return f;
  });
}

absl::StatusOr<TextFeatures> PretrainModel::TextForward(
    absl::Span<const std::string> texts, bool with_local) {
  if (!impl_->text_encoder) {
    return absl::FailedPreconditionError("the model has no text tower");
  }
  MVL_ASSIGN_OR_RETURN(auto tokens, impl_->Tokenize(texts));
  const TextLocalConfig& local = impl_->config.text_local();
  const bool words = with_local && local.source() == TextLocalConfig::WORDS;
  at::Tensor hidden, attention, ids = tokens.first, mask = tokens.second;
  at::Tensor pooled;
  if (words) {
    MVL_RETURN_IF_ERROR(core::RunTorch("text tower", [&] {
      auto* bert = dynamic_cast<text::BertModelImpl*>(
          &impl_->text_encoder->module());
      TORCH_CHECK(bert != nullptr, "text_local WORDS needs a BERT text tower");
      const int64_t longest =
          std::max<int64_t>(mask.sum(1).max().item<int64_t>(), 1);
      ids = ids.narrow(1, 0, longest);
      mask = mask.narrow(1, 0, longest);
      text::BertOutput out = bert->forward(ids, mask, {},
                                           /*return_last_attention=*/true);
      hidden = out.last_hidden_state;
      attention = out.last_attention;
      pooled = text::PoolText(hidden, mask,
                              impl_->text_encoder->config().pooling());
    }));
  } else {
    MVL_ASSIGN_OR_RETURN(text::TextEncoderOutput out,
                         impl_->text_encoder->Forward(ids, mask));
    hidden = out.hidden;
    ids = out.input_ids;
    pooled = out.pooled;
  }
  return core::RunTorch("text heads", [&] {
    TextFeatures f;
    at::Tensor e = impl_->text_projection
                       ? impl_->text_projection->forward(pooled)
                       : pooled;
    f.embedding = Normalize(e);
    if (!with_local) return f;
    TORCH_CHECK(impl_->text_local_projection,
                "the model has no text_local.projection head");
    if (words) {
      // [CLS] → token attention averaged over heads is the importance.
      const at::Tensor importance = attention.select(2, 0).mean(1);
      const text::WordGroups groups = text::GroupWordPieces(
          ids.cpu(), impl_->is_continuation, impl_->sep_id,
          /*reference_quirks=*/false);
      text::AggregatedWords agg =
          text::AggregateWordPieces(hidden, groups, importance);
      // Slot 0 is [CLS]; the words are slots 1.. (the [SEP] slot included,
      // as the reference).
      const int64_t slots = agg.embeddings.size(1);
      at::Tensor emb = agg.embeddings.narrow(1, 1, slots - 1);
      at::Tensor present = agg.mask.narrow(1, 1, slots - 1);
      f.local = impl_->text_local_projection->forward(emb);
      f.local_padding = present.logical_not();
      f.local_weights =
          agg.importance.narrow(1, 1, slots - 1) * present.to(at::kFloat);
      return f;
    }
    // SENTENCES: states at the separator tokens; the head runs on the real
    // sentences of the whole batch only (no padding in its statistics).
    std::vector<at::Tensor> states =
        text::GatherTokenStates(hidden, ids, impl_->separator_id);
    const int64_t b = static_cast<int64_t>(states.size());
    int64_t most = 1;
    std::vector<int64_t> counts;
    for (const auto& s : states) {
      counts.push_back(s.size(0));
      most = std::max(most, s.size(0));
    }
    at::Tensor all = at::cat(states, 0);
    TORCH_CHECK(all.size(0) > 0, "no text has a '", local.separator_token(),
                "' sentence separator");
    at::Tensor projected =
        impl_->text_local_projection->forward(all.unsqueeze(0)).squeeze(0);
    const int64_t c = projected.size(-1);
    std::vector<at::Tensor> rows;
    at::Tensor padding = at::ones({b, most}, at::kBool);
    int64_t offset = 0;
    for (int64_t i = 0; i < b; ++i) {
      at::Tensor row = projected.narrow(0, offset, counts[i]);
      offset += counts[i];
      padding[i].narrow(0, 0, counts[i]).fill_(false);
      rows.push_back(at::cat(
          {row, at::zeros({most - counts[i], c}, projected.options())}, 0));
    }
    f.local = at::stack(rows, 0);
    f.local_padding = padding.to(f.local.device());
    return f;
  });
}

absl::StatusOr<at::Tensor> PretrainModel::EncodeImages(
    const at::Tensor& images) {
  MVL_ASSIGN_OR_RETURN(ImageFeatures f, ImageForward(images, false, false));
  return f.embedding;
}

absl::StatusOr<at::Tensor> PretrainModel::EncodeTexts(
    absl::Span<const std::string> texts) {
  MVL_ASSIGN_OR_RETURN(TextFeatures f, TextForward(texts, false));
  return f.embedding;
}

absl::StatusOr<losses::LossOutput> PretrainModel::ComputeLoss(
    const data::Batch& batch, const losses::LossContext& context,
    const std::vector<data::Sample>* samples, uint64_t seed) {
  const LossNeeds& n = impl_->needs;
  const bool late = context.global_step >= n.late_step;
  const bool local = n.local && late;
  const bool ssl = n.ssl && late;
  const bool image_view = n.image_view && (late || !n.image_view_late);
  const bool slip = impl_->loss->name() == "slip" ||
                    impl_->loss->name() == "simclr";
  const size_t images_needed = slip ? 2 : (image_view ? 2 : 1);
  if (batch.images.size() < images_needed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "loss '", impl_->loss->name(), "' needs ", images_needed,
        " image slots per batch, the data pipeline gives ",
        batch.images.size(), " (check data.pairing and data.transforms)"));
  }
  losses::LossInputs in;
  if (slip) {
    // SLIP: slot 0 is the CLIP view; the SimCLR views are slots 1 and 2, or
    // slots 0 and 1 when the pipeline makes only two.
    const bool three = batch.images.size() >= 3;
    if (n.text) {
      MVL_ASSIGN_OR_RETURN(ImageFeatures clip,
                           ImageForward(batch.images[0], false, false));
      in.image = clip.embedding;
    }
    MVL_ASSIGN_OR_RETURN(ImageFeatures a,
                         ImageForward(batch.images[three ? 1 : 0], false, true));
    MVL_ASSIGN_OR_RETURN(ImageFeatures b,
                         ImageForward(batch.images[three ? 2 : 1], false, true));
    in.image_ssl = a.ssl;
    in.image_view_ssl = b.ssl;
  } else {
    MVL_ASSIGN_OR_RETURN(ImageFeatures first,
                         ImageForward(batch.images[0], local, ssl));
    in.image = first.embedding;
    in.image_local = first.local;
    if (n.image_local_weights) in.image_local_weights = first.local_weights;
    if (image_view) {
      MVL_ASSIGN_OR_RETURN(ImageFeatures second,
                           ImageForward(batch.images[1], false, ssl));
      in.image_view = second.embedding;
      // MaMA: z = proj(partner), z' = proj(primary).
      in.image_ssl = second.ssl;
      in.image_view_ssl = first.ssl;
    }
  }
  if (n.text || local) {
    std::vector<std::vector<std::string>> texts = batch.texts;
    if (impl_->config.caption().source() == CaptionConfig::MAMA_CAPTION) {
      if (samples == nullptr) {
        return absl::FailedPreconditionError(
            "model.caption MAMA_CAPTION needs the dataset's samples");
      }
      std::vector<std::string> captions;
      for (const int64_t index : batch.sample_indices) {
        const data::Sample& s = samples->at(index);
        if (!s.clinical.has_value()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "model.caption MAMA_CAPTION: sample '", s.id,
              "' has no EMBED clinical fields"));
        }
        std::seed_seq seq{seed, static_cast<uint64_t>(context.global_step),
                          static_cast<uint64_t>(index)};
        std::mt19937_64 rng(seq);
        const text::MetaMask mask = text::SampleMetaMask(
            context.training ? impl_->config.caption().meta_mask_probability()
                             : 0.0,
            rng);
        MVL_ASSIGN_OR_RETURN(std::string caption,
                             text::BuildMamaCaption(CaptionFields(s), mask));
        captions.push_back(text::MamaModelText(caption));
      }
      texts = {std::move(captions)};
    }
    const size_t texts_needed = n.text_view ? 2 : 1;
    if (texts.size() < texts_needed) {
      return absl::FailedPreconditionError(absl::StrCat(
          "loss '", impl_->loss->name(), "' needs ", texts_needed,
          " text slots per batch, the data pipeline gives ", texts.size(),
          " (check data.pairing and the dataset's report columns)"));
    }
    MVL_ASSIGN_OR_RETURN(TextFeatures t, TextForward(texts[0], local));
    in.text = t.embedding;
    in.text_local = t.local;
    in.text_local_padding = t.local_padding;
    if (n.text_local_weights) in.text_local_weights = t.local_weights;
    if (n.text_view) {
      MVL_ASSIGN_OR_RETURN(TextFeatures t2, TextForward(texts[1], false));
      in.text_view = t2.embedding;
    }
  }
  return impl_->loss->Compute(in, context);
}

absl::Status PretrainModel::LoadWeights(const std::string& path) {
  std::string file = path;
  if (core::PathExists(path + "/model.safetensors")) {
    file = path + "/model.safetensors";
  }
  MVL_ASSIGN_OR_RETURN(core::StateDict state, core::LoadStateDict(file));
  std::map<std::string, const at::Tensor*> by_name;
  for (const auto& [name, t] : state) by_name[name] = &t;
  NamedTensors targets = Parameters();
  for (auto& b : Buffers()) targets.push_back(b);
  std::vector<std::string> missing;
  for (const auto& [name, t] : targets) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      missing.push_back(name);
      continue;
    }
    if (it->second->sizes() != t.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": tensor '", name, "' has shape ",
          c10::str(it->second->sizes()), ", the model expects ",
          c10::str(t.sizes())));
    }
  }
  if (!missing.empty()) {
    if (missing.size() > 5) missing.resize(5);
    return absl::InvalidArgumentError(
        absl::StrCat(file, " lacks model tensors, e.g. ",
                     absl::StrJoin(missing, ", ")));
  }
  return core::RunTorch("loading weights", [&] {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : targets) t.copy_(*by_name[name]);
  });
}

absl::Status ValidatePretrainModelConfig(const PretrainModelConfig& model,
                                         const losses::LossConfig& loss) {
  MVL_RETURN_IF_ERROR(losses::ValidateLossConfig(loss));
  MVL_ASSIGN_OR_RETURN(const LossNeeds needs, NeedsOf(loss));
  if (!model.has_vision()) {
    return absl::InvalidArgumentError("model.vision is required");
  }
  MVL_RETURN_IF_ERROR(vision::ValidateVisionConfig(model.vision()));
  const bool text_needed = needs.text || needs.local;
  if (text_needed && !model.has_text()) {
    return absl::InvalidArgumentError(
        "model.text is required by the loss (image-text alignment)");
  }
  if (model.has_text()) {
    MVL_RETURN_IF_ERROR(text::ValidateTextEncoderConfig(model.text()));
  }
  if (model.has_text_projection()) {
    MVL_RETURN_IF_ERROR(
        vision::ValidateProjectionHeadConfig(model.text_projection()));
  }
  if (needs.local) {
    if (!model.vision().has_local_projection()) {
      return absl::InvalidArgumentError(
          "model.vision.local_projection is required by the loss's local "
          "alignment");
    }
    if (!model.has_text_local() || !model.text_local().has_projection()) {
      return absl::InvalidArgumentError(
          "model.text_local.projection is required by the loss's local "
          "alignment");
    }
    MVL_RETURN_IF_ERROR(
        vision::ValidateLocalProjectionConfig(model.text_local().projection()));
    if (model.text_local().source() == TextLocalConfig::WORDS &&
        !model.text().has_bert()) {
      return absl::InvalidArgumentError(
          "model.text_local.source WORDS needs model.text.bert");
    }
    if (model.text_local().projection().output_dim() !=
        model.vision().local_projection().output_dim()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model.text_local.projection.output_dim (",
          model.text_local().projection().output_dim(),
          ") must equal model.vision.local_projection.output_dim (",
          model.vision().local_projection().output_dim(), ")"));
    }
  }
  if (needs.image_local_weights && model.vision().has_vit() &&
      !model.vision().vit().return_last_attention()) {
    return absl::InvalidArgumentError(
        "model.vision.vit.return_last_attention must be true for MGCA (the "
        "[CLS] attention weights the patches)");
  }
  if (needs.ssl) {
    if (!model.has_ssl_head()) {
      return absl::InvalidArgumentError(
          "model.ssl_head is required by the loss's SimCLR term");
    }
    for (const int32_t d : model.ssl_head().hidden_dims()) {
      if (d <= 0) {
        return absl::InvalidArgumentError(
            "model.ssl_head.hidden_dims must be > 0");
      }
    }
    if (model.ssl_head().output_dim() <= 0) {
      return absl::InvalidArgumentError(
          "model.ssl_head.output_dim must be > 0");
    }
    if (model.ssl_head().input() == SslHeadConfig::IMAGE_EMBEDDING &&
        !model.vision().has_projection()) {
      return absl::InvalidArgumentError(
          "model.ssl_head.input IMAGE_EMBEDDING needs model.vision.projection");
    }
  }
  const double p = model.caption().meta_mask_probability();
  if (!(p >= 0 && p <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.caption.meta_mask_probability must be in [0, 1] (got ", p, ")"));
  }
  if (model.caption().source() == CaptionConfig::MAMA_CAPTION &&
      (!model.has_text_local() ||
       model.text_local().source() != TextLocalConfig::SENTENCES) &&
      needs.local) {
    return absl::InvalidArgumentError(
        "model.caption MAMA_CAPTION with local alignment needs "
        "model.text_local.source SENTENCES");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PretrainModel>> BuildPretrainModel(
    const PretrainModelConfig& model, const losses::LossConfig& loss) {
  MVL_RETURN_IF_ERROR(ValidatePretrainModelConfig(model, loss));
  auto impl = std::make_unique<PretrainModel::Impl>();
  impl->config = model;
  MVL_ASSIGN_OR_RETURN(impl->needs, NeedsOf(loss));
  MVL_ASSIGN_OR_RETURN(impl->image_encoder,
                       vision::BuildImageEncoder(model.vision()));
  impl->embedding_dim = impl->image_encoder->embedding_dim();
  if (model.has_text()) {
    MVL_ASSIGN_OR_RETURN(text::TextEncoder encoder,
                         text::BuildTextEncoder(model.text()));
    impl->text_encoder =
        std::make_unique<text::TextEncoder>(std::move(encoder));
    const int64_t hidden = impl->text_encoder->hidden_size();
    MVL_RETURN_IF_ERROR(core::RunTorch("building text heads", [&] {
      if (model.has_text_projection()) {
        impl->text_projection =
            vision::ProjectionHead(model.text_projection(), hidden);
      }
      if (model.has_text_local() && model.text_local().has_projection()) {
        impl->text_local_projection = vision::LocalProjectionHead(
            model.text_local().projection(), hidden);
      }
    }));
    const int64_t text_dim = impl->text_projection
                                 ? impl->text_projection->output_dim()
                                 : hidden;
    if (text_dim != impl->embedding_dim) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the text embedding width (", text_dim,
          ", model.text_projection) must equal the image embedding width (",
          impl->embedding_dim, ", model.vision.projection)"));
    }
    const text::Tokenizer& tok = impl->text_encoder->tokenizer();
    if (model.has_text_local() &&
        model.text_local().source() == TextLocalConfig::SENTENCES) {
      const auto id = tok.TokenToId(model.text_local().separator_token());
      if (!id.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "model.text_local.separator_token '",
            model.text_local().separator_token(),
            "' is not a token of the tokenizer"));
      }
      impl->separator_id = *id;
    }
    if (model.has_text_local() &&
        model.text_local().source() == TextLocalConfig::WORDS) {
      const auto sep = tok.TokenToId(
          model.text().tokenizer().has_wordpiece()
              ? model.text().tokenizer().wordpiece().sep_token()
              : "[SEP]");
      if (!sep.has_value()) {
        return absl::InvalidArgumentError(
            "model.text_local WORDS: the tokenizer has no [SEP] token");
      }
      impl->sep_id = *sep;
      impl->is_continuation.resize(tok.vocab_size());
      for (int32_t id = 0; id < tok.vocab_size(); ++id) {
        const std::string token = tok.IdToToken(id);
        impl->is_continuation[id] = token.rfind("##", 0) == 0;
      }
    }
  }
  if (model.has_ssl_head()) {
    const int64_t input =
        model.ssl_head().input() == SslHeadConfig::IMAGE_EMBEDDING
            ? impl->embedding_dim
            : impl->image_encoder->backbone().feature_dim();
    MVL_RETURN_IF_ERROR(core::RunTorch("building ssl_head", [&] {
      impl->ssl_head = SslHead(model.ssl_head(), input);
    }));
  }
  MVL_ASSIGN_OR_RETURN(impl->loss, losses::BuildLoss(loss));
  auto out = std::unique_ptr<PretrainModel>(new PretrainModel(std::move(impl)));
  out->SetTraining(true);
  return out;
}

absl::StatusOr<std::unique_ptr<PretrainModel>> BuildPretrainModel(
    const Experiment& experiment) {
  return BuildPretrainModel(experiment.model(), experiment.loss());
}

}  // namespace mammovl::train
