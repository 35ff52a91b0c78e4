#include "mil/mil_model.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>

#include <cmath>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/torch_status.h"

namespace mammovl::mil {

ClassifierHeadImpl::ClassifierHeadImpl(int64_t in_dim, double dropout) {
  drop_ = register_module("drop", torch::nn::Dropout(dropout));
  head_classifier_ =
      register_module("head_classifier", torch::nn::Linear(in_dim, 1));
}

torch::Tensor ClassifierHeadImpl::forward(const torch::Tensor& x) {
  return head_classifier_(drop_(x));
}

std::vector<int64_t> ScalesOf(const MilModelConfig& config) {
  if (config.scales_size() == 0) return {16, 32, 128};
  return {config.scales().begin(), config.scales().end()};
}

std::vector<int64_t> BackboneChannelsOf(const MilModelConfig& config) {
  if (config.backbone_channels_size() == 0) return {120, 352};
  return {config.backbone_channels().begin(), config.backbone_channels().end()};
}

int64_t InducingPointsFor(double n) {
  if (n > 10) return static_cast<int64_t>(std::ceil(10.0 * std::log10(n)));
  return static_cast<int64_t>(n);
}

namespace {

absl::Status CheckFraction(double value, const std::string& field) {
  if (!(value >= 0.0 && value < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be in [0, 1) (got ", value, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

static vision::FpnConfig FpnConfigOf(const MilModelConfig& config) {
  vision::FpnConfig fpn;
  fpn.set_layout(vision::FpnConfig::FPN_MIL);
  fpn.set_out_channels(config.fpn_dim());
  fpn.set_top_down(config.fpn_top_down());
  if (config.extra_level_stride() > 0) {
    fpn.set_extra_levels(vision::FpnConfig::MAX_POOL);
    fpn.set_pool_stride(config.extra_level_stride());
  } else {
    fpn.set_extra_levels(vision::FpnConfig::NONE);
  }
  return fpn;
}

absl::Status ValidateMilModelConfig(const MilModelConfig& config,
                                    const PatchingConfig& patching) {
  const std::vector<int64_t> scales = ScalesOf(config);
  const std::vector<int64_t> channels = BackboneChannelsOf(config);
  for (int64_t c : channels) {
    if (c <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("model.backbone_channels must be > 0 (got ", c, ")"));
    }
  }
  if (config.extra_level_stride() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.extra_level_stride must be >= 0 (got ",
                     config.extra_level_stride(), ")"));
  }
  const size_t maps = channels.size() + (config.extra_level_stride() > 0 ? 1 : 0);
  if (scales.size() != maps) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.scales has ", scales.size(), " entries but the FPN gives ", maps,
        " maps (", channels.size(), " backbone maps",
        config.extra_level_stride() > 0 ? " + the extra level)" : ")"));
  }
  for (size_t i = 0; i < scales.size(); ++i) {
    if (scales[i] <= 0 || patching.patch_size() % scales[i] != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model.scales[", i, "] = ", scales[i],
          " must be > 0 and divide patching.patch_size ", patching.patch_size()));
    }
    if (i > 0 && scales[i] <= scales[i - 1]) {
      return absl::InvalidArgumentError(
          "model.scales must increase (finest first)");
    }
  }
  if (config.fpn_dim() <= 0 || config.embed_dim() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.fpn_dim and model.embed_dim must be > 0 (got ", config.fpn_dim(),
        ", ", config.embed_dim(), ")"));
  }
  if (config.reference_patches() <= 0) {
    return absl::InvalidArgumentError("model.reference_patches must be > 0");
  }
  if (absl::Status s = CheckFraction(config.classifier_dropout(),
                                     "model.classifier_dropout");
      !s.ok()) {
    return s;
  }
  switch (config.encoder().encoder_case()) {
    case InstanceEncoderConfig::kMlp:
      if (absl::Status s = CheckFraction(config.encoder().mlp().dropout(),
                                         "model.encoder.mlp.dropout");
          !s.ok()) {
        return s;
      }
      break;
    case InstanceEncoderConfig::kSetTransformer: {
      const SetEncoderConfig& set = config.encoder().set_transformer();
      if (set.block() == SetEncoderConfig::BLOCK_UNSPECIFIED) {
        return absl::InvalidArgumentError(
            "model.encoder.set_transformer.block is unset");
      }
      if (set.num_blocks() < 1) {
        return absl::InvalidArgumentError(
            "model.encoder.set_transformer.num_blocks must be >= 1");
      }
      if (set.num_heads() < 1 || config.embed_dim() % set.num_heads() != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "model.encoder.set_transformer.num_heads (", set.num_heads(),
            ") must divide model.embed_dim (", config.embed_dim(), ")"));
      }
      if (set.inducing_points_size() != 0 &&
          set.inducing_points_size() != static_cast<int>(scales.size())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "model.encoder.set_transformer.inducing_points has ",
            set.inducing_points_size(), " entries for ", scales.size(),
            " scales"));
      }
      for (int m : set.inducing_points()) {
        if (m < 1) {
          return absl::InvalidArgumentError(
              "model.encoder.set_transformer.inducing_points must be >= 1");
        }
      }
      break;
    }
    default:
      return absl::InvalidArgumentError("model.encoder: no encoder selected");
  }
  switch (config.pooling().pooling_case()) {
    case PoolingConfig::kAttention:
      if (config.pooling().attention().hidden_dim() <= 0) {
        return absl::InvalidArgumentError(
            "model.pooling.attention.hidden_dim must be > 0");
      }
      if (absl::Status s = CheckFraction(config.pooling().attention().dropout(),
                                         "model.pooling.attention.dropout");
          !s.ok()) {
        return s;
      }
      break;
    case PoolingConfig::kPma:
      if (config.pooling().pma().num_heads() < 1 ||
          config.embed_dim() % config.pooling().pma().num_heads() != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "model.pooling.pma.num_heads (", config.pooling().pma().num_heads(),
            ") must divide model.embed_dim (", config.embed_dim(), ")"));
      }
      break;
    case PoolingConfig::kMean:
    case PoolingConfig::kMax:
      break;
    default:
      return absl::InvalidArgumentError("model.pooling: no pooling selected");
  }
  const ScaleAggregatorConfig& agg = config.scale_aggregator();
  if (agg.type() == ScaleAggregatorConfig::TYPE_UNSPECIFIED) {
    return absl::InvalidArgumentError("model.scale_aggregator.type is unset");
  }
  if (agg.type() == ScaleAggregatorConfig::GATED_ATTENTION) {
    if (agg.hidden_dim() <= 0) {
      return absl::InvalidArgumentError(
          "model.scale_aggregator.hidden_dim must be > 0");
    }
    if (absl::Status s = CheckFraction(agg.dropout(), "model.scale_aggregator.dropout");
        !s.ok()) {
      return s;
    }
  }
  if (config.fpn()) {
    absl::Status fpn = vision::ValidateFpnConfig(FpnConfigOf(config), channels);
    if (!fpn.ok()) return absl::InvalidArgumentError(absl::StrCat("model (FPN): ", fpn.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<MilModelLayout> MakeMilModelLayout(
    const MilModelConfig& config, const PatchingConfig& patching) {
  if (absl::Status s = ValidateMilModelConfig(config, patching); !s.ok()) {
    return s;
  }
  MilModelLayout layout;
  layout.scales = ScalesOf(config);
  layout.backbone_channels = BackboneChannelsOf(config);
  const SetEncoderConfig& set = config.encoder().set_transformer();
  for (size_t i = 0; i < layout.scales.size(); ++i) {
    const int64_t grid = patching.patch_size() / layout.scales[i];
    layout.grid_sides.push_back(grid);
    if (set.inducing_points_size() > 0) {
      layout.inducing_points.push_back(set.inducing_points(i));
    } else {
      layout.inducing_points.push_back(InducingPointsFor(
          static_cast<double>(config.reference_patches()) * grid * grid));
    }
  }
  return layout;
}

MilModelImpl::MilModelImpl(const MilModelConfig& config, MilModelLayout layout)
    : config_(config), layout_(std::move(layout)) {
  if (config.fpn()) {
    fpn_ = register_module(
        "inst_encoder", vision::Fpn(FpnConfigOf(config), layout_.backbone_channels));
  }
  const int64_t in_dim = config.fpn_dim();
  const int64_t dim = config.embed_dim();
  auto side = register_module("side_inst_aggregator",
                              std::make_shared<torch::nn::Module>());
  auto encoders =
      side->register_module("encoders", std::make_shared<torch::nn::Module>());
  auto aggregators =
      side->register_module("aggregators", std::make_shared<torch::nn::Module>());
  const ScaleAggregatorConfig::Type type = config.scale_aggregator().type();
  const bool side_heads = config.deep_supervision() ||
                          type == ScaleAggregatorConfig::MEAN_PROBABILITY ||
                          type == ScaleAggregatorConfig::MAX_PROBABILITY;
  std::shared_ptr<torch::nn::Module> side_classifiers;
  if (side_heads) {
    side_classifiers = register_module("side_classifiers",
                                       std::make_shared<torch::nn::Module>());
  }
  for (size_t i = 0; i < layout_.scales.size(); ++i) {
    const std::string s = std::to_string(layout_.scales[i]);
    ScaleModules m;
    torch::nn::ModuleList list;
    if (config.encoder().has_mlp()) {
      torch::nn::Sequential mlp(torch::nn::Linear(in_dim, dim), torch::nn::ReLU(),
                                torch::nn::Dropout(config.encoder().mlp().dropout()));
      list->push_back(mlp);
      m.mlp.push_back(mlp);
    } else {
      const SetEncoderConfig& set = config.encoder().set_transformer();
      for (int b = 0; b < set.num_blocks(); ++b) {
        const int64_t block_in = b == 0 ? in_dim : dim;
        if (set.block() == SetEncoderConfig::ISAB) {
          InducedSetAttentionBlock block(block_in, dim, layout_.inducing_points[i],
                                         set.num_heads(), set.layer_norm());
          list->push_back(block);
          m.isab.push_back(block);
        } else {
          SetAttentionBlock block(block_in, dim, set.num_heads(), set.layer_norm());
          list->push_back(block);
          m.sab.push_back(block);
        }
      }
    }
    encoders->register_module("encoder_" + s, list);
    switch (config.pooling().pooling_case()) {
      case PoolingConfig::kAttention:
        m.attention = aggregators->register_module(
            "aggregator_" + s, AttentionPooling(dim, config.pooling().attention()));
        break;
      case PoolingConfig::kPma:
        m.pma = aggregators->register_module(
            "aggregator_" + s,
            PoolingByMultiheadAttention(dim, config.pooling().pma()));
        break;
      default:
        break;  // mean / max: no parameters
    }
    if (side_heads) {
      m.side_head = side_classifiers->register_module(
          "classifier_" + s, ClassifierHead(dim, config.classifier_dropout()));
    }
    scales_.push_back(std::move(m));
  }
  const int64_t num_scales = static_cast<int64_t>(layout_.scales.size());
  if (type == ScaleAggregatorConfig::GATED_ATTENTION) {
    AttentionPoolingConfig gated;
    gated.set_gated(true);
    gated.set_hidden_dim(config.scale_aggregator().hidden_dim());
    gated.set_dropout(config.scale_aggregator().dropout());
    scale_aggregator_ =
        register_module("scale_aggregator", AttentionPooling(dim, gated));
    classifier_ = register_module(
        "classifier", ClassifierHead(dim, config.classifier_dropout()));
  } else if (type == ScaleAggregatorConfig::CONCATENATION) {
    classifier_ = register_module(
        "classifier",
        ClassifierHead(dim * num_scales, config.classifier_dropout()));
  }
}

torch::Tensor MilModelImpl::Encode(ScaleModules& scale, torch::Tensor x) {
  for (auto& mlp : scale.mlp) x = mlp->forward(x);
  for (auto& block : scale.isab) x = block(x);
  for (auto& block : scale.sab) x = block(x);
  return x;
}

PooledBag MilModelImpl::Pool(ScaleModules& scale, const torch::Tensor& x) {
  if (scale.attention) return scale.attention(x);
  if (scale.pma) return scale.pma(x);
  PooledBag out;
  out.pooled = config_.pooling().has_max() ? std::get<0>(x.max(1)) : x.mean(1);
  return out;
}

MilOutput MilModelImpl::ForwardInstances(
    const std::vector<torch::Tensor>& instance_sets) {
  TORCH_CHECK(instance_sets.size() == scales_.size(), "MIL model expects ",
              scales_.size(), " instance sets, got ", instance_sets.size());
  MilOutput out;
  const int64_t batch = instance_sets[0].size(0);
  for (size_t i = 0; i < scales_.size(); ++i) {
    const torch::Tensor& x = instance_sets[i];
    TORCH_CHECK(x.dim() == 3 && x.size(0) == batch && x.size(2) == config_.fpn_dim(),
                "instance set ", i, " should be [", batch, ", N, ",
                config_.fpn_dim(), "], got ", x.sizes());
    PooledBag bag = Pool(scales_[i], Encode(scales_[i], x));
    if (scales_[i].side_head) {
      out.side_logits.push_back(scales_[i].side_head(bag.pooled).squeeze(1));
    }
    out.bag_embeddings.push_back(bag.pooled);
    out.instance_attention.push_back(bag.attention);
  }
  const int64_t num_scales = static_cast<int64_t>(scales_.size());
  switch (config_.scale_aggregator().type()) {
    case ScaleAggregatorConfig::GATED_ATTENTION: {
      PooledBag fused = scale_aggregator_(at::stack(out.bag_embeddings, 1));
      out.scale_weights = fused.attention;
      out.logits = classifier_(fused.pooled).squeeze(1);
      out.probabilities = at::sigmoid(out.logits);
      break;
    }
    case ScaleAggregatorConfig::CONCATENATION: {
      const torch::Tensor cat = at::cat(out.bag_embeddings, 1);
      out.logits = classifier_(cat).squeeze(1);
      out.probabilities = at::sigmoid(out.logits);
      // x_s · W_s with the head's weight slices [1, S·D].
      const torch::Tensor w = classifier_->weight().view({num_scales, -1});
      const torch::Tensor per_scale =
          (at::stack(out.bag_embeddings, 1) * w.unsqueeze(0)).sum(-1);
      out.scale_weights = at::softmax(per_scale, 1);
      break;
    }
    default: {
      const torch::Tensor probs = at::sigmoid(at::stack(out.side_logits, 1));
      out.probabilities =
          config_.scale_aggregator().type() == ScaleAggregatorConfig::MAX_PROBABILITY
              ? std::get<0>(probs.max(1))
              : probs.mean(1);
      out.scale_weights = at::full({batch, num_scales}, 1.0 / num_scales,
                                   probs.options());
      break;
    }
  }
  return out;
}

std::vector<torch::Tensor> MilModelImpl::InstanceMaps(
    const std::vector<torch::Tensor>& maps) {
  TORCH_CHECK(fpn_, "the MIL model was built without an FPN (model.fpn: false)");
  TORCH_CHECK(maps.size() == layout_.backbone_channels.size(), "MIL model expects ",
              layout_.backbone_channels.size(), " backbone maps, got ", maps.size());
  for (size_t i = 0; i < maps.size(); ++i) {
    TORCH_CHECK(maps[i].dim() == 4 && maps[i].size(1) == layout_.backbone_channels[i],
                "backbone map ", i, " should be [B·N, ", layout_.backbone_channels[i],
                ", h, w], got ", maps[i].sizes());
  }
  std::vector<torch::Tensor> levels = fpn_->forward(maps);
  TORCH_CHECK(levels.size() == layout_.scales.size(), "the FPN gave ", levels.size(),
              " maps for ", layout_.scales.size(), " scales");
  return levels;
}

MilOutput MilModelImpl::Forward(const std::vector<torch::Tensor>& maps) {
  TORCH_CHECK(!maps.empty() && maps[0].dim() == 5, "MIL model expects maps [B, N, C, h, w]");
  const int64_t batch = maps[0].size(0);
  const int64_t patches = maps[0].size(1);
  std::vector<torch::Tensor> flat;
  for (const torch::Tensor& m : maps) {
    TORCH_CHECK(m.dim() == 5 && m.size(0) == batch && m.size(1) == patches,
                "every backbone map should be [", batch, ", ", patches,
                ", C, h, w], got ", m.sizes());
    flat.push_back(m.flatten(0, 1));
  }
  std::vector<torch::Tensor> sets;
  for (const torch::Tensor& level : InstanceMaps(flat)) {
    sets.push_back(FlattenInstances(level, batch));
  }
  return ForwardInstances(sets);
}

absl::StatusOr<MilModel> BuildMilModel(const MilModelConfig& config,
                                       const PatchingConfig& patching) {
  absl::StatusOr<MilModelLayout> layout = MakeMilModelLayout(config, patching);
  if (!layout.ok()) return layout.status();
  return core::RunTorch(
      "building the MIL model", [&]() -> absl::StatusOr<MilModel> {
        return absl::StatusOr<MilModel>(
            absl::in_place, std::make_shared<MilModelImpl>(config, *layout));
      });
}

torch::Tensor FlattenInstances(const torch::Tensor& map, int64_t batch) {
  TORCH_CHECK(map.dim() == 4 && map.size(0) % batch == 0,
              "FlattenInstances expects [B·N, D, h, w] with B = ", batch,
              ", got ", map.sizes());
  const int64_t n = map.size(0) / batch;
  return map.view({batch, n, map.size(1), map.size(2), map.size(3)})
      .permute({0, 1, 3, 4, 2})
      .reshape({batch, -1, map.size(1)});
}

torch::Tensor UnflattenAttention(const torch::Tensor& attention,
                                 int64_t num_patches, int64_t h, int64_t w) {
  TORCH_CHECK(attention.dim() == 2 && attention.size(1) == num_patches * h * w,
              "UnflattenAttention: [B, ", num_patches * h * w, "] expected, got ",
              attention.sizes());
  return attention.reshape({attention.size(0), num_patches, h, w});
}

}  // namespace mammovl::mil
