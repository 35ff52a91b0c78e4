// Losses of the downstream heads: sigmoid focal loss (RetinaNet detector),
// weighted binary cross-entropy (Mammo-CLIP classifiers, FPN-MIL) and
// class-weighted softmax cross-entropy (density, BI-RADS, CBIS-DDSM probes).
//
// Reference behaviour kept or changed:
// - Focal: torchvision's `sigmoid_focal_loss` on logits by default; with
//   `probability_clamp` the Mammo-CLIP detector's form (probabilities clamped
//   to [1e-4, 1 - 1e-4], where the gradient is then zero) and its
//   normalisation by the number of positive anchors. Ignored anchors
//   (target < 0) count nowhere. alpha is a config value (scripts 0.25, paper
//   0.6).
// - Weighted BCE: pos_weight is a config value; the references hard-code
//   Mammo-CLIP's per-finding-row ratios, which FPN-MIL reuses on another
//   dataset. FPN-MIL's `nan_to_num` on the logits is not copied: a NaN loss
//   reaches the trainer's guard instead of being hidden.
#ifndef MAMMOVL_LOSSES_CLASSIFICATION_LOSSES_H_
#define MAMMOVL_LOSSES_CLASSIFICATION_LOSSES_H_

#include <ATen/core/Tensor.h>

#include "losses/loss_config.pb.h"

namespace mammovl::losses {

// Returns the focal loss of `logits` [..., C] float against `targets` of the
// same shape in {0, 1}, negative = ignored (any float dtype). 0-d.
at::Tensor FocalLoss(const at::Tensor& logits, const at::Tensor& targets,
                     const FocalLossConfig& config);

// Returns mean_e -[w_c y log s(z) + (1 - y) log(1 - s(z))] over all elements,
// w_c from `config.pos_weight()` along the last dimension. `logits`,
// `targets` same shape, targets in [0, 1]. 0-d.
at::Tensor WeightedBceLoss(const at::Tensor& logits, const at::Tensor& targets,
                           const WeightedBceLossConfig& config);

// Returns sum_i w_{y_i} (-log softmax(logits_i)[y_i]) / sum_i w_{y_i} over the
// rows whose target is not `ignore_index` (PyTorch's weighted mean).
// `logits` [B, C] float, `targets` [B] int64 in [0, C) or ignore_index. 0-d;
// NaN when every row is ignored, as PyTorch.
at::Tensor WeightedCeLoss(const at::Tensor& logits, const at::Tensor& targets,
                          const WeightedCeLossConfig& config);

}  // namespace mammovl::losses

#endif  // MAMMOVL_LOSSES_CLASSIFICATION_LOSSES_H_
