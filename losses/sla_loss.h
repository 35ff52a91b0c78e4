// MaMA's symmetric local alignment (SLA) between the patch embeddings of an
// image and the sentence embeddings of a caption (mama.md §6.4).
//
// For caption i and image j, A_ij = P_j E_i^T holds the cosines between image
// j's patches and caption i's sentences, and
//   T2I[i, j] = mean over sentences of the max over patches of A_ij,
//   I2T[i, j] = mean over patches of the max over sentences of A_ij,
//   loss = CE(s T2I) + CE(s T2I^T) + CE(s I2T) + CE(s I2T^T),  s =
//   exp(local_scale)
// (four directions summed, not averaged, as the reference).
//
// Reference behaviour kept or changed:
// - Captions come as a padded [B, S, C] tensor with a padding mask instead of
//   a ragged list; a caption with a single sentence works (the reference's
//   `squeeze` crashes on it), one with none is an error.
// - The reference never gathers across GPUs; `gather_negatives` can, at the
//   cost of gathering [B, P, C] patch embeddings.
// - The text local head's per-caption BatchNorm is a model matter, not here.
#ifndef MAMMOVL_LOSSES_SLA_LOSS_H_
#define MAMMOVL_LOSSES_SLA_LOSS_H_

#include <ATen/core/Tensor.h>

#include "losses/loss.h"
#include "losses/loss_config.pb.h"

namespace mammovl::losses {

// Score matrices of SLA between `sentences` [Bt, S, C] of Bt captions (unit
// norm, `padding` [Bt, S] bool true = padded slot, or undefined = none) and
// `patches` [Bi, P, C] of Bi images (unit norm). Both results [Bt, Bi].
struct SlaScores {
  at::Tensor t2i;
  at::Tensor i2t;
};
SlaScores ComputeSlaScores(const at::Tensor& sentences,
                           const at::Tensor& padding,
                           const at::Tensor& patches);

// Returns terms "t2i" = CE(s T2I) + CE(s T2I^T) and "i2t" likewise; total =
// t2i + i2t. `patches` [B, P, C], `sentences` [B, S, C] float (normalised
// here), `padding` [B, S] bool or undefined, `local_scale` 0-d. Throws
// c10::ValueError on bad shapes or a caption without sentences.
LossOutput SlaLoss(const at::Tensor& patches, const at::Tensor& sentences,
                   const at::Tensor& padding, const at::Tensor& local_scale,
                   const SlaLossConfig& config, const GlobalBatch& batch);

}  // namespace mammovl::losses

#endif  // MAMMOVL_LOSSES_SLA_LOSS_H_
