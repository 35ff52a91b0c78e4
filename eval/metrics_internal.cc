#include "eval/metrics_internal.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mammovl::eval::internal {

absl::Status CheckNonEmpty(absl::string_view metric, absl::string_view arg,
                           size_t n) {
  if (n == 0)
    return absl::InvalidArgumentError(
        absl::StrCat(metric, ": ", arg, " is empty"));
  return absl::OkStatus();
}

absl::Status CheckSameLength(absl::string_view metric, absl::string_view a_name,
                             size_t a_size, absl::string_view b_name,
                             size_t b_size) {
  if (a_size != b_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(metric, ": ", a_name, " has ", a_size, " entries but ",
                     b_name, " has ", b_size));
  }
  return absl::OkStatus();
}

absl::Status CheckFinite(absl::string_view metric, absl::string_view arg,
                         absl::Span<const double> values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(metric, ": ", arg, "[", i, "] is ", values[i],
                       "; values must be finite"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBinaryLabels(absl::string_view metric, absl::string_view arg,
                               absl::Span<const int> labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(metric, ": ", arg, "[", i, "] is ", labels[i],
                       "; binary labels must be 0 or 1"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSampleWeight(absl::string_view metric,
                               absl::Span<const double> sample_weight,
                               size_t n) {
  if (sample_weight.empty()) return absl::OkStatus();
  if (sample_weight.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat(metric, ": sample_weight has ", sample_weight.size(),
                     " entries for ", n, " samples"));
  }
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double w = sample_weight[i];
    if (!std::isfinite(w) || w < 0.0) {
      return absl::InvalidArgumentError(
          absl::StrCat(metric, ": sample_weight[", i, "] is ", w,
                       "; weights must be finite and >= 0"));
    }
    total += w;
  }
  if (!(total > 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(metric, ": sample weights sum to 0"));
  }
  return absl::OkStatus();
}

namespace {

double PairwiseSumImpl(const double* a, size_t n) {
  if (n < 8) {
    double res = 0.0;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double res =
        ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return PairwiseSumImpl(a, n2) + PairwiseSumImpl(a + n2, n - n2);
}

}  // namespace

double PairwiseSum(absl::Span<const double> values) {
  return PairwiseSumImpl(values.data(), values.size());
}

double Mean(absl::Span<const double> values) {
  return PairwiseSum(values) / static_cast<double>(values.size());
}

double WeightedAverage(absl::Span<const double> values,
                       absl::Span<const double> weights) {
  std::vector<double> products(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    products[i] = values[i] * weights[i];
  return PairwiseSum(products) / PairwiseSum(weights);
}

}  // namespace mammovl::eval::internal
