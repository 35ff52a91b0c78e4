#include "losses/contrastive.h"

#include <ATen/ATen.h>

#include <cmath>

#include "absl/strings/str_cat.h"

namespace mammovl::losses {

at::Tensor DiagonalCrossEntropy(const at::Tensor& logits, int64_t offset,
                                double label_smoothing) {
  const int64_t rows = logits.size(0);
  TORCH_CHECK_VALUE(
      logits.dim() == 2 && offset >= 0 && offset + rows <= logits.size(1),
      "logits ", logits.sizes(), " cannot hold the positives at offset ",
      offset);
  const at::Tensor targets =
      at::arange(offset, offset + rows, logits.options().dtype(at::kLong));
  return at::cross_entropy_loss(logits, targets, /*weight=*/{},
                                at::Reduction::Mean,
                                /*ignore_index=*/-100, label_smoothing);
}

at::Tensor GroupCrossEntropy(const at::Tensor& logits,
                             const at::Tensor& row_ids,
                             const at::Tensor& col_ids,
                             double label_smoothing) {
  TORCH_CHECK_VALUE(logits.dim() == 2 && row_ids.numel() == logits.size(0) &&
                        col_ids.numel() == logits.size(1),
                    "group ids ", row_ids.sizes(), " / ", col_ids.sizes(),
                    " do not match logits ", logits.sizes());
  const at::Tensor same = row_ids.reshape({-1, 1})
                              .eq(col_ids.reshape({1, -1}))
                              .to(logits.scalar_type());
  const at::Tensor count = same.sum(1, /*keepdim=*/true);
  TORCH_CHECK_VALUE(count.min().item<double>() > 0,
                    "a row's group id does not occur among the column ids");
  at::Tensor targets = same / count;
  if (label_smoothing > 0) {
    targets =
        targets * (1.0 - label_smoothing) + label_smoothing / logits.size(1);
  }
  return -(targets * at::log_softmax(logits, 1)).sum(1).mean();
}

Keys MakeKeys(const at::Tensor& local, const at::Tensor& ids,
              const GlobalBatch& batch, bool gather) {
  Keys keys;
  if (gather && batch.distributed()) {
    keys.all = batch.Gather(local);
    keys.offset = batch.Offset(local.size(0));
    if (ids.defined()) keys.ids = batch.Gather(ids);
  } else {
    keys.all = local;
    keys.ids = ids;
  }
  return keys;
}

at::Tensor InfoNce(const at::Tensor& queries, const Keys& keys,
                   const at::Tensor& scale, double label_smoothing,
                   const at::Tensor& row_ids) {
  const at::Tensor logits = at::matmul(queries, keys.all.t()) * scale;
  if (row_ids.defined()) {
    return GroupCrossEntropy(logits, row_ids, keys.ids, label_smoothing);
  }
  return DiagonalCrossEntropy(logits, keys.offset, label_smoothing);
}

double LogitScaleFor(double temperature) { return std::log(1.0 / temperature); }

at::Tensor MakeLogitScale(const TemperatureConfig& config) {
  // A parameter in float32 like the model's; a constant in float64 so that
  // float64 computations see the exact value.
  at::Tensor scale =
      at::scalar_tensor(LogitScaleFor(config.initial()),
                        config.learnable() ? at::kFloat : at::kDouble);
  if (config.learnable()) scale.set_requires_grad(true);
  return scale;
}

void ClampLogitScale(const TemperatureConfig& config, at::Tensor& logit_scale) {
  if (!config.has_max_logit_scale()) return;
  at::NoGradGuard no_grad;
  logit_scale.clamp_(config.min_logit_scale(), config.max_logit_scale());
}

absl::Status ValidateTemperatureConfig(const TemperatureConfig& config,
                                       absl::string_view field) {
  if (!(config.initial() > 0) || !std::isfinite(config.initial())) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".initial must be a finite temperature > 0 (got ",
                     config.initial(), ")"));
  }
  if (config.has_max_logit_scale() &&
      !(config.min_logit_scale() <= config.max_logit_scale())) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".min_logit_scale must be <= max_logit_scale (got ",
        config.min_logit_scale(), " vs ", config.max_logit_scale(), ")"));
  }
  return absl::OkStatus();
}

void CheckEmbedding(const at::Tensor& x, const char* what) {
  TORCH_CHECK_VALUE(x.defined(), "`", what, "` is missing");
  TORCH_CHECK_VALUE(x.dim() == 2 && x.size(0) >= 1 && x.size(1) >= 1, "`", what,
                    "` must be [B, D] with B, D >= 1, got ", x.sizes());
  TORCH_CHECK_VALUE(at::isFloatingType(x.scalar_type()), "`", what,
                    "` must be floating point, got ", x.scalar_type());
}

void CheckSameEmbeddings(const at::Tensor& a, const char* a_name,
                         const at::Tensor& b, const char* b_name) {
  CheckEmbedding(a, a_name);
  CheckEmbedding(b, b_name);
  TORCH_CHECK_VALUE(a.sizes() == b.sizes(), "`", a_name, "` ", a.sizes(),
                    " and `", b_name, "` ", b.sizes(),
                    " must have the same shape");
}

void CheckGroupIds(const at::Tensor& ids, int64_t rows) {
  TORCH_CHECK_VALUE(ids.defined(),
                    "`group_ids` is missing (use_group_ids is set)");
  TORCH_CHECK_VALUE(
      ids.dim() == 1 && ids.size(0) == rows && ids.scalar_type() == at::kLong,
      "`group_ids` must be [", rows, "] int64, got ", ids.sizes(), " ",
      ids.scalar_type());
}

void CheckPadding(const at::Tensor& padding, const at::Tensor& tokens,
                  bool need_one) {
  if (!padding.defined()) return;
  TORCH_CHECK_VALUE(padding.dim() == 2 && padding.size(0) == tokens.size(0) &&
                        padding.size(1) == tokens.size(1) &&
                        padding.scalar_type() == at::kBool,
                    "`text_local_padding` must be [", tokens.size(0), ", ",
                    tokens.size(1), "] bool, got ", padding.sizes(), " ",
                    padding.scalar_type());
  if (need_one) {
    TORCH_CHECK_VALUE(
        padding.logical_not().any(1).all().item<bool>(),
        "`text_local_padding`: every row needs at least one slot that is not "
        "padding");
  }
}

}  // namespace mammovl::losses
