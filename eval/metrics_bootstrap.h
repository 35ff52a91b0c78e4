// Bootstrap confidence intervals (percentile method) for any metric, with a
// portable seeded resampler: the same seed gives the same intervals on every
// platform and compiler, and tools/fixtures/make_metric_fixtures.py replays
// the resampling in Python to check intervals of ROC AUC against
// scikit-learn. No LibTorch.
#ifndef MAMMOVL_EVAL_METRICS_BOOTSTRAP_H_
#define MAMMOVL_EVAL_METRICS_BOOTSTRAP_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mammovl::eval {

// SplitMix64 (Steele, Lea, Flood 2014): 64-bit state, defined output
// sequence. `Below(n)` is Lemire's unbiased multiply-shift bounded draw.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform integer in [0, n); n >= 1.
  uint64_t Below(uint64_t n);

 private:
  uint64_t state_;
};

// The q-quantile (q in [0, 1]) of `values` with linear interpolation between
// order statistics, as numpy's default `np.quantile(values, q)`.
// InvalidArgument for empty input, NaN values or q outside [0, 1].
absl::StatusOr<double> Quantile(std::vector<double> values, double q);

struct BootstrapOptions {
  int num_resamples = 1000;  // >= 1
  double confidence = 0.95;  // in (0, 1): the interval's coverage
  uint64_t seed = 0;
  // Resample within each stratum (e.g. class label) separately, keeping the
  // class balance of the data; needs `strata`, one value per sample.
  bool stratified = false;
};

struct ConfidenceInterval {
  double estimate = 0.0;  // the metric on the original sample
  double lower = 0.0;     // quantile (1 - confidence) / 2 of the resamples
  double upper = 0.0;     // quantile (1 + confidence) / 2 of the resamples
  int num_resamples_used = 0;
  // Resamples on which the metric was undefined (FailedPrecondition or NaN,
  // e.g. a resample holding one class only); they are left out.
  int num_resamples_skipped = 0;
};

// A metric evaluated on the samples at `indices` (with repetitions).
using ResampledMetric =
    std::function<absl::StatusOr<double>(absl::Span<const int> indices)>;

// Percentile-bootstrap interval of `metric` over `n` samples. Resample r
// draws n indices uniformly with replacement (stratified: for each stratum in
// ascending stratum value, as many indices from that stratum as it holds,
// drawn uniformly from its members in ascending order). The metric's
// FailedPrecondition or NaN on a resample skips it; any other error is
// returned. FailedPrecondition if the metric is undefined on the original
// sample or on every resample.
absl::StatusOr<ConfidenceInterval> BootstrapConfidenceInterval(
    int n, const ResampledMetric& metric, const BootstrapOptions& options = {},
    absl::Span<const int> strata = {});

// Convenience: the interval of binary ROC AUC; with `options.stratified` the
// strata are the labels.
absl::StatusOr<ConfidenceInterval> BootstrapRocAuc(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    const BootstrapOptions& options = {});

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_METRICS_BOOTSTRAP_H_
