// SimCLR's NT-Xent between two views, and SLIP (CLIP + SimCLR).
//
// NT-Xent over the 2N views of a batch: each view's positive is its partner,
// the other 2N - 2 views are negatives, its own similarity is left out. This
// is the lightly/MaMA form and the SLIP form at once (SLIP's -1e9 on the
// diagonal and lightly's removal of it give the same value). With gathering,
// rows are this rank's 2B views and columns all ranks' 2WB views.
//
// Reference behaviour kept or changed:
// - MaMA's vendored NT-Xent crashes with more than one GPU; the published
//   training (with lightly) gathered with gradient. We gather with gradient.
// - SLIP gathers the CLIP embeddings without gradient; we keep the gradient
//   (see losses/clip_loss.h).
// - MedSLIP puts the SimCLR head on the projected CLIP embedding: a model
//   choice, irrelevant here (the loss takes whatever projections it is given).
#ifndef MAMMOVL_LOSSES_NTXENT_LOSS_H_
#define MAMMOVL_LOSSES_NTXENT_LOSS_H_

#include <ATen/core/Tensor.h>

#include "losses/loss.h"
#include "losses/loss_config.pb.h"

namespace mammovl::losses {

// Returns term "ntxent" (= total): the mean over this rank's 2B views of
// -log softmax over the other views of (cos / temperature), at the partner.
// `view_a`, `view_b` [B, D] float projections (normalised here).
LossOutput NtXentLoss(const at::Tensor& view_a, const at::Tensor& view_b,
                      const SimClrLossConfig& config, const GlobalBatch& batch);

// Returns terms "clip" (ClipLoss of `config.clip()`) and "ssl" (NT-Xent of
// `config.simclr()`), total = clip + ssl_scale * ssl.
LossOutput SlipLoss(const at::Tensor& image, const at::Tensor& text,
                    const at::Tensor& logit_scale, const at::Tensor& image_ssl,
                    const at::Tensor& image_view_ssl,
                    const SlipLossConfig& config, const GlobalBatch& batch);

}  // namespace mammovl::losses

#endif  // MAMMOVL_LOSSES_NTXENT_LOSS_H_
