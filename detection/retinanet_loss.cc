#include "detection/retinanet_loss.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "detection/box_ops.h"

namespace mammovl::detection {

absl::Status ValidateAssignerConfig(const AssignerConfig& config) {
  const double pos = config.positive_iou(), neg = config.negative_iou();
  if (!(pos > 0 && pos <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "assigner.positive_iou must be in (0, 1] (got ", pos, ")"));
  }
  if (!(neg > 0 && neg <= pos)) {
    return absl::InvalidArgumentError(
        absl::StrCat("assigner.negative_iou must be in (0, positive_iou] (got ",
                     neg, " vs ", pos, ")"));
  }
  return absl::OkStatus();
}

AnchorAssignment AssignAnchors(const at::Tensor& anchors,
                               const at::Tensor& boxes,
                               const AssignerConfig& config) {
  AnchorAssignment out;
  const int64_t num_anchors = anchors.size(0);
  if (boxes.size(0) == 0) {
    out.matched = at::full({num_anchors}, kNegativeAnchor, at::kLong);
    out.max_iou = at::zeros({num_anchors}, anchors.options());
    return out;
  }
  const at::Tensor iou = BoxIouMatrix(anchors, boxes);
  auto [max_iou, argmax] = iou.max(/*dim=*/1);
  const at::Tensor positive = max_iou.ge(config.positive_iou());
  const at::Tensor negative = max_iou.lt(config.negative_iou());
  at::Tensor matched = at::full({num_anchors}, kIgnoredAnchor, at::kLong);
  matched.masked_fill_(negative, kNegativeAnchor);
  matched = at::where(positive, argmax, matched);
  out.matched = matched;
  out.max_iou = max_iou;
  out.num_positive = positive.sum().item<int64_t>();
  return out;
}

absl::Status ValidateRetinaLossConfig(const RetinaLossConfig& config) {
  if (!(config.alpha() >= 0 && config.alpha() <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("loss.alpha must be in [0, 1] (got ", config.alpha(), ")"));
  }
  if (!(config.gamma() >= 0) || !std::isfinite(config.gamma())) {
    return absl::InvalidArgumentError(
        absl::StrCat("loss.gamma must be >= 0 (got ", config.gamma(), ")"));
  }
  if (!(config.prob_clamp() > 0 && config.prob_clamp() < 0.5)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "loss.prob_clamp must be in (0, 0.5) (got ", config.prob_clamp(), ")"));
  }
  if (!(config.smooth_l1_beta() > 0) || !std::isfinite(config.smooth_l1_beta())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "loss.smooth_l1_beta must be > 0 (got ", config.smooth_l1_beta(), ")"));
  }
  if (!(config.regression_weight() >= 0) ||
      !std::isfinite(config.regression_weight())) {
    return absl::InvalidArgumentError(
        absl::StrCat("loss.regression_weight must be >= 0 (got ",
                     config.regression_weight(), ")"));
  }
  if (config.negative_image_loss() ==
      RetinaLossConfig::NEGATIVE_IMAGE_LOSS_UNSPECIFIED) {
    return absl::InvalidArgumentError("loss.negative_image_loss is unset");
  }
  return absl::OkStatus();
}

namespace {

absl::Status CheckShapes(const at::Tensor& cls, const at::Tensor& reg,
                         const at::Tensor& anchors,
                         const std::vector<ImageTargets>& targets) {
  if (cls.dim() != 3 || reg.dim() != 3 || reg.size(2) != 4 ||
      anchors.dim() != 2 || anchors.size(1) != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "retina loss: expected classification [B, A, K], regression [B, A, 4] "
        "and anchors [A, 4]; got ",
        c10::str(cls.sizes()), ", ", c10::str(reg.sizes()), ", ",
        c10::str(anchors.sizes())));
  }
  if (cls.size(0) != reg.size(0) || cls.size(1) != reg.size(1) ||
      cls.size(1) != anchors.size(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "retina loss: batch or anchor counts differ: classification ",
        c10::str(cls.sizes()), ", regression ", c10::str(reg.sizes()),
        ", anchors ", c10::str(anchors.sizes())));
  }
  if (static_cast<int64_t>(targets.size()) != cls.size(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("retina loss: ", targets.size(), " targets for a batch of ",
                     cls.size(0)));
  }
  const int64_t k = cls.size(2);
  for (size_t i = 0; i < targets.size(); ++i) {
    const ImageTargets& t = targets[i];
    if (!t.boxes.defined() || !t.labels.defined() || t.boxes.dim() != 2 ||
        t.boxes.size(1) != 4 || t.labels.dim() != 1 ||
        t.labels.size(0) != t.boxes.size(0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retina loss: targets of image ", i,
          " must be boxes [G, 4] and labels [G]"));
    }
    if (t.boxes.size(0) == 0) continue;
    if (!at::isfinite(t.boxes).all().item<bool>()) {
      return absl::InvalidArgumentError(
          absl::StrCat("retina loss: image ", i, " has non-finite boxes"));
    }
    const int64_t lo = t.labels.min().item<int64_t>();
    const int64_t hi = t.labels.max().item<int64_t>();
    if (lo < 0 || hi >= k) {
      return absl::InvalidArgumentError(
          absl::StrCat("retina loss: image ", i, " has label ", lo < 0 ? lo : hi,
                       " outside [0, ", k, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RetinaLoss> ComputeRetinaLoss(
    const at::Tensor& classification, const at::Tensor& regression,
    const at::Tensor& anchors, const std::vector<ImageTargets>& targets,
    const RetinaLossConfig& loss_config, const AssignerConfig& assigner_config,
    const BoxCoderConfig& coder_config) {
  MVL_RETURN_IF_ERROR(ValidateRetinaLossConfig(loss_config));
  MVL_RETURN_IF_ERROR(ValidateAssignerConfig(assigner_config));
  MVL_RETURN_IF_ERROR(ValidateBoxCoderConfig(coder_config));
  MVL_RETURN_IF_ERROR(core::RunTorch("retina loss: checking inputs", [&] {
    return CheckShapes(classification, regression, anchors, targets);
  }));
  return core::RunTorch("retina loss", [&]() -> RetinaLoss {
    const double alpha = loss_config.alpha();
    const double gamma = loss_config.gamma();
    const double eps = loss_config.prob_clamp();
    const double beta = loss_config.smooth_l1_beta();
    const at::Tensor anchors_f = anchors.to(classification.scalar_type());
    std::vector<at::Tensor> cls_losses, reg_losses;
    RetinaLoss out;
    for (int64_t j = 0; j < classification.size(0); ++j) {
      const at::Tensor c = at::clamp(classification[j], eps, 1.0 - eps);
      const at::Tensor r = regression[j];
      const ImageTargets& t = targets[j];
      const at::Tensor zero = at::zeros({}, c.options());
      if (t.boxes.size(0) == 0) {
        if (loss_config.negative_image_loss() ==
            RetinaLossConfig::NEGATIVE_IMAGE_FOCAL) {
          const at::Tensor fw = (1.0 - alpha) * at::pow(c, gamma);
          cls_losses.push_back((fw * -at::log(1.0 - c)).sum());
        } else {
          cls_losses.push_back(zero);
        }
        reg_losses.push_back(zero);
        continue;
      }
      const at::Tensor boxes = t.boxes.to(c.scalar_type());
      const AnchorAssignment assignment =
          AssignAnchors(anchors_f, boxes, assigner_config);
      out.num_positive_anchors += assignment.num_positive;
      const at::Tensor positive = assignment.matched.ge(0);
      const at::Tensor valid = assignment.matched.ne(kIgnoredAnchor);
      // One-hot targets of the positives; every other valid entry is 0.
      at::Tensor target = at::zeros_like(c);
      const at::Tensor pos_idx = positive.nonzero().squeeze(1);
      const at::Tensor pos_gt = assignment.matched.index_select(0, pos_idx);
      const at::Tensor pos_label = t.labels.index_select(0, pos_gt);
      target.index_put_({pos_idx, pos_label}, 1.0);
      const at::Tensor is_one = target.eq(1.0);
      const at::Tensor alpha_factor =
          at::where(is_one, at::full_like(c, alpha), at::full_like(c, 1.0 - alpha));
      const at::Tensor focal_weight =
          alpha_factor * at::pow(at::where(is_one, 1.0 - c, c), gamma);
      const at::Tensor bce =
          -(target * at::log(c) + (1.0 - target) * at::log(1.0 - c));
      const at::Tensor loss =
          at::where(valid.unsqueeze(1), focal_weight * bce, at::zeros_like(bce));
      const double num_pos = static_cast<double>(assignment.num_positive);
      cls_losses.push_back(loss.sum() / std::max(num_pos, 1.0));
      if (assignment.num_positive > 0) {
        const at::Tensor regression_target =
            EncodeBoxes(anchors_f.index_select(0, pos_idx),
                        boxes.index_select(0, pos_gt), coder_config);
        const at::Tensor diff =
            at::abs(regression_target - r.index_select(0, pos_idx));
        const at::Tensor l1 = at::where(diff.le(beta), (0.5 / beta) * at::pow(diff, 2),
                                        diff - 0.5 * beta);
        reg_losses.push_back(l1.mean());
      } else {
        reg_losses.push_back(zero);
      }
    }
    out.classification = at::stack(cls_losses).mean();
    out.regression = at::stack(reg_losses).mean();
    out.total = out.classification + loss_config.regression_weight() * out.regression;
    return out;
  });
}

}  // namespace mammovl::detection
