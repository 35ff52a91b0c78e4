#include "vision/image_encoder.h"

#include <ATen/ATen.h>
#include <glog/logging.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/state_dict.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "vision/efficientnet.h"
#include "vision/plain_cnn.h"
#include "vision/resnet.h"
#include "vision/vit.h"

namespace mammovl::vision {
namespace {

// Keys of `state` starting with `prefix`, the prefix removed.
NamedTensors Select(const NamedTensors& state, const std::string& prefix,
                    const std::vector<std::string>& exclude) {
  NamedTensors out;
  for (const auto& [key, t] : state) {
    if (!absl::StartsWith(key, prefix)) continue;
    bool excluded = false;
    for (const std::string& e : exclude) {
      if (!e.empty() && e != prefix && e.size() > prefix.size() &&
          absl::StartsWith(key, e)) {
        excluded = true;
      }
    }
    if (!excluded) out.emplace_back(key.substr(prefix.size()), t);
  }
  return out;
}

std::string FirstKeys(const NamedTensors& state, size_t n) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < state.size() && i < n; ++i)
    keys.push_back(state[i].first);
  return absl::StrJoin(keys, ", ");
}

}  // namespace

ImageEncoderImpl::ImageEncoderImpl(std::shared_ptr<BackboneImpl> backbone,
                                   ProjectionHead projection,
                                   LocalProjectionHead local_projection)
    : backbone_(register_module("backbone", std::move(backbone))) {
  if (projection) projection_ = register_module("projection", projection);
  if (local_projection)
    local_projection_ = register_module("local_projection", local_projection);
}

EncoderOutput ImageEncoderImpl::forward(const torch::Tensor& images) {
  EncoderOutput out;
  out.features = backbone_->Forward(images);
  out.embedding = projection_ ? projection_->forward(out.features.pooled)
                              : out.features.pooled;
  if (local_projection_)
    out.local_embedding = local_projection_->forward(out.features.local);
  return out;
}

int64_t ImageEncoderImpl::embedding_dim() const {
  return projection_ ? projection_->output_dim() : backbone_->feature_dim();
}

absl::Status ValidateVisionConfig(const VisionConfig& config) {
  switch (config.backbone_case()) {
    case VisionConfig::kEfficientnet:
      MVL_RETURN_IF_ERROR(ValidateEfficientNetConfig(config.efficientnet()));
      break;
    case VisionConfig::kResnet:
      MVL_RETURN_IF_ERROR(ValidateResNetConfig(config.resnet()));
      break;
    case VisionConfig::kVit:
      MVL_RETURN_IF_ERROR(ValidateVitConfig(config.vit()));
      break;
    case VisionConfig::kPlainCnn:
      MVL_RETURN_IF_ERROR(ValidatePlainCnnConfig(config.plain_cnn()));
      break;
    default:
      return absl::InvalidArgumentError(
          "vision: no backbone selected (set efficientnet, resnet, vit or "
          "plain_cnn)");
  }
  const bool has_local = config.backbone_case() == VisionConfig::kResnet ||
                         config.backbone_case() == VisionConfig::kVit;
  if (config.has_local_projection() && !has_local) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vision.local_projection needs local features, which ",
        config.backbone_case() == VisionConfig::kEfficientnet ? "efficientnet"
                                                              : "plain_cnn",
        " does not have"));
  }
  if (config.has_projection()) {
    MVL_RETURN_IF_ERROR(ValidateProjectionHeadConfig(config.projection()));
  }
  if (config.has_local_projection()) {
    MVL_RETURN_IF_ERROR(
        ValidateLocalProjectionConfig(config.local_projection()));
  }
  if (config.has_checkpoint() && config.checkpoint().path().empty()) {
    return absl::InvalidArgumentError("vision.checkpoint.path is empty");
  }
  return absl::OkStatus();
}

absl::StatusOr<ImageEncoder> BuildImageEncoder(const VisionConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateVisionConfig(config));
  MVL_ASSIGN_OR_RETURN(
      ImageEncoder encoder,
      core::RunTorch(
          "building the image encoder", [&]() -> absl::StatusOr<ImageEncoder> {
            std::shared_ptr<BackboneImpl> backbone;
            switch (config.backbone_case()) {
              case VisionConfig::kEfficientnet:
                backbone = std::make_shared<EfficientNetImpl>(
                    config.efficientnet(), config.channels_last());
                break;
              case VisionConfig::kResnet:
                backbone = std::make_shared<ResNetImpl>(config.resnet(),
                                                        config.channels_last());
                break;
              case VisionConfig::kPlainCnn:
                backbone = std::make_shared<PlainCnnImpl>(
                    config.plain_cnn(), config.channels_last());
                break;
              default:
                backbone =
                    std::make_shared<VisionTransformerImpl>(config.vit());
                break;
            }
            ProjectionHead projection{nullptr};
            if (config.has_projection()) {
              projection =
                  ProjectionHead(config.projection(), backbone->feature_dim());
            }
            LocalProjectionHead local{nullptr};
            if (config.has_local_projection()) {
              local = LocalProjectionHead(config.local_projection(),
                                          backbone->local_dim());
            }
            return ImageEncoder(backbone, projection, local);
          }));
  if (config.has_checkpoint()) {
    MVL_RETURN_IF_ERROR(
        LoadImageEncoderCheckpoint(encoder, config.checkpoint()));
  }
  return encoder;
}

absl::Status LoadImageEncoderCheckpoint(ImageEncoder& encoder,
                                        const CheckpointConfig& checkpoint) {
  MVL_ASSIGN_OR_RETURN(core::StateDict state,
                       core::LoadStateDict(checkpoint.path()));
  return LoadImageEncoderWeights(encoder, state, checkpoint,
                                 absl::StrCat("'", checkpoint.path(), "'"));
}

absl::Status LoadImageEncoderWeights(ImageEncoder& encoder,
                                     const NamedTensors& state,
                                     const CheckpointConfig& checkpoint,
                                     absl::string_view source) {
  const bool heads = checkpoint.load_projection();
  std::vector<std::string> head_prefixes;
  if (heads && encoder->projection())
    head_prefixes.push_back(checkpoint.projection_prefix());
  if (heads && encoder->local_projection()) {
    head_prefixes.push_back(checkpoint.local_projection_prefix());
  }
  NamedTensors backbone_state =
      Select(state, checkpoint.backbone_prefix(), head_prefixes);
  if (backbone_state.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, " has no tensors under the backbone prefix '",
        checkpoint.backbone_prefix(), "' (its keys start: ",
        FirstKeys(state, 5), "); set vision.checkpoint.backbone_prefix"));
  }
  WeightLoadOptions options;
  options.strict = checkpoint.strict();
  options.ignore_unexpected.assign(checkpoint.ignore_unexpected().begin(),
                                   checkpoint.ignore_unexpected().end());
  options.source =
      absl::StrCat(source, " (prefix '", checkpoint.backbone_prefix(), "')");
  MVL_ASSIGN_OR_RETURN(
      WeightLoadReport report,
      LoadModuleWeights(encoder->backbone(), backbone_state, options));
  LOG(INFO) << "image encoder: loaded " << report.loaded
            << " backbone tensors from " << options.source;

  auto load_head = [&](torch::nn::Module& head,
                       const std::string& prefix) -> absl::Status {
    WeightLoadOptions head_options;
    head_options.strict = checkpoint.strict();
    head_options.source = absl::StrCat(source, " (prefix '", prefix, "')");
    NamedTensors head_state = Select(state, prefix, {});
    if (head_state.empty() && checkpoint.strict()) {
      return absl::InvalidArgumentError(
          absl::StrCat(head_options.source,
                       ": no projection head tensors; set "
                       "vision.checkpoint.projection_prefix "
                       "or load_projection: false"));
    }
    return LoadModuleWeights(head, head_state, head_options).status();
  };
  if (heads && encoder->projection()) {
    MVL_RETURN_IF_ERROR(
        load_head(*encoder->projection(), checkpoint.projection_prefix()));
  }
  if (heads && encoder->local_projection()) {
    MVL_RETURN_IF_ERROR(load_head(*encoder->local_projection(),
                                  checkpoint.local_projection_prefix()));
  }
  return absl::OkStatus();
}

}  // namespace mammovl::vision
