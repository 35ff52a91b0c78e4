// Building blocks of the contrastive losses: cross-entropy with diagonal or
// group targets over local rows and (possibly all-gathered) columns, and the
// learnable temperature held as logit_scale = ln(1 / tau).
#ifndef MAMMOVL_LOSSES_CONTRASTIVE_H_
#define MAMMOVL_LOSSES_CONTRASTIVE_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "losses/loss.h"
#include "losses/loss_config.pb.h"

namespace mammovl::losses {

// Returns mean_i of -log softmax(logits[i])[offset + i] for `logits` [B, N]
// (N >= offset + B). With label smoothing eps the target of row i is
// (1 - eps) one-hot + eps / N, as PyTorch's cross_entropy.
at::Tensor DiagonalCrossEntropy(const at::Tensor& logits, int64_t offset,
                                double label_smoothing = 0);

// Returns mean_i of -sum_j t_ij log softmax(logits[i])_j where t_i is spread
// evenly over the columns j with col_ids[j] == row_ids[i], then smoothed as
// above. `logits` [B, N], `row_ids` [B], `col_ids` [N] int64; every row id
// must occur among the column ids (true when rows are a slice of columns).
at::Tensor GroupCrossEntropy(const at::Tensor& logits,
                             const at::Tensor& row_ids,
                             const at::Tensor& col_ids,
                             double label_smoothing = 0);

// The columns a local row is scored against: every rank's rows (gathered) or
// this rank's, with the column of local row 0's positive, and the group ids of
// the columns when group targets are used.
struct Keys {
  at::Tensor all;      // [N, D]
  int64_t offset = 0;  // positive of local row i is column offset + i
  at::Tensor ids;      // [N] int64, or undefined
};

// Gathers `local` (and `ids`, if defined) when `gather` is set, else returns
// them as they are with offset 0.
Keys MakeKeys(const at::Tensor& local, const at::Tensor& ids,
              const GlobalBatch& batch, bool gather);

// One InfoNCE direction: cross-entropy of scale * queries keys.all^T, rows the
// local `queries` [B, D], positives on the (offset) diagonal, or spread over
// equal ids when `row_ids` is defined. Inputs already unit norm; `scale` 0-d.
at::Tensor InfoNce(const at::Tensor& queries, const Keys& keys,
                   const at::Tensor& scale, double label_smoothing = 0,
                   const at::Tensor& row_ids = {});

// Returns ln(1 / tau).
double LogitScaleFor(double temperature);

// Returns logit_scale at initialisation as a 0-d tensor: float32 requiring
// grad when `config.learnable()`, else a float64 constant.
at::Tensor MakeLogitScale(const TemperatureConfig& config);

// Clamps `logit_scale` in place to [min_logit_scale, max_logit_scale] when
// `config` has a maximum; no-op otherwise. Call after the optimiser step.
void ClampLogitScale(const TemperatureConfig& config, at::Tensor& logit_scale);

// Checks `initial` > 0 and min <= max; errors start with `field`.
absl::Status ValidateTemperatureConfig(const TemperatureConfig& config,
                                       absl::string_view field);

// Checks a 2-D input: [B, D] with B >= 1 and D >= 1; `what` names it.
void CheckEmbedding(const at::Tensor& x, const char* what);
// Checks that `a` and `b` are [B, D] embeddings of the same shape.
void CheckSameEmbeddings(const at::Tensor& a, const char* a_name,
                         const at::Tensor& b, const char* b_name);
// Checks `ids` is [B] int64 (B = `rows`).
void CheckGroupIds(const at::Tensor& ids, int64_t rows);
// Checks `padding` against `tokens` [B, S, C]: [B, S] bool with at least one
// slot per row not padded (when `need_one` is set). Undefined is accepted.
void CheckPadding(const at::Tensor& padding, const at::Tensor& tokens,
                  bool need_one);

}  // namespace mammovl::losses

#endif  // MAMMOVL_LOSSES_CONTRASTIVE_H_
