// MaMA's pretraining loss (mama.md §6): CLIP image-text always; from
// `late_loss_step` on also multi-view NT-Xent, CLIP between the partner image
// and the caption, and SLA.
//
//   it         = CE(s V T^T) + CE(s T V^T)          (sum of both directions)
//   ii         = NT-Xent(image_ssl, image_view_ssl; tau = simclr_temperature)
//   it_partner = CE(s V' T^T) + CE(s T V'^T)
//   sla        = see losses/sla_loss.h, with s_l = exp(local_scale)
//   total = it                                                   step < late
//   total = it + w_ii ii + w_partner it_partner + w_sla sla      step >= late
//
// Reference behaviour kept or changed:
// - The gate is a function of the optimiser step: below it the late terms
//   are not computed at all (and not reported), so local_scale and the heads
//   feeding them get no gradient, as in the reference. The reference also
//   freezes the local heads until the gate and unfreezes them at it, which
//   leaves DDP replicas drifting apart; here nothing is frozen, the gate alone
//   decides (the trainer's all-reduce handles parameters without gradient).
// - Temperatures are learnable and unclamped; the global CLIP terms are sums
//   of two directions, not averages.
// - The reference's CLIP terms use only the local batch and its NT-Xent the
//   global one; `gather_global_negatives` gathers both or neither.
#ifndef MAMMOVL_LOSSES_MAMA_LOSS_H_
#define MAMMOVL_LOSSES_MAMA_LOSS_H_

#include <ATen/core/Tensor.h>

#include "losses/loss.h"
#include "losses/loss_config.pb.h"

namespace mammovl::losses {

// True when the late terms are on at `global_step`.
bool MamaLateTermsOn(const MamaLossConfig& config, int64_t global_step);

// Returns terms "it" and, from the gate on, those of the non-zero weights
// among "ii", "it_partner", "sla". Reads `image`, `image_view`, `text` [B, D]
// and, from the gate on, `image_ssl`, `image_view_ssl` [B, Dz], `image_local`
// [B, P, C], `text_local` [B, S, C], `text_local_padding` [B, S]. Throws
// c10::ValueError naming a missing or mis-shaped input.
LossOutput MamaLoss(const LossInputs& inputs, const at::Tensor& logit_scale,
                    const at::Tensor& local_scale, const MamaLossConfig& config,
                    const LossContext& context);

}  // namespace mammovl::losses

#endif  // MAMMOVL_LOSSES_MAMA_LOSS_H_
