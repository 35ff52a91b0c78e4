#include "losses/sla_loss.h"

#include <ATen/ATen.h>

#include <limits>

#include "losses/contrastive.h"

namespace mammovl::losses {

SlaScores ComputeSlaScores(const at::Tensor& sentences,
                           const at::Tensor& padding,
                           const at::Tensor& patches) {
  const int64_t bt = sentences.size(0), s = sentences.size(1),
                c = sentences.size(2);
  const int64_t bi = patches.size(0), p = patches.size(1);
  // a[j, q, i, k] = <patch q of image j, sentence k of caption i>.
  const at::Tensor a = at::matmul(patches.reshape({bi * p, c}),
                                  sentences.reshape({bt * s, c}).t())
                           .view({bi, p, bt, s});
  SlaScores scores;
  if (!padding.defined()) {
    scores.t2i = std::get<0>(a.max(1)).mean(2).t();  // [bi, bt, s] -> [bt, bi]
    scores.i2t = std::get<0>(a.max(3)).mean(1).t();  // [bi, p, bt] -> [bt, bi]
    return scores;
  }
  const at::Tensor valid = padding.logical_not();             // [bt, s]
  const at::Tensor count = valid.sum(1).to(a.scalar_type());  // [bt]
  // Max over patches; padded sentences weigh 0 in the mean.
  const at::Tensor max_p = std::get<0>(a.max(1));  // [bi, bt, s]
  scores.t2i = (max_p * valid.to(a.scalar_type()).unsqueeze(0)).sum(2).t() /
               count.unsqueeze(1);
  // Max over the real sentences only.
  const at::Tensor masked = a.masked_fill(
      padding.view({1, 1, bt, s}), -std::numeric_limits<double>::infinity());
  scores.i2t = std::get<0>(masked.max(3)).mean(1).t();
  return scores;
}

LossOutput SlaLoss(const at::Tensor& patches, const at::Tensor& sentences,
                   const at::Tensor& padding, const at::Tensor& local_scale,
                   const SlaLossConfig& config, const GlobalBatch& batch) {
  TORCH_CHECK_VALUE(patches.defined() && patches.dim() == 3 &&
                        patches.size(0) >= 1 && patches.size(1) >= 1,
                    "`image_local` must be [B, P, C], got ",
                    patches.defined() ? patches.sizes() : at::IntArrayRef{});
  TORCH_CHECK_VALUE(
      sentences.defined() && sentences.dim() == 3 &&
          sentences.size(0) == patches.size(0) &&
          sentences.size(2) == patches.size(2) && sentences.size(1) >= 1,
      "`text_local` must be [B, S, C] matching `image_local` ", patches.sizes(),
      ", got ", sentences.defined() ? sentences.sizes() : at::IntArrayRef{});
  TORCH_CHECK_VALUE(local_scale.defined() && local_scale.numel() == 1,
                    "local_scale must be a scalar tensor");
  CheckPadding(padding, sentences, /*need_one=*/true);

  const at::Tensor p = L2Normalize(AtLeastFloat32(patches));
  const at::Tensor e = L2Normalize(AtLeastFloat32(sentences));
  const at::Tensor scale = local_scale.reshape({}).to(p.scalar_type()).exp();
  const int64_t rows = p.size(0);

  at::Tensor t2i_rows, t2i_cols, i2t_rows, i2t_cols;  // each [B, N]: local rows
  int64_t offset = 0;
  if (config.gather_negatives() && batch.distributed()) {
    offset = batch.Offset(rows);
    const at::Tensor p_all = batch.Gather(p);
    const at::Tensor e_all = batch.Gather(e);
    const at::Tensor pad_all =
        padding.defined() ? batch.Gather(padding) : at::Tensor();
    // Local captions against every image, and every caption against local
    // images.
    const SlaScores local_text =
        ComputeSlaScores(e, padding, p_all);  // [B, WB]
    const SlaScores local_image =
        ComputeSlaScores(e_all, pad_all, p);  // [WB, B]
    t2i_rows = local_text.t2i;
    i2t_rows = local_text.i2t;
    t2i_cols = local_image.t2i.t();
    i2t_cols = local_image.i2t.t();
  } else {
    const SlaScores scores = ComputeSlaScores(e, padding, p);
    t2i_rows = scores.t2i;
    i2t_rows = scores.i2t;
    t2i_cols = scores.t2i.t();
    i2t_cols = scores.i2t.t();
  }
  const at::Tensor t2i = DiagonalCrossEntropy(scale * t2i_rows, offset) +
                         DiagonalCrossEntropy(scale * t2i_cols, offset);
  const at::Tensor i2t = DiagonalCrossEntropy(scale * i2t_rows, offset) +
                         DiagonalCrossEntropy(scale * i2t_cols, offset);
  LossOutput out;
  out.total = t2i + i2t;
  out.terms = {{"t2i", t2i}, {"i2t", i2t}};
  return out;
}

}  // namespace mammovl::losses
