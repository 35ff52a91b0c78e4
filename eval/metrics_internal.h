// Internal to //eval:metrics; do not depend on this. Argument checks shared by
// the metric functions, and numpy-compatible reductions so that our sums round
// like scikit-learn's.
#ifndef MAMMOVL_EVAL_METRICS_INTERNAL_H_
#define MAMMOVL_EVAL_METRICS_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace mammovl::eval::internal {

// InvalidArgument "<metric>: <arg> is empty" when n == 0.
absl::Status CheckNonEmpty(absl::string_view metric, absl::string_view arg,
                           size_t n);

// InvalidArgument naming both arguments and lengths when they differ.
absl::Status CheckSameLength(absl::string_view metric, absl::string_view a_name,
                             size_t a_size, absl::string_view b_name,
                             size_t b_size);

// InvalidArgument naming the first NaN or infinite entry.
absl::Status CheckFinite(absl::string_view metric, absl::string_view arg,
                         absl::Span<const double> values);

// InvalidArgument naming the first entry that is neither 0 nor 1.
absl::Status CheckBinaryLabels(absl::string_view metric, absl::string_view arg,
                               absl::Span<const int> labels);

// Empty is fine (unweighted). Otherwise one finite weight >= 0 per sample,
// with a positive sum.
absl::Status CheckSampleWeight(absl::string_view metric,
                               absl::Span<const double> sample_weight,
                               size_t n);

// Sum with numpy's pairwise algorithm (blocks of 8 partial sums up to 128
// elements, then halving), i.e. the rounding of `np.sum` on a contiguous
// float64 array.
double PairwiseSum(absl::Span<const double> values);

// np.mean: PairwiseSum / n. n > 0.
double Mean(absl::Span<const double> values);

// np.average(values, weights=weights): PairwiseSum(v*w) / PairwiseSum(w).
double WeightedAverage(absl::Span<const double> values,
                       absl::Span<const double> weights);

// Indices of `values` (finite) ordered by descending value and, among equal
// values (+0 equals -0), descending index: numpy's
// `argsort(values, kind="mergesort")[::-1]`. A stable byte-wise radix sort,
// O(n) for the sizes of evaluation sets.
std::vector<uint32_t> ArgsortDescending(absl::Span<const double> values);

// Weight of sample i: 1 when `sample_weight` is empty.
inline double WeightAt(absl::Span<const double> sample_weight, size_t i) {
  return sample_weight.empty() ? 1.0 : sample_weight[i];
}

}  // namespace mammovl::eval::internal

#endif  // MAMMOVL_EVAL_METRICS_INTERNAL_H_
