#include "detection/retinanet.h"

#include <memory>
#include <string>
#include <utility>

#include <torch/nn/modules/batchnorm.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "detection/box_ops.h"
#include "detection/postprocess.h"
#include "detection/retinanet_loss.h"

namespace mammovl::detection {
namespace {

// Number of pyramid outputs the FPN makes from `num_inputs` maps.
int FpnOutputs(const vision::FpnConfig& fpn, int num_inputs) {
  switch (fpn.extra_levels()) {
    case vision::FpnConfig::MAX_POOL:
      return num_inputs + 1;
    case vision::FpnConfig::CONV_P6P7:
      return num_inputs + 2;
    default:
      return num_inputs;
  }
}

int NumLevels(const AnchorConfig& anchors) {
  return anchors.pyramid_levels_size() == 0 ? 5 : anchors.pyramid_levels_size();
}

}  // namespace

absl::Status ValidateRetinaNetConfig(const RetinaNetConfig& config) {
  if (!config.has_encoder()) {
    return absl::InvalidArgumentError("model.encoder: no image encoder configured");
  }
  MVL_RETURN_IF_ERROR(vision::ValidateVisionConfig(config.encoder()));
  if (config.encoder().has_vit()) {
    return absl::UnimplementedError(
        "model.encoder: a ViT has no convolutional maps for the FPN; use efficientnet or resnet");
  }
  const int num_inputs = config.feature_maps_size() + (config.use_head_map() ? 1 : 0);
  if (num_inputs == 0) {
    return absl::InvalidArgumentError(
        "model.feature_maps: select at least one backbone map (or set use_head_map)");
  }
  for (int i = 0; i < config.feature_maps_size(); ++i) {
    if (config.feature_maps(i) < 0) {
      return absl::InvalidArgumentError(absl::StrCat("model.feature_maps[", i,
                                                     "] must be >= 0 (got ",
                                                     config.feature_maps(i), ")"));
    }
  }
  MVL_RETURN_IF_ERROR(ValidateRetinaHeadConfig(config.head()));
  MVL_RETURN_IF_ERROR(ValidateAnchorConfig(config.anchors()));
  MVL_RETURN_IF_ERROR(ValidateBoxCoderConfig(config.box_coder()));
  MVL_RETURN_IF_ERROR(ValidateAssignerConfig(config.assigner()));
  MVL_RETURN_IF_ERROR(ValidateRetinaLossConfig(config.loss()));
  MVL_RETURN_IF_ERROR(ValidatePostprocessConfig(config.postprocess()));
  const int outputs = FpnOutputs(config.fpn(), num_inputs);
  if (outputs != NumLevels(config.anchors())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.anchors.pyramid_levels: the FPN makes ", outputs, " levels from ", num_inputs,
        " maps but ", NumLevels(config.anchors()), " anchor levels are configured"));
  }
  if (config.classes_size() == 0) {
    return absl::InvalidArgumentError("model.classes: at least one class name is needed");
  }
  for (int i = 0; i < config.classes_size(); ++i) {
    if (config.classes(i).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("model.classes[", i, "] is empty"));
    }
  }
  if (config.backbone_mode() == RetinaNetConfig::BACKBONE_MODE_UNSPECIFIED) {
    return absl::InvalidArgumentError("model.backbone_mode: unspecified");
  }
  if (config.backbone_batch_norm() == RetinaNetConfig::BATCH_NORM_MODE_UNSPECIFIED) {
    return absl::InvalidArgumentError("model.backbone_batch_norm: unspecified");
  }
  return absl::OkStatus();
}

RetinaNetImpl::RetinaNetImpl(const RetinaNetConfig& config, vision::ImageEncoder encoder,
                             vision::Fpn fpn, AnchorGenerator anchors)
    : config_(config), anchors_(std::move(anchors)) {
  encoder_ = register_module("encoder", std::move(encoder));
  fpn_ = register_module("fpn", std::move(fpn));
  const int64_t channels = config_.fpn().out_channels();
  const int64_t per_location = anchors_.anchors_per_location();
  classification_ = register_module(
      "classificationModel",
      RetinaHead(RetinaHeadImpl::Kind::kClassification, config_.head(), channels, per_location,
                 config_.classes_size()));
  regression_ = register_module(
      "regressionModel", RetinaHead(RetinaHeadImpl::Kind::kRegression, config_.head(), channels,
                                    per_location, config_.classes_size()));
}

void RetinaNetImpl::SetTraining(bool on) {
  train(on);
  if (on && config_.backbone_batch_norm() == RetinaNetConfig::BATCH_NORM_FROZEN) {
    for (const auto& m : encoder_->modules(/*include_self=*/false)) {
      if (dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get()) != nullptr) m->eval();
    }
  }
}

RetinaNetOutput RetinaNetImpl::forward(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == 3, "RetinaNet: expected [B, 3, H, W], got ",
              images.sizes());
  vision::BackboneOutput features = encoder_->backbone().Forward(images);
  std::vector<torch::Tensor> maps;
  for (int index : config_.feature_maps()) {
    TORCH_CHECK(index < static_cast<int>(features.maps.size()), "RetinaNet: feature map ", index,
                " requested but the backbone returns ", features.maps.size());
    maps.push_back(features.maps[index]);
  }
  if (config_.use_head_map()) {
    TORCH_CHECK(features.head_map.defined(), "RetinaNet: the backbone has no head map");
    maps.push_back(features.head_map);
  }
  std::vector<torch::Tensor> pyramid = fpn_->forward(maps);
  std::vector<GridSize> grids;
  for (const torch::Tensor& p : pyramid) grids.emplace_back(p.size(2), p.size(3));
  if (grids != cached_grids_ || !cached_anchors_.defined()) {
    absl::StatusOr<at::Tensor> a = anchors_.Generate(grids);
    TORCH_CHECK(a.ok(), "RetinaNet anchors: ", std::string(a.status().message()));
    cached_anchors_ = *a;
    cached_grids_ = grids;
  }
  RetinaNetOutput out;
  out.classification = classification_->forward(pyramid);
  out.regression = regression_->forward(pyramid);
  out.anchors = cached_anchors_.to(images.device());
  return out;
}

absl::StatusOr<std::vector<ImageDetections>> RetinaNetImpl::Detect(const RetinaNetOutput& output,
                                                                   int64_t height,
                                                                   int64_t width) const {
  std::vector<ImageDetections> result;
  const int64_t batch = output.classification.size(0);
  for (int64_t i = 0; i < batch; ++i) {
    MVL_ASSIGN_OR_RETURN(
        ImageDetections d,
        PostprocessDetections(output.classification[i], output.regression[i], output.anchors,
                              height, width, config_.box_coder(), config_.postprocess()));
    result.push_back(std::move(d));
  }
  return result;
}

absl::StatusOr<RetinaNet> BuildRetinaNet(const RetinaNetConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateRetinaNetConfig(config));
  MVL_ASSIGN_OR_RETURN(vision::ImageEncoder encoder, vision::BuildImageEncoder(config.encoder()));
  MVL_ASSIGN_OR_RETURN(AnchorGenerator anchors, AnchorGenerator::Create(config.anchors()));
  std::vector<int64_t> channels;
  const std::vector<int64_t> map_channels = encoder->backbone().map_channels();
  for (int i = 0; i < config.feature_maps_size(); ++i) {
    const int index = config.feature_maps(i);
    if (index >= static_cast<int>(map_channels.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("model.feature_maps[", i, "] = ", index, " but the backbone returns ",
                       map_channels.size(), " maps"));
    }
    channels.push_back(map_channels[index]);
  }
  if (config.use_head_map()) {
    // The head map is the input of the pooled feature.
    channels.push_back(encoder->backbone().feature_dim());
  }
  MVL_RETURN_IF_ERROR(vision::ValidateFpnConfig(config.fpn(), channels));
  return core::RunTorch("BuildRetinaNet", [&]() -> absl::StatusOr<RetinaNet> {
    vision::Fpn fpn(config.fpn(), channels);
    RetinaNet model(config, encoder, fpn, anchors);
    if (config.backbone_mode() == RetinaNetConfig::FROZEN) {
      for (auto& p : model->encoder()->parameters()) p.set_requires_grad(false);
    }
    return model;
  });
}

}  // namespace mammovl::detection
