// CLIP / InfoNCE between image and text embeddings, and Mammo-CLIP's
// multi-view supervision loss built from the same pieces.
//
// Reference behaviour kept or changed (losses/README.md has the full list):
// - The temperature is a learnable logit_scale = ln(1/tau), used as
//   exp(logit_scale), unclamped unless the config sets a maximum (SLIP clamps
//   to ln 100 after each optimiser step; Mammo-CLIP and MaMA never clamp).
// - With gathering on, rows are local and columns global (logits
//   [B, W*B], targets rank*B + i), with gradient through the gather, as
//   Mammo-CLIP's DDP loss. SLIP's gather carries no gradient; we do not copy
//   that (it makes W ranks differ from one process on the combined batch).
// - Mammo-CLIP's image-label (VinDr) data uses the same loss on synthetic
//   reports, so identical reports in a batch are negatives of each other.
//   `use_group_ids` is the label-aware alternative: equal group ids (same label
//   set or same report) are positives, in every term.
#ifndef MAMMOVL_LOSSES_CLIP_LOSS_H_
#define MAMMOVL_LOSSES_CLIP_LOSS_H_

#include <ATen/core/Tensor.h>

#include "losses/loss.h"
#include "losses/loss_config.pb.h"

namespace mammovl::losses {

// Returns terms "i2t" = CE(s I T^T) and "t2i" = CE(s T I^T), s =
// exp(logit_scale), and total = image_to_text_weight * i2t +
// text_to_image_weight * t2i. `image`, `text` [B, D] float (normalised here),
// `logit_scale` 0-d, `group_ids` [B] int64 when `config.use_group_ids()`.
// Throws c10::ValueError on bad shapes.
LossOutput ClipLoss(const at::Tensor& image, const at::Tensor& text,
                    const at::Tensor& logit_scale, const ClipLossConfig& config,
                    const GlobalBatch& batch, const at::Tensor& group_ids = {});

// Mammo-CLIP's multi-view supervision loss (mammoclip.md §3.1), with
// CE(X, Y) the mean cross-entropy of s X Y^T against the diagonal:
//   i2t = [CE(I1,T1) + CE(I2,T1) + CE(I1,T2) + CE(I2,T2)] / 4
//   t2i = [CE(T1,I1) + CE(T1,I2) + CE(T2,I1) + CE(T2,I2)] / 4
//   i2i = [CE(I1,I2) + CE(I2,I1)] / 2,   t2t = [CE(T2,T1) + CE(T1,T2)] / 2
//   total = (i2t + t2i) / 2 + image_image_weight i2i + text_text_weight t2t
// Label smoothing applies to the 8 image-text terms and only when `training`.
// All four embeddings [B, D]; `group_ids` [B] int64 with `use_group_ids`.
LossOutput MammoClipLoss(const at::Tensor& image, const at::Tensor& image_view,
                         const at::Tensor& text, const at::Tensor& text_view,
                         const at::Tensor& logit_scale,
                         const MammoClipLossConfig& config,
                         const GlobalBatch& batch, bool training,
                         const at::Tensor& group_ids = {});

}  // namespace mammovl::losses

#endif  // MAMMOVL_LOSSES_CLIP_LOSS_H_
