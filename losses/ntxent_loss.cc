#include "losses/ntxent_loss.h"

#include <ATen/ATen.h>

#include <limits>

#include "losses/clip_loss.h"
#include "losses/contrastive.h"

namespace mammovl::losses {

LossOutput NtXentLoss(const at::Tensor& view_a, const at::Tensor& view_b,
                      const SimClrLossConfig& config,
                      const GlobalBatch& batch) {
  CheckSameEmbeddings(view_a, "image_ssl", view_b, "image_view_ssl");
  TORCH_CHECK_VALUE(config.temperature() > 0, "simclr temperature must be > 0");
  const at::Tensor qa = L2Normalize(AtLeastFloat32(view_a));
  const at::Tensor qb = L2Normalize(AtLeastFloat32(view_b));
  const Keys ka = MakeKeys(qa, {}, batch, config.gather_negatives());
  const Keys kb = MakeKeys(qb, {}, batch, config.gather_negatives());
  const int64_t rows = qa.size(0);
  const double inv_t = 1.0 / config.temperature();

  // Row i of view a: [a_i . b_j | a_i . a_j], its own column a_i masked out.
  const at::Tensor self =
      at::arange(rows, qa.options().dtype(at::kLong)) + ka.offset;
  const at::Tensor self_mask =
      at::zeros({rows, ka.all.size(0)}, qa.options().dtype(at::kBool))
          .scatter_(1, self.unsqueeze(1), true);
  const double neg_inf = -std::numeric_limits<double>::infinity();
  const at::Tensor logits_a = at::cat(
      {at::matmul(qa, kb.all.t()) * inv_t,
       (at::matmul(qa, ka.all.t()) * inv_t).masked_fill(self_mask, neg_inf)},
      1);
  const at::Tensor logits_b = at::cat(
      {at::matmul(qb, ka.all.t()) * inv_t,
       (at::matmul(qb, kb.all.t()) * inv_t).masked_fill(self_mask, neg_inf)},
      1);
  const at::Tensor loss = (DiagonalCrossEntropy(logits_a, ka.offset) +
                           DiagonalCrossEntropy(logits_b, kb.offset)) /
                          2;
  LossOutput out;
  out.total = loss;
  out.terms = {{"ntxent", loss}};
  return out;
}

LossOutput SlipLoss(const at::Tensor& image, const at::Tensor& text,
                    const at::Tensor& logit_scale, const at::Tensor& image_ssl,
                    const at::Tensor& image_view_ssl,
                    const SlipLossConfig& config, const GlobalBatch& batch) {
  const LossOutput clip =
      ClipLoss(image, text, logit_scale, config.clip(), batch);
  const LossOutput ssl =
      NtXentLoss(image_ssl, image_view_ssl, config.simclr(), batch);
  LossOutput out;
  out.total = clip.total + config.ssl_scale() * ssl.total;
  out.terms = {{"clip", clip.total}, {"ssl", ssl.total}};
  return out;
}

}  // namespace mammovl::losses
