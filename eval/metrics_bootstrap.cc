#include "eval/metrics_bootstrap.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "eval/metrics.h"

namespace mammovl::eval {

uint64_t SplitMix64::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::Below(uint64_t n) {
  // Lemire, "Fast random integer generation in an interval" (2019).
  unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(Next()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

absl::StatusOr<double> Quantile(std::vector<double> values, double q) {
  if (values.empty()) return absl::InvalidArgumentError("quantile: no values");
  if (!(q >= 0.0 && q <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("quantile: q must be in [0, 1], got ", q));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("quantile: value ", i, " is NaN"));
    }
  }
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  // numpy's "linear" method, including its two-sided lerp.
  const double virtual_index = static_cast<double>(n - 1) * q;
  if (virtual_index >= static_cast<double>(n - 1)) return values[n - 1];
  const double previous = std::floor(virtual_index);
  const size_t lo = static_cast<size_t>(previous);
  const double gamma = virtual_index - previous;
  const double a = values[lo];
  const double b = values[lo + 1];
  const double diff = b - a;
  return gamma >= 0.5 ? b - diff * (1.0 - gamma) : a + diff * gamma;
}

absl::StatusOr<ConfidenceInterval> BootstrapConfidenceInterval(
    int n, const ResampledMetric& metric, const BootstrapOptions& options,
    absl::Span<const int> strata) {
  if (n < 1)
    return absl::InvalidArgumentError(
        absl::StrCat("bootstrap: n must be >= 1, got ", n));
  if (options.num_resamples < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bootstrap: num_resamples must be >= 1, got ", options.num_resamples));
  }
  if (!(options.confidence > 0.0 && options.confidence < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bootstrap: confidence must be in (0, 1), got ", options.confidence));
  }
  if (options.stratified && strata.size() != static_cast<size_t>(n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bootstrap: stratified resampling needs one stratum per sample; got ",
        strata.size(), " for ", n, " samples"));
  }

  ConfidenceInterval ci;
  std::vector<int> indices(n);
  std::iota(indices.begin(), indices.end(), 0);
  {
    absl::StatusOr<double> estimate = metric(indices);
    if (!estimate.ok()) return estimate.status();
    if (std::isnan(*estimate)) {
      return absl::FailedPreconditionError(
          "bootstrap: the metric is NaN on the full sample");
    }
    ci.estimate = *estimate;
  }

  std::map<int, std::vector<int>>
      members;  // ascending stratum, ascending index
  if (options.stratified) {
    for (int i = 0; i < n; ++i) members[strata[i]].push_back(i);
  }
  SplitMix64 rng(options.seed);
  std::vector<double> values;
  values.reserve(options.num_resamples);
  for (int r = 0; r < options.num_resamples; ++r) {
    if (options.stratified) {
      size_t k = 0;
      for (const auto& [stratum, ids] : members) {
        for (size_t j = 0; j < ids.size(); ++j)
          indices[k++] = ids[rng.Below(ids.size())];
      }
    } else {
      for (int& index : indices)
        index = static_cast<int>(rng.Below(static_cast<uint64_t>(n)));
    }
    absl::StatusOr<double> value = metric(indices);
    if (!value.ok()) {
      if (absl::IsFailedPrecondition(value.status())) {
        ++ci.num_resamples_skipped;
        continue;
      }
      return value.status();
    }
    if (std::isnan(*value)) {
      ++ci.num_resamples_skipped;
      continue;
    }
    values.push_back(*value);
  }
  ci.num_resamples_used = static_cast<int>(values.size());
  if (values.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("bootstrap: the metric is undefined on all ",
                     options.num_resamples, " resamples"));
  }
  const double alpha = (1.0 - options.confidence) / 2.0;
  MVL_ASSIGN_OR_RETURN(ci.lower, Quantile(values, alpha));
  MVL_ASSIGN_OR_RETURN(ci.upper, Quantile(std::move(values), 1.0 - alpha));
  return ci;
}

absl::StatusOr<ConfidenceInterval> BootstrapRocAuc(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    const BootstrapOptions& options) {
  if (y_true.size() != y_score.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("roc_auc: y_true has ", y_true.size(),
                     " entries but y_score has ", y_score.size()));
  }
  std::vector<int> y;
  std::vector<double> s;
  auto metric = [&](absl::Span<const int> indices) -> absl::StatusOr<double> {
    y.resize(indices.size());
    s.resize(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) {
      y[i] = y_true[indices[i]];
      s[i] = y_score[indices[i]];
    }
    return RocAuc(y, s);
  };
  return BootstrapConfidenceInterval(
      static_cast<int>(y_true.size()), metric, options,
      options.stratified ? y_true : absl::Span<const int>());
}

}  // namespace mammovl::eval
