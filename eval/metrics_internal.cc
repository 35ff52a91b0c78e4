#include "eval/metrics_internal.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
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

std::vector<uint32_t> ArgsortDescending(absl::Span<const double> values) {
  const size_t n = values.size();
  // Keys whose unsigned order is the descending order of the doubles.
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) {
    const double v = values[i] == 0.0 ? 0.0 : values[i];  // -0 -> +0
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    const uint64_t ascending =
        (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
    keys[i] = ~ascending;
  }
  // Start from descending index so that the stable sort leaves ties in
  // descending index order.
  std::vector<uint32_t> order(n), buffer(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(n - 1 - i);
  if (n < 256) {
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
    return order;
  }
  for (int shift = 0; shift < 64; shift += 8) {
    std::array<size_t, 257> count{};
    for (uint32_t i : order) ++count[((keys[i] >> shift) & 0xFF) + 1];
    if (*std::max_element(count.begin(), count.end()) == n)
      continue;  // one bucket
    for (int b = 0; b < 256; ++b) count[b + 1] += count[b];
    for (uint32_t i : order) buffer[count[(keys[i] >> shift) & 0xFF]++] = i;
    order.swap(buffer);
  }
  return order;
}

}  // namespace mammovl::eval::internal
