#include "losses/classification_losses.h"

#include <ATen/ATen.h>

#include <vector>

#include "losses/loss.h"

namespace mammovl::losses {
namespace {

void CheckLogitsTargets(const at::Tensor& logits, const at::Tensor& targets) {
  TORCH_CHECK_VALUE(logits.defined(), "`logits` is missing");
  TORCH_CHECK_VALUE(targets.defined(), "`targets` is missing");
  TORCH_CHECK_VALUE(at::isFloatingType(logits.scalar_type()),
                    "`logits` must be floating point");
  TORCH_CHECK_VALUE(logits.sizes() == targets.sizes(), "`targets` ",
                    targets.sizes(), " must have the shape of `logits` ",
                    logits.sizes());
  TORCH_CHECK_VALUE(logits.numel() > 0, "`logits` is empty");
}

}  // namespace

at::Tensor FocalLoss(const at::Tensor& logits, const at::Tensor& targets,
                     const FocalLossConfig& config) {
  CheckLogitsTargets(logits, targets);
  const at::Tensor x = AtLeastFloat32(logits);
  const at::Tensor y_raw = targets.to(x.scalar_type());
  const at::Tensor valid = y_raw.ge(0).to(x.scalar_type());
  const at::Tensor y = y_raw.clamp_min(0);
  at::Tensor p, bce;
  if (config.probability_clamp() > 0) {
    const double c = config.probability_clamp();
    p = at::sigmoid(x).clamp(c, 1.0 - c);
    bce = -(y * p.log() + (1 - y) * (1 - p).log());
  } else {
    p = at::sigmoid(x);
    bce = at::binary_cross_entropy_with_logits(
        x, y, /*weight=*/{}, /*pos_weight=*/{}, at::Reduction::None);
  }
  const at::Tensor p_t = p * y + (1 - p) * (1 - y);
  at::Tensor loss = bce * (1 - p_t).pow(config.gamma());
  if (config.alpha() >= 0)
    loss = loss * (config.alpha() * y + (1 - config.alpha()) * (1 - y));
  loss = loss * valid;
  switch (config.normalization()) {
    case FocalLossConfig::SUM:
      return loss.sum();
    case FocalLossConfig::NUM_POSITIVES: {
      const at::Tensor anchors =
          x.dim() == 0 ? y_raw.eq(1) : y_raw.eq(1).any(-1);
      return loss.sum() / anchors.sum().clamp_min(1).to(x.scalar_type());
    }
    case FocalLossConfig::MEAN:
    default:
      return loss.sum() / valid.sum().clamp_min(1);
  }
}

at::Tensor WeightedBceLoss(const at::Tensor& logits, const at::Tensor& targets,
                           const WeightedBceLossConfig& config) {
  CheckLogitsTargets(logits, targets);
  const at::Tensor x = AtLeastFloat32(logits);
  const at::Tensor y = targets.to(x.scalar_type());
  c10::optional<at::Tensor> pos_weight;
  if (config.pos_weight_size() > 0) {
    const int64_t classes = x.dim() == 0 ? 1 : x.size(-1);
    TORCH_CHECK_VALUE(
        config.pos_weight_size() == 1 || config.pos_weight_size() == classes,
        "weighted_bce.pos_weight has ", config.pos_weight_size(),
        " values but `logits` has ", classes, " classes in its last dimension");
    std::vector<double> w(config.pos_weight().begin(),
                          config.pos_weight().end());
    pos_weight = at::tensor(w, x.options());
  }
  return at::binary_cross_entropy_with_logits(x, y, /*weight=*/{}, pos_weight,
                                              at::Reduction::Mean);
}

at::Tensor WeightedCeLoss(const at::Tensor& logits, const at::Tensor& targets,
                          const WeightedCeLossConfig& config) {
  TORCH_CHECK_VALUE(
      logits.defined() && logits.dim() == 2 && logits.size(0) >= 1,
      "`logits` must be [B, C]");
  TORCH_CHECK_VALUE(at::isFloatingType(logits.scalar_type()),
                    "`logits` must be floating point");
  TORCH_CHECK_VALUE(targets.defined() && targets.dim() == 1 &&
                        targets.size(0) == logits.size(0) &&
                        targets.scalar_type() == at::kLong,
                    "`targets` must be [", logits.size(0), "] int64");
  const int64_t classes = logits.size(1);
  const at::Tensor kept = targets.ne(config.ignore_index());
  TORCH_CHECK_VALUE(
      targets.masked_select(kept).ge(0).all().item<bool>() &&
          targets.masked_select(kept).lt(classes).all().item<bool>(),
      "`targets` must lie in [0, ", classes, ") or equal ignore_index ",
      config.ignore_index());
  const at::Tensor x = AtLeastFloat32(logits);
  c10::optional<at::Tensor> weight;
  if (config.class_weight_size() > 0) {
    TORCH_CHECK_VALUE(config.class_weight_size() == classes,
                      "weighted_ce.class_weight has ",
                      config.class_weight_size(), " values but `logits` has ",
                      classes, " classes");
    std::vector<double> w(config.class_weight().begin(),
                          config.class_weight().end());
    weight = at::tensor(w, x.options());
  }
  return at::cross_entropy_loss(x, targets, weight, at::Reduction::Mean,
                                config.ignore_index());
}

}  // namespace mammovl::losses
