#include "losses/loss_builder.h"

#include <ATen/ATen.h>

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "losses/classification_losses.h"
#include "losses/clip_loss.h"
#include "losses/contrastive.h"
#include "losses/mama_loss.h"
#include "losses/mgca_loss.h"
#include "losses/ntxent_loss.h"
#include "losses/sla_loss.h"

namespace mammovl::losses {
namespace {

// ---------------------------------------------------------------------------
// Validation: each check names the field path and the value.

absl::Status CheckFinite(double value, const std::string& path) {
  if (!std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " must be finite (got ", value, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckPositive(double value, const std::string& path) {
  MVL_RETURN_IF_ERROR(CheckFinite(value, path));
  if (!(value > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " must be > 0 (got ", value, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckNonNegative(double value, const std::string& path) {
  MVL_RETURN_IF_ERROR(CheckFinite(value, path));
  if (!(value >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " must be >= 0 (got ", value, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckUnitInterval(double value, const std::string& path,
                               bool open_top) {
  MVL_RETURN_IF_ERROR(CheckNonNegative(value, path));
  if (open_top ? !(value < 1) : !(value <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " must be in [0, 1", open_top ? ")" : "]", " (got ", value, ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateClip(const ClipLossConfig& c, const std::string& path) {
  MVL_RETURN_IF_ERROR(
      ValidateTemperatureConfig(c.temperature(), path + ".temperature"));
  MVL_RETURN_IF_ERROR(CheckNonNegative(c.image_to_text_weight(),
                                       path + ".image_to_text_weight"));
  return CheckNonNegative(c.text_to_image_weight(),
                          path + ".text_to_image_weight");
}

absl::Status ValidateSimClr(const SimClrLossConfig& c,
                            const std::string& path) {
  return CheckPositive(c.temperature(), path + ".temperature");
}

// ---------------------------------------------------------------------------
// Losses as `Loss` objects.

absl::Status ValidateContext(const LossContext& context) {
  const GlobalBatch& b = context.batch;
  if (b.world_size < 1 || b.rank < 0 || b.rank >= b.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("loss context: rank ", b.rank, " and world_size ",
                     b.world_size, " are inconsistent"));
  }
  if (b.world_size > 1 && !b.gather) {
    return absl::InvalidArgumentError(
        absl::StrCat("loss context: world_size is ", b.world_size,
                     " but no gather function was given"));
  }
  return absl::OkStatus();
}

// A temperature owned by a loss, named as in the reference checkpoints.
struct ScaleSpec {
  TemperatureConfig config;
  std::string name;  // "logit_scale", "local_scale"
};

// A loss whose only state is its temperatures (none for SimCLR and the
// classification losses): each is a parameter when learnable, else a
// constant, and is clamped after optimiser steps when its config says so.
class TemperatureLoss : public Loss {
 public:
  // Computes the loss from the inputs, the context and the current logit
  // scales (in the order of the specs).
  using Fn = std::function<LossOutput(const LossInputs&, const LossContext&,
                                      const std::vector<at::Tensor>&)>;

  TemperatureLoss(std::string name, std::vector<ScaleSpec> scales, Fn fn)
      : name_(std::move(name)), specs_(std::move(scales)), fn_(std::move(fn)) {
    for (const ScaleSpec& spec : specs_) {
      at::Tensor scale = MakeLogitScale(spec.config);
      if (spec.config.learnable()) {
        slots_.push_back(static_cast<int>(parameters_.size()));
        parameters_.emplace_back(spec.name, scale);
      } else {
        slots_.push_back(-1);
        constants_.push_back(scale);
      }
    }
  }

  std::string name() const override { return name_; }

  absl::StatusOr<LossOutput> Compute(const LossInputs& inputs,
                                     const LossContext& context) override {
    MVL_RETURN_IF_ERROR(ValidateContext(context));
    return core::RunTorch(absl::StrCat("loss '", name_, "'"), [&] {
      std::vector<at::Tensor> scales;
      size_t constant = 0;
      for (const int slot : slots_) {
        scales.push_back(slot >= 0 ? parameters_[slot].second
                                   : constants_[constant++]);
      }
      return fn_(inputs, context, scales);
    });
  }

  void AfterOptimizerStep() override {
    for (size_t i = 0; i < specs_.size(); ++i) {
      if (slots_[i] >= 0) {
        ClampLogitScale(specs_[i].config, parameters_[slots_[i]].second);
      }
    }
  }

 private:
  std::string name_;
  std::vector<ScaleSpec> specs_;
  std::vector<int> slots_;  // index into parameters_, or -1 for a constant
  std::vector<at::Tensor> constants_;
  Fn fn_;
};

LossOutput Single(at::Tensor total) {
  LossOutput out;
  out.total = std::move(total);
  return out;
}

// MGCA: owns the prototypes, renormalises them before every forward and
// drops their gradients during the first epochs.
class MgcaLossObject : public Loss {
 public:
  explicit MgcaLossObject(MgcaLossConfig config) : config_(std::move(config)) {
    const double bound =
        1.0 / std::sqrt(static_cast<double>(config_.embedding_dim()));
    at::Tensor prototypes =
        at::empty({config_.num_prototypes(), config_.embedding_dim()},
                  at::kFloat)
            .uniform_(-bound, bound)
            .set_requires_grad(true);
    parameters_.emplace_back("prototype_layer.weight", prototypes);
  }
  std::string name() const override { return "mgca"; }
  absl::StatusOr<LossOutput> Compute(const LossInputs& in,
                                     const LossContext& ctx) override {
    MVL_RETURN_IF_ERROR(ValidateContext(ctx));
    return core::RunTorch("loss 'mgca'", [&] {
      at::Tensor& prototypes = parameters_[0].second;
      {
        // As the reference: unit rows, in place, before every forward.
        at::NoGradGuard no_grad;
        prototypes.div_(
            prototypes.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12));
      }
      return MgcaLoss(in, prototypes, config_, ctx.batch);
    });
  }
  void AfterBackward(const LossContext& ctx) override {
    // Prototypes learn only from epoch `freeze_prototypes_epochs` on.
    if (ctx.epoch < config_.freeze_prototypes_epochs()) {
      parameters_[0].second.mutable_grad().reset();
    }
  }

 private:
  MgcaLossConfig config_;
};

using Scales = std::vector<at::Tensor>;

}  // namespace

absl::Status ValidateLossConfig(const LossConfig& config) {
  switch (config.loss_case()) {
    case LossConfig::kClip:
      return ValidateClip(config.clip(), "loss.clip");
    case LossConfig::kMammoClip: {
      const MammoClipLossConfig& c = config.mammo_clip();
      MVL_RETURN_IF_ERROR(ValidateTemperatureConfig(
          c.temperature(), "loss.mammo_clip.temperature"));
      MVL_RETURN_IF_ERROR(CheckNonNegative(
          c.image_image_weight(), "loss.mammo_clip.image_image_weight"));
      MVL_RETURN_IF_ERROR(CheckNonNegative(c.text_text_weight(),
                                           "loss.mammo_clip.text_text_weight"));
      return CheckUnitInterval(c.label_smoothing(),
                               "loss.mammo_clip.label_smoothing",
                               /*open_top=*/true);
    }
    case LossConfig::kSimclr:
      return ValidateSimClr(config.simclr(), "loss.simclr");
    case LossConfig::kSlip: {
      const SlipLossConfig& c = config.slip();
      MVL_RETURN_IF_ERROR(ValidateClip(c.clip(), "loss.slip.clip"));
      if (c.clip().use_group_ids()) {
        return absl::InvalidArgumentError(
            "loss.slip.clip.use_group_ids is not supported");
      }
      MVL_RETURN_IF_ERROR(ValidateSimClr(c.simclr(), "loss.slip.simclr"));
      return CheckNonNegative(c.ssl_scale(), "loss.slip.ssl_scale");
    }
    case LossConfig::kSla:
      return ValidateTemperatureConfig(config.sla().temperature(),
                                       "loss.sla.temperature");
    case LossConfig::kMama: {
      const MamaLossConfig& c = config.mama();
      MVL_RETURN_IF_ERROR(ValidateTemperatureConfig(
          c.global_temperature(), "loss.mama.global_temperature"));
      MVL_RETURN_IF_ERROR(ValidateTemperatureConfig(
          c.local_temperature(), "loss.mama.local_temperature"));
      MVL_RETURN_IF_ERROR(
          CheckNonNegative(c.multiview_weight(), "loss.mama.multiview_weight"));
      MVL_RETURN_IF_ERROR(CheckPositive(c.simclr_temperature(),
                                        "loss.mama.simclr_temperature"));
      MVL_RETURN_IF_ERROR(CheckNonNegative(c.partner_clip_weight(),
                                           "loss.mama.partner_clip_weight"));
      MVL_RETURN_IF_ERROR(
          CheckNonNegative(c.sla_weight(), "loss.mama.sla_weight"));
      if (c.late_loss_step() < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("loss.mama.late_loss_step must be >= 0 (got ",
                         c.late_loss_step(), ")"));
      }
      return absl::OkStatus();
    }
    case LossConfig::kMgca: {
      const MgcaLossConfig& c = config.mgca();
      MVL_RETURN_IF_ERROR(
          CheckPositive(c.ita_temperature(), "loss.mgca.ita_temperature"));
      MVL_RETURN_IF_ERROR(
          CheckPositive(c.local_temperature(), "loss.mgca.local_temperature"));
      MVL_RETURN_IF_ERROR(CheckPositive(c.prototype_temperature(),
                                        "loss.mgca.prototype_temperature"));
      MVL_RETURN_IF_ERROR(
          CheckPositive(c.num_prototypes(), "loss.mgca.num_prototypes"));
      MVL_RETURN_IF_ERROR(
          CheckPositive(c.embedding_dim(), "loss.mgca.embedding_dim"));
      MVL_RETURN_IF_ERROR(
          CheckPositive(c.sinkhorn_epsilon(), "loss.mgca.sinkhorn_epsilon"));
      MVL_RETURN_IF_ERROR(CheckNonNegative(c.sinkhorn_iterations(),
                                           "loss.mgca.sinkhorn_iterations"));
      MVL_RETURN_IF_ERROR(CheckNonNegative(
          c.freeze_prototypes_epochs(), "loss.mgca.freeze_prototypes_epochs"));
      MVL_RETURN_IF_ERROR(
          CheckNonNegative(c.ita_weight(), "loss.mgca.ita_weight"));
      MVL_RETURN_IF_ERROR(
          CheckNonNegative(c.cta_weight(), "loss.mgca.cta_weight"));
      MVL_RETURN_IF_ERROR(
          CheckNonNegative(c.cpa_weight(), "loss.mgca.cpa_weight"));
      MVL_RETURN_IF_ERROR(CheckUnitInterval(
          c.weight_quantile_low(), "loss.mgca.weight_quantile_low", false));
      MVL_RETURN_IF_ERROR(CheckUnitInterval(
          c.weight_quantile_high(), "loss.mgca.weight_quantile_high", false));
      if (c.weight_quantile_low() > c.weight_quantile_high()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "loss.mgca.weight_quantile_low must be <= weight_quantile_high "
            "(got ",
            c.weight_quantile_low(), " vs ", c.weight_quantile_high(), ")"));
      }
      return absl::OkStatus();
    }
    case LossConfig::kFocal: {
      const FocalLossConfig& c = config.focal();
      MVL_RETURN_IF_ERROR(CheckFinite(c.alpha(), "loss.focal.alpha"));
      if (c.alpha() > 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "loss.focal.alpha must be in [0, 1], or negative for none (got ",
            c.alpha(), ")"));
      }
      MVL_RETURN_IF_ERROR(CheckNonNegative(c.gamma(), "loss.focal.gamma"));
      MVL_RETURN_IF_ERROR(CheckNonNegative(c.probability_clamp(),
                                           "loss.focal.probability_clamp"));
      if (!(c.probability_clamp() < 0.5)) {
        return absl::InvalidArgumentError(
            absl::StrCat("loss.focal.probability_clamp must be < 0.5 (got ",
                         c.probability_clamp(), ")"));
      }
      if (c.normalization() == FocalLossConfig::NORMALIZATION_UNSPECIFIED) {
        return absl::InvalidArgumentError(
            "loss.focal.normalization must be set");
      }
      return absl::OkStatus();
    }
    case LossConfig::kWeightedBce:
      for (int i = 0; i < config.weighted_bce().pos_weight_size(); ++i) {
        MVL_RETURN_IF_ERROR(CheckPositive(
            config.weighted_bce().pos_weight(i),
            absl::StrCat("loss.weighted_bce.pos_weight[", i, "]")));
      }
      return absl::OkStatus();
    case LossConfig::kWeightedCe:
      for (int i = 0; i < config.weighted_ce().class_weight_size(); ++i) {
        MVL_RETURN_IF_ERROR(CheckNonNegative(
            config.weighted_ce().class_weight(i),
            absl::StrCat("loss.weighted_ce.class_weight[", i, "]")));
      }
      return absl::OkStatus();
    case LossConfig::LOSS_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("loss: no loss selected");
}

absl::StatusOr<std::unique_ptr<Loss>> BuildLoss(const LossConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateLossConfig(config));
  return core::RunTorch("building the loss", [&]() -> std::unique_ptr<Loss> {
    switch (config.loss_case()) {
      case LossConfig::kClip:
        return std::make_unique<TemperatureLoss>(
            "clip",
            std::vector<ScaleSpec>{
                {config.clip().temperature(), "logit_scale"}},
            [c = config.clip()](const LossInputs& in, const LossContext& ctx,
                                const Scales& s) {
              return ClipLoss(in.image, in.text, s[0], c, ctx.batch,
                              in.group_ids);
            });
      case LossConfig::kMammoClip:
        return std::make_unique<TemperatureLoss>(
            "mammo_clip",
            std::vector<ScaleSpec>{
                {config.mammo_clip().temperature(), "logit_scale"}},
            [c = config.mammo_clip()](const LossInputs& in,
                                      const LossContext& ctx, const Scales& s) {
              return MammoClipLoss(in.image, in.image_view, in.text,
                                   in.text_view, s[0], c, ctx.batch,
                                   ctx.training, in.group_ids);
            });
      case LossConfig::kSimclr:
        return std::make_unique<TemperatureLoss>(
            "simclr", std::vector<ScaleSpec>{},
            [c = config.simclr()](const LossInputs& in, const LossContext& ctx,
                                  const Scales&) {
              return NtXentLoss(in.image_ssl, in.image_view_ssl, c, ctx.batch);
            });
      case LossConfig::kSlip:
        return std::make_unique<TemperatureLoss>(
            "slip",
            std::vector<ScaleSpec>{
                {config.slip().clip().temperature(), "logit_scale"}},
            [c = config.slip()](const LossInputs& in, const LossContext& ctx,
                                const Scales& s) {
              return SlipLoss(in.image, in.text, s[0], in.image_ssl,
                              in.image_view_ssl, c, ctx.batch);
            });
      case LossConfig::kSla:
        return std::make_unique<TemperatureLoss>(
            "sla",
            std::vector<ScaleSpec>{{config.sla().temperature(), "local_scale"}},
            [c = config.sla()](const LossInputs& in, const LossContext& ctx,
                               const Scales& s) {
              return SlaLoss(in.image_local, in.text_local,
                             in.text_local_padding, s[0], c, ctx.batch);
            });
      case LossConfig::kMama:
        return std::make_unique<TemperatureLoss>(
            "mama",
            std::vector<ScaleSpec>{
                {config.mama().global_temperature(), "logit_scale"},
                {config.mama().local_temperature(), "local_scale"}},
            [c = config.mama()](const LossInputs& in, const LossContext& ctx,
                                const Scales& s) {
              return MamaLoss(in, s[0], s[1], c, ctx);
            });
      case LossConfig::kMgca:
        return std::make_unique<MgcaLossObject>(config.mgca());
      case LossConfig::kFocal:
        return std::make_unique<TemperatureLoss>(
            "focal", std::vector<ScaleSpec>{},
            [c = config.focal()](const LossInputs& in, const LossContext&,
                                 const Scales&) {
              return Single(FocalLoss(in.logits, in.targets, c));
            });
      case LossConfig::kWeightedBce:
        return std::make_unique<TemperatureLoss>(
            "weighted_bce", std::vector<ScaleSpec>{},
            [c = config.weighted_bce()](const LossInputs& in,
                                        const LossContext&, const Scales&) {
              return Single(WeightedBceLoss(in.logits, in.targets, c));
            });
      case LossConfig::kWeightedCe:
        return std::make_unique<TemperatureLoss>(
            "weighted_ce", std::vector<ScaleSpec>{},
            [c = config.weighted_ce()](const LossInputs& in, const LossContext&,
                                       const Scales&) {
              return Single(WeightedCeLoss(in.logits, in.targets, c));
            });
      case LossConfig::LOSS_NOT_SET:
        break;
    }
    return nullptr;  // unreachable: validated above
  });
}

}  // namespace mammovl::losses
