#include "losses/mgca_loss.h"

#include <ATen/ATen.h>

#include <limits>

#include "losses/clip_loss.h"
#include "losses/contrastive.h"
#include "losses/sinkhorn.h"

namespace mammovl::losses {
namespace {

// Linear-interpolated quantile `q` of the first `count[b]` entries of each
// sorted row of `sorted` [B, N]; rows with count 0 give garbage (masked later).
at::Tensor RowQuantile(const at::Tensor& sorted, const at::Tensor& count,
                       double q) {
  const at::Tensor pos =
      ((count - 1).clamp_min(0).to(sorted.scalar_type()) * q).unsqueeze(1);
  const at::Tensor below = pos.floor();
  const at::Tensor above = pos.ceil();
  const at::Tensor lo = sorted.gather(1, below.to(at::kLong));
  const at::Tensor hi = sorted.gather(1, above.to(at::kLong));
  return at::lerp(lo, hi, pos - below);
}

// sum_i w_i CE(sim[i, :], i) and sum_j w_j CE(sim[:, j], j) for every sample,
// each averaged over the batch, then halved: [B, N, N] logits, [B, N] weights.
// `column_mask` [B, N] (true = excluded) removes columns from the row softmax
// and rows from the column softmax.
at::Tensor TwoWayWeightedCe(at::Tensor sim, const at::Tensor& weights,
                            const at::Tensor& column_mask) {
  const int64_t b = sim.size(0);
  if (column_mask.defined()) {
    const double neg_inf = -std::numeric_limits<double>::infinity();
    const at::Tensor by_rows =
        sim.masked_fill(column_mask.unsqueeze(1), neg_inf);
    const at::Tensor by_cols =
        sim.masked_fill(column_mask.unsqueeze(2), neg_inf);
    // Excluded slots have weight 0; zero their (infinite) CE before weighting.
    const at::Tensor ce_rows = (-at::log_softmax(by_rows, 2).diagonal(0, 1, 2))
                                   .masked_fill(column_mask, 0);
    const at::Tensor ce_cols = (-at::log_softmax(by_cols, 1).diagonal(0, 1, 2))
                                   .masked_fill(column_mask, 0);
    return ((weights * ce_rows).sum() / b + (weights * ce_cols).sum() / b) / 2;
  }
  const at::Tensor ce_rows =
      -at::log_softmax(sim, 2).diagonal(0, 1, 2);  // [B, N]
  const at::Tensor ce_cols = -at::log_softmax(sim, 1).diagonal(0, 1, 2);
  return ((weights * ce_rows).sum() / b + (weights * ce_cols).sum() / b) / 2;
}

void CheckTokens(const at::Tensor& x, const char* what) {
  TORCH_CHECK_VALUE(x.defined(), "`", what, "` is missing");
  TORCH_CHECK_VALUE(
      x.dim() == 3 && x.size(0) >= 1 && x.size(1) >= 1 && x.size(2) >= 1, "`",
      what, "` must be [B, N, D], got ", x.sizes());
  TORCH_CHECK_VALUE(at::isFloatingType(x.scalar_type()), "`", what,
                    "` must be floating point");
}

void CheckWeights(const at::Tensor& w, const at::Tensor& tokens,
                  const char* what) {
  TORCH_CHECK_VALUE(w.defined(), "`", what, "` is missing");
  TORCH_CHECK_VALUE(w.dim() == 2 && w.size(0) == tokens.size(0) &&
                        w.size(1) == tokens.size(1),
                    "`", what, "` must be [", tokens.size(0), ", ",
                    tokens.size(1), "], got ", w.sizes());
  TORCH_CHECK_VALUE(at::isFloatingType(w.scalar_type()), "`", what,
                    "` must be floating point");
  TORCH_CHECK_VALUE(w.min().item<double>() >= 0, "`", what, "` must be >= 0");
}

}  // namespace

at::Tensor ClipAndNormalizeWeights(const at::Tensor& raw, double low,
                                   double high) {
  TORCH_CHECK_VALUE(raw.dim() == 2, "weights must be [B, N], got ",
                    raw.sizes());
  at::NoGradGuard no_grad;
  const at::Tensor w = AtLeastFloat32(raw.detach());
  const at::Tensor nonzero = w.ne(0);
  const at::Tensor count = nonzero.sum(1);
  const at::Tensor sorted =
      std::get<0>(w.masked_fill(nonzero.logical_not(),
                                std::numeric_limits<double>::infinity())
                      .sort(1));
  const at::Tensor lo = RowQuantile(sorted, count, low);
  const at::Tensor hi = RowQuantile(sorted, count, high);
  const at::Tensor clipped =
      at::where(nonzero, at::min(at::max(w, lo), hi), at::zeros_like(w));
  const at::Tensor sum = clipped.sum(1, /*keepdim=*/true);
  return at::where(sum > 0,
                   clipped / sum.clamp_min(std::numeric_limits<float>::min()),
                   at::zeros_like(clipped));
}

LossOutput CtaLoss(const at::Tensor& patches, const at::Tensor& words,
                   const at::Tensor& word_padding,
                   const at::Tensor& word_importance,
                   const at::Tensor& patch_weights,
                   const MgcaLossConfig& config) {
  CheckTokens(patches, "image_local");
  CheckTokens(words, "text_local");
  TORCH_CHECK_VALUE(
      words.size(0) == patches.size(0) && words.size(2) == patches.size(2),
      "`text_local` ", words.sizes(), " does not match `image_local` ",
      patches.sizes());
  CheckWeights(word_importance, words, "text_local_weights");
  if (patch_weights.defined())
    CheckWeights(patch_weights, patches, "image_local_weights");
  CheckPadding(word_padding, words, /*need_one=*/true);

  const at::Tensor p = L2Normalize(AtLeastFloat32(patches));  // [B, P, D]
  const at::Tensor w = L2Normalize(AtLeastFloat32(words));    // [B, W, D]
  const double inv_tau = 1.0 / config.local_temperature();
  const double q_lo = config.weight_quantile_low(),
               q_hi = config.weight_quantile_high();
  const double neg_inf = -std::numeric_limits<double>::infinity();

  // Word side: every word attends over all patches.
  const at::Tensor word_attn =
      at::softmax(at::bmm(w, p.transpose(1, 2)) * inv_tau, 2);
  const at::Tensor word_context = L2Normalize(at::bmm(word_attn, p));
  const at::Tensor word_sim =
      at::bmm(w, word_context.transpose(1, 2)) * inv_tau;  // [B, W, W]
  at::Tensor word_weights =
      ClipAndNormalizeWeights(word_importance, q_lo, q_hi).to(w.dtype());
  at::Tensor word_mask;
  if (config.mask_padded_words() && word_padding.defined()) {
    word_mask = word_padding;
    word_weights = word_weights.masked_fill(word_padding, 0);
  }
  const at::Tensor cta_word =
      TwoWayWeightedCe(word_sim, word_weights, word_mask);

  LossOutput out;
  out.total = cta_word;
  out.terms = {{"cta_word", cta_word}};
  if (!config.bidirectional()) return out;

  // Patch side: every patch attends over the unpadded words.
  at::Tensor patch_word = at::bmm(p, w.transpose(1, 2));  // [B, P, W]
  if (word_padding.defined()) {
    patch_word = patch_word.masked_fill(word_padding.unsqueeze(1), neg_inf);
  }
  at::Tensor patch_context = at::bmm(at::softmax(patch_word * inv_tau, 2), w);
  if (config.normalize_patch_context())
    patch_context = L2Normalize(patch_context);
  const at::Tensor patch_sim =
      at::bmm(p, patch_context.transpose(1, 2)) * inv_tau;
  const at::Tensor pw =
      patch_weights.defined()
          ? ClipAndNormalizeWeights(patch_weights, q_lo, q_hi).to(p.dtype())
          : at::full({p.size(0), p.size(1)}, 1.0 / p.size(1), p.options());
  const at::Tensor cta_patch = TwoWayWeightedCe(patch_sim, pw, {});
  out.total = cta_word + cta_patch;
  out.terms.push_back({"cta_patch", cta_patch});
  return out;
}

LossOutput CpaLoss(const at::Tensor& image, const at::Tensor& text,
                   const at::Tensor& prototypes, const MgcaLossConfig& config,
                   const GlobalBatch& batch) {
  CheckSameEmbeddings(image, "image", text, "text");
  TORCH_CHECK_VALUE(
      prototypes.defined() && prototypes.dim() == 2 &&
          prototypes.size(1) == image.size(1),
      "prototypes must be [K, ", image.size(1), "], got ",
      prototypes.defined() ? prototypes.sizes() : at::IntArrayRef{});
  const at::Tensor v = L2Normalize(AtLeastFloat32(image));
  const at::Tensor t = L2Normalize(AtLeastFloat32(text));
  const at::Tensor cp = prototypes.to(v.scalar_type());
  const at::Tensor zv = at::matmul(v, cp.t());  // [B, K]
  const at::Tensor zt = at::matmul(t, cp.t());

  // Codes over every rank's samples when gathering (SwAV's distributed
  // Sinkhorn), then this rank's rows.
  auto codes = [&](const at::Tensor& z) {
    if (!(config.gather_negatives() && batch.distributed())) {
      return SinkhornKnopp(z, config.sinkhorn_epsilon(),
                           config.sinkhorn_iterations());
    }
    const at::Tensor all = batch.Gather(z.detach());
    return SinkhornKnopp(all, config.sinkhorn_epsilon(),
                         config.sinkhorn_iterations())
        .narrow(0, batch.Offset(z.size(0)), z.size(0));
  };
  const at::Tensor qv = codes(zv);
  const at::Tensor qt = codes(zt);
  const double inv_tau = 1.0 / config.prototype_temperature();
  const at::Tensor log_pv = at::log_softmax(zv * inv_tau, 1);
  const at::Tensor log_pt = at::log_softmax(zt * inv_tau, 1);
  const at::Tensor i2t = -(qv * log_pt).sum(1).mean();
  const at::Tensor t2i = -(qt * log_pv).sum(1).mean();
  LossOutput out;
  out.total = (i2t + t2i) / 2;
  out.terms = {{"cpa", out.total}};
  return out;
}

LossOutput MgcaLoss(const LossInputs& inputs, const at::Tensor& prototypes,
                    const MgcaLossConfig& config, const GlobalBatch& batch) {
  ClipLossConfig ita_config;
  ita_config.set_image_to_text_weight(1.0);
  ita_config.set_text_to_image_weight(1.0);
  ita_config.set_gather_negatives(config.gather_negatives());
  const at::Tensor ita_scale =
      at::scalar_tensor(LogitScaleFor(config.ita_temperature()), at::kDouble);
  const LossOutput ita =
      ClipLoss(inputs.image, inputs.text, ita_scale, ita_config, batch);
  const LossOutput cta =
      CtaLoss(inputs.image_local, inputs.text_local, inputs.text_local_padding,
              inputs.text_local_weights, inputs.image_local_weights, config);
  const LossOutput cpa =
      CpaLoss(inputs.image, inputs.text, prototypes, config, batch);

  LossOutput out;
  out.total = config.ita_weight() * ita.total +
              config.cta_weight() * cta.total + config.cpa_weight() * cpa.total;
  out.terms = {{"ita", ita.total}, {"cta", cta.total}};
  out.AddTerms(cta, "");
  out.terms.push_back({"cpa", cpa.total});
  return out;
}

}  // namespace mammovl::losses
