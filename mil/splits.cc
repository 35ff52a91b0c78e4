#include "mil/splits.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace mammovl::mil {
namespace {

// np.std of a short vector (sequential sums, ddof 0).
double Std(const std::vector<double>& x) {
  double sum = 0;
  for (double v : x) sum += v;
  const double mean = sum / static_cast<double>(x.size());
  double sq = 0;
  for (double v : x) sq += (v - mean) * (v - mean);
  return std::sqrt(sq / static_cast<double>(x.size()));
}

bool IsClose(double a, double b) {
  return std::abs(a - b) <= 1e-8 + 1e-5 * std::abs(b);
}

}  // namespace

absl::StatusOr<std::vector<int>> StratifiedGroupKFold(
    absl::Span<const int> labels, absl::Span<const std::string> groups,
    int n_splits) {
  if (labels.size() != groups.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "StratifiedGroupKFold: ", labels.size(), " labels but ", groups.size(), " groups"));
  }
  if (n_splits < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("StratifiedGroupKFold: n_splits must be >= 2 (got ", n_splits, ")"));
  }
  std::map<int, int> class_index;
  for (int y : labels) class_index.emplace(y, 0);
  int c = 0;
  for (auto& [y, index] : class_index) index = c++;
  std::map<std::string, int> group_index;
  for (const std::string& g : groups) group_index.emplace(g, 0);
  int gi = 0;
  for (auto& [g, index] : group_index) index = gi++;
  const int n_classes = static_cast<int>(class_index.size());
  {
    std::map<int, int> counts;
    for (int y : labels) ++counts[y];
    bool all_smaller = true;
    for (const auto& [y, n] : counts) all_smaller = all_smaller && n_splits > n;
    if (all_smaller) {
      return absl::InvalidArgumentError(absl::StrCat(
          "StratifiedGroupKFold: n_splits=", n_splits,
          " is greater than the number of members in each class"));
    }
  }
  const int n_groups = static_cast<int>(group_index.size());
  if (n_splits > n_groups) {
    return absl::InvalidArgumentError(absl::StrCat(
        "StratifiedGroupKFold: ", n_splits, " splits but only ", n_groups, " groups"));
  }
  std::vector<int> sample_group(labels.size());
  std::vector<double> y_cnt(n_classes, 0.0);
  std::vector<std::vector<double>> per_group(n_groups, std::vector<double>(n_classes, 0.0));
  for (size_t i = 0; i < labels.size(); ++i) {
    const int k = class_index[labels[i]];
    sample_group[i] = group_index[groups[i]];
    per_group[sample_group[i]][k] += 1;
    y_cnt[k] += 1;
  }
  std::vector<double> group_std(n_groups);
  for (int g = 0; g < n_groups; ++g) group_std[g] = Std(per_group[g]);
  std::vector<int> order(n_groups);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return -group_std[a] < -group_std[b]; });

  std::vector<std::vector<double>> per_fold(n_splits, std::vector<double>(n_classes, 0.0));
  std::vector<int> group_fold(n_groups, -1);
  std::vector<double> column(n_splits);
  std::vector<double> std_per_class(n_classes);
  for (int g : order) {
    int best = -1;
    double min_eval = std::numeric_limits<double>::infinity();
    double min_samples = std::numeric_limits<double>::infinity();
    for (int f = 0; f < n_splits; ++f) {
      for (int k = 0; k < n_classes; ++k) per_fold[f][k] += per_group[g][k];
      for (int k = 0; k < n_classes; ++k) {
        for (int j = 0; j < n_splits; ++j) column[j] = per_fold[j][k] / y_cnt[k];
        std_per_class[k] = Std(column);
      }
      for (int k = 0; k < n_classes; ++k) per_fold[f][k] -= per_group[g][k];
      double eval = 0;
      for (double s : std_per_class) eval += s;
      eval /= static_cast<double>(n_classes);
      double samples = 0;
      for (double v : per_fold[f]) samples += v;
      if (eval < min_eval || (IsClose(eval, min_eval) && samples < min_samples)) {
        min_eval = eval;
        min_samples = samples;
        best = f;
      }
    }
    for (int k = 0; k < n_classes; ++k) per_fold[best][k] += per_group[g][k];
    group_fold[g] = best;
  }
  std::vector<int> fold(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) fold[i] = group_fold[sample_group[i]];
  return fold;
}

}  // namespace mammovl::mil
