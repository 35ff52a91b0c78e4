// MGCA's multi-granularity alignment (mgca_slip.md A6): instance-wise ITA,
// token-wise CTA and prototype-wise CPA.
//
//   ita = CE(V T^T / 0.07) + CE(T V^T / 0.07)       (fixed temperature, summed)
//   cta = cta_word + cta_patch, per sample b (tau = local_temperature):
//     word side:  A = softmax_p(W P^T / tau); C = normalise(A P);
//                 S = W C^T / tau; the positive of word i is its own context i.
//     cta_word  = 1/2 [1/B sum_b sum_i w_bi CE(S_b[i, :], i)
//                      + 1/B sum_b sum_j w_bj CE(S_b[:, j], j)]
//     patch side: the same with patches as queries over the unpadded words;
//                 context normalised only if `normalize_patch_context`,
//                 weights uniform or from `image_local_weights`.
//   cpa = 1/2 [-mean_b sum_k Qv log pt - mean_b sum_k Qt log pv],
//     Zv = V Cp^T, Zt = T Cp^T, Q = SinkhornKnopp(Z) (no gradient),
//     p = softmax(Z / prototype_temperature)
//   total = ita_weight ita + cta_weight cta + cpa_weight cpa
// Word and patch weights: non-zero entries clipped to the [low, high]
// quantiles of the row's non-zero entries (linear interpolation), zeros stay,
// rows normalised to sum 1.
//
// Reference behaviour kept or changed:
// - Kept: padded word slots are negatives on the word side (off with
//   `mask_padded_words`); ViT patch context unnormalised (choose with
//   `normalize_patch_context`); prototypes re-normalised to unit rows in place
//   before every forward and frozen during the first epoch (done by the `Loss`
//   object, losses/loss_builder.cc; the functions here use them as given).
// - Changed: CPA uses log-softmax instead of log(softmax) (differences
//   ~1e-7); Sinkhorn runs in the log domain (no overflow); with
//   `gather_negatives`, ITA negatives and the Sinkhorn codes span all ranks
//   (the reference's distributed Sinkhorn was never used and could not run).
// - The word-importance off-by-one and the truncated-report word drop belong
//   to the text tower's word aggregation, not to this loss.
#ifndef MAMMOVL_LOSSES_MGCA_LOSS_H_
#define MAMMOVL_LOSSES_MGCA_LOSS_H_

#include <ATen/core/Tensor.h>

#include "losses/loss.h"
#include "losses/loss_config.pb.h"

namespace mammovl::losses {

// Returns `raw` [B, N] (>= 0) with each row's non-zero entries clipped to the
// row's `low` / `high` quantiles of its non-zero entries, zeros kept, and the
// row divided by its sum (an all-zero row stays zero). No gradient.
at::Tensor ClipAndNormalizeWeights(const at::Tensor& raw, double low,
                                   double high);

// Returns terms "cta_word", "cta_patch" (the latter only when
// `config.bidirectional()`) and their sum as total. `patches` [B, P, D],
// `words` [B, W, D] float (normalised here), `word_padding` [B, W] bool or
// undefined, `word_importance` [B, W] >= 0, `patch_weights` [B, P] or
// undefined (uniform).
LossOutput CtaLoss(const at::Tensor& patches, const at::Tensor& words,
                   const at::Tensor& word_padding,
                   const at::Tensor& word_importance,
                   const at::Tensor& patch_weights,
                   const MgcaLossConfig& config);

// Returns CPA (term "cpa" = total). `image`, `text` [B, D] (normalised here),
// `prototypes` [K, D] used as given (unit rows expected).
LossOutput CpaLoss(const at::Tensor& image, const at::Tensor& text,
                   const at::Tensor& prototypes, const MgcaLossConfig& config,
                   const GlobalBatch& batch);

// Returns terms "ita", "cta", "cta_word", "cta_patch", "cpa" (cta_patch only
// when bidirectional) and the weighted total. Reads `image`, `text`,
// `image_local`, `text_local`, `text_local_padding`, `text_local_weights`,
// `image_local_weights` (optional).
LossOutput MgcaLoss(const LossInputs& inputs, const at::Tensor& prototypes,
                    const MgcaLossConfig& config, const GlobalBatch& batch);

}  // namespace mammovl::losses

#endif  // MAMMOVL_LOSSES_MGCA_LOSS_H_
