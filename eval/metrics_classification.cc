// Metrics of hard predictions in eval/metrics.h, following scikit-learn 1.2's
// `_classification.py` (same label sets, same zero-division rules, same
// order of summation).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/status_macros.h"
#include "eval/metrics.h"
#include "eval/metrics_internal.h"

namespace mammovl::eval {
namespace {

using internal::CheckNonEmpty;
using internal::CheckSameLength;
using internal::CheckSampleWeight;
using internal::PairwiseSum;
using internal::WeightAt;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

absl::Status CheckPredictionInputs(absl::string_view metric,
                                   absl::string_view a_name,
                                   absl::Span<const int> a,
                                   absl::string_view b_name,
                                   absl::Span<const int> b,
                                   absl::Span<const double> sample_weight) {
  MVL_RETURN_IF_ERROR(CheckNonEmpty(metric, a_name, a.size()));
  MVL_RETURN_IF_ERROR(
      CheckSameLength(metric, a_name, a.size(), b_name, b.size()));
  return CheckSampleWeight(metric, sample_weight, a.size());
}

// Sorted union of the labels in both vectors (`unique_labels`).
std::vector<int> UnionLabels(absl::Span<const int> a, absl::Span<const int> b) {
  std::set<int> labels(a.begin(), a.end());
  labels.insert(b.begin(), b.end());
  return std::vector<int>(labels.begin(), labels.end());
}

absl::Status CheckUniqueLabels(absl::string_view metric,
                               const std::vector<int>& labels) {
  std::set<int> seen;
  for (int label : labels) {
    if (!seen.insert(label).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          metric, ": label ", label, " is listed twice in labels"));
    }
  }
  return absl::OkStatus();
}

// The unnormalised (weighted) confusion matrix over `labels`, rows = y_true.
absl::StatusOr<std::vector<std::vector<double>>> CountConfusion(
    absl::string_view metric, absl::Span<const int> y_true,
    absl::Span<const int> y_pred, const std::vector<int>& labels,
    absl::Span<const double> sample_weight) {
  std::map<int, size_t> index;
  for (size_t i = 0; i < labels.size(); ++i) index[labels[i]] = i;
  bool any_true_listed = false;
  for (int y : y_true) any_true_listed = any_true_listed || index.count(y) > 0;
  if (!any_true_listed) {
    return absl::InvalidArgumentError(
        absl::StrCat(metric, ": none of the given labels occurs in y_true"));
  }
  std::vector<std::vector<double>> counts(
      labels.size(), std::vector<double>(labels.size(), 0.0));
  for (size_t i = 0; i < y_true.size(); ++i) {
    const auto t = index.find(y_true[i]);
    const auto p = index.find(y_pred[i]);
    if (t == index.end() || p == index.end()) continue;
    counts[t->second][p->second] += WeightAt(sample_weight, i);
  }
  return counts;
}

double RowSum(const std::vector<double>& row) { return PairwiseSum(row); }

double ColumnSum(const std::vector<std::vector<double>>& m, size_t j) {
  double s = 0.0;
  for (const auto& row : m) s += row[j];
  return s;
}

double TotalSum(const std::vector<std::vector<double>>& m) {
  std::vector<double> flat;
  for (const auto& row : m) flat.insert(flat.end(), row.begin(), row.end());
  return PairwiseSum(flat);
}

double ZeroDivisionValue(ZeroDivision z) {
  return z == ZeroDivision::kOne ? 1.0 : 0.0;
}

// `_prf_divide`.
std::vector<double> PrfDivide(const std::vector<double>& num,
                              const std::vector<double>& den,
                              ZeroDivision zero_division) {
  std::vector<double> out(num.size());
  for (size_t i = 0; i < num.size(); ++i) {
    out[i] = den[i] == 0.0 ? ZeroDivisionValue(zero_division) : num[i] / den[i];
  }
  return out;
}

}  // namespace

absl::StatusOr<double> Accuracy(absl::Span<const int> y_true,
                                absl::Span<const int> y_pred,
                                absl::Span<const double> sample_weight) {
  MVL_RETURN_IF_ERROR(CheckPredictionInputs("accuracy", "y_true", y_true,
                                            "y_pred", y_pred, sample_weight));
  std::vector<double> correct(y_true.size());
  for (size_t i = 0; i < y_true.size(); ++i)
    correct[i] = y_true[i] == y_pred[i] ? 1.0 : 0.0;
  if (sample_weight.empty()) return internal::Mean(correct);
  return internal::WeightedAverage(correct, sample_weight);
}

absl::StatusOr<double> BalancedAccuracy(
    absl::Span<const int> y_true, absl::Span<const int> y_pred, bool adjusted,
    absl::Span<const double> sample_weight) {
  constexpr absl::string_view kMetric = "balanced_accuracy";
  MVL_RETURN_IF_ERROR(CheckPredictionInputs(kMetric, "y_true", y_true, "y_pred",
                                            y_pred, sample_weight));
  const std::vector<int> labels = UnionLabels(y_true, y_pred);
  MVL_ASSIGN_OR_RETURN(auto counts, CountConfusion(kMetric, y_true, y_pred,
                                                   labels, sample_weight));
  std::vector<double> per_class;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double row = RowSum(counts[i]);
    // Labels only predicted (0/0) are left out, as scikit-learn does.
    if (row != 0.0) per_class.push_back(counts[i][i] / row);
  }
  double score = internal::Mean(per_class);
  if (adjusted) {
    if (per_class.size() < 2) {
      // scikit-learn divides by 1 - 1/1 = 0 here and returns -inf or NaN.
      return absl::FailedPreconditionError(absl::StrCat(
          kMetric, ": the adjusted score needs at least 2 classes in y_true"));
    }
    const double chance = 1.0 / static_cast<double>(per_class.size());
    score -= chance;
    score /= 1.0 - chance;
  }
  return score;
}

absl::StatusOr<ConfusionMatrix> ComputeConfusionMatrix(
    absl::Span<const int> y_true, absl::Span<const int> y_pred,
    const ConfusionMatrixOptions& options,
    absl::Span<const double> sample_weight) {
  constexpr absl::string_view kMetric = "confusion_matrix";
  MVL_RETURN_IF_ERROR(CheckPredictionInputs(kMetric, "y_true", y_true, "y_pred",
                                            y_pred, sample_weight));
  ConfusionMatrix cm;
  cm.labels =
      options.labels.empty() ? UnionLabels(y_true, y_pred) : options.labels;
  MVL_RETURN_IF_ERROR(CheckUniqueLabels(kMetric, cm.labels));
  MVL_ASSIGN_OR_RETURN(cm.counts, CountConfusion(kMetric, y_true, y_pred,
                                                 cm.labels, sample_weight));
  const size_t k = cm.labels.size();
  auto divide = [](double a, double b) {
    const double q = a / b;
    return std::isnan(q) ? 0.0 : q;  // np.nan_to_num
  };
  switch (options.normalize) {
    case ConfusionNormalization::kNone:
      break;
    case ConfusionNormalization::kTrue:
      for (auto& row : cm.counts) {
        const double s = RowSum(row);
        for (double& v : row) v = divide(v, s);
      }
      break;
    case ConfusionNormalization::kPred: {
      std::vector<double> col(k);
      for (size_t j = 0; j < k; ++j) col[j] = ColumnSum(cm.counts, j);
      for (auto& row : cm.counts) {
        for (size_t j = 0; j < k; ++j) row[j] = divide(row[j], col[j]);
      }
      break;
    }
    case ConfusionNormalization::kAll: {
      const double s = TotalSum(cm.counts);
      for (auto& row : cm.counts) {
        for (double& v : row) v = divide(v, s);
      }
      break;
    }
  }
  return cm;
}

absl::StatusOr<PrecisionRecallF> ComputePrecisionRecallF(
    absl::Span<const int> y_true, absl::Span<const int> y_pred,
    const PrecisionRecallFOptions& options,
    absl::Span<const double> sample_weight) {
  constexpr absl::string_view kMetric = "precision_recall_f";
  MVL_RETURN_IF_ERROR(CheckPredictionInputs(kMetric, "y_true", y_true, "y_pred",
                                            y_pred, sample_weight));
  if (!(options.beta >= 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kMetric, ": beta must be >= 0, got ", options.beta));
  }
  const std::vector<int> present = UnionLabels(y_true, y_pred);
  PrecisionRecallF r;
  if (options.average == Average::kBinary) {
    if (present.size() > 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          kMetric, ": average=binary needs at most 2 distinct labels, found ",
          present.size(), "; use micro, macro, weighted or none"));
    }
    const bool has_pos = std::find(present.begin(), present.end(),
                                   options.pos_label) != present.end();
    if (!has_pos && present.size() == 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          kMetric, ": pos_label ", options.pos_label,
          " is not one of the labels ", present[0], ", ", present[1]));
    }
    r.labels = {options.pos_label};
  } else {
    r.labels = options.labels.empty() ? present : options.labels;
    MVL_RETURN_IF_ERROR(CheckUniqueLabels(kMetric, r.labels));
  }
  const size_t k = r.labels.size();
  std::map<int, size_t> index;
  for (size_t i = 0; i < k; ++i) index[r.labels[i]] = i;
  std::vector<double> tp_sum(k, 0.0), pred_sum(k, 0.0), true_sum(k, 0.0);
  for (size_t i = 0; i < y_true.size(); ++i) {
    const double w = WeightAt(sample_weight, i);
    const auto t = index.find(y_true[i]);
    const auto p = index.find(y_pred[i]);
    if (t != index.end()) true_sum[t->second] += w;
    if (p != index.end()) pred_sum[p->second] += w;
    if (t != index.end() && y_true[i] == y_pred[i]) tp_sum[t->second] += w;
  }
  const double beta2 = options.beta * options.beta;
  auto f_scores = [&](const std::vector<double>& precision,
                      const std::vector<double>& recall) {
    std::vector<double> f(precision.size());
    for (size_t i = 0; i < f.size(); ++i) {
      if (std::isinf(options.beta)) {
        f[i] = recall[i];
        continue;
      }
      double denom = beta2 * precision[i] + recall[i];
      if (denom == 0.0) denom = 1.0;
      f[i] = (1.0 + beta2) * precision[i] * recall[i] / denom;
    }
    return f;
  };
  r.precision = PrfDivide(tp_sum, pred_sum, options.zero_division);
  r.recall = PrfDivide(tp_sum, true_sum, options.zero_division);
  r.f_score = f_scores(r.precision, r.recall);
  r.support = true_sum;

  switch (options.average) {
    case Average::kNone:
      r.avg_precision = r.avg_recall = r.avg_f_score = kNaN;
      break;
    case Average::kBinary:
      r.avg_precision = r.precision[0];
      r.avg_recall = r.recall[0];
      r.avg_f_score = r.f_score[0];
      break;
    case Average::kMicro: {
      const std::vector<double> tp = {PairwiseSum(tp_sum)};
      const std::vector<double> pred = {PairwiseSum(pred_sum)};
      const std::vector<double> truth = {PairwiseSum(true_sum)};
      const std::vector<double> p = PrfDivide(tp, pred, options.zero_division);
      const std::vector<double> rc =
          PrfDivide(tp, truth, options.zero_division);
      r.avg_precision = p[0];
      r.avg_recall = rc[0];
      r.avg_f_score = f_scores(p, rc)[0];
      break;
    }
    case Average::kMacro:
      r.avg_precision = internal::Mean(r.precision);
      r.avg_recall = internal::Mean(r.recall);
      r.avg_f_score = internal::Mean(r.f_score);
      break;
    case Average::kWeighted:
      if (PairwiseSum(true_sum) == 0.0) {
        // No selected label occurs in y_true.
        const double z = ZeroDivisionValue(options.zero_division);
        const bool none_predicted = PairwiseSum(pred_sum) == 0.0;
        r.avg_precision = none_predicted ? z : 0.0;
        r.avg_recall = z;
        r.avg_f_score = none_predicted ? z : 0.0;
      } else {
        r.avg_precision = internal::WeightedAverage(r.precision, true_sum);
        r.avg_recall = internal::WeightedAverage(r.recall, true_sum);
        r.avg_f_score = internal::WeightedAverage(r.f_score, true_sum);
      }
      break;
  }
  return r;
}

absl::StatusOr<double> CohenKappa(absl::Span<const int> y1,
                                  absl::Span<const int> y2,
                                  const CohenKappaOptions& options,
                                  absl::Span<const double> sample_weight) {
  constexpr absl::string_view kMetric = "cohen_kappa";
  MVL_RETURN_IF_ERROR(
      CheckPredictionInputs(kMetric, "y1", y1, "y2", y2, sample_weight));
  const std::vector<int> labels =
      options.labels.empty() ? UnionLabels(y1, y2) : options.labels;
  MVL_RETURN_IF_ERROR(CheckUniqueLabels(kMetric, labels));
  MVL_ASSIGN_OR_RETURN(auto confusion,
                       CountConfusion(kMetric, y1, y2, labels, sample_weight));
  const size_t k = labels.size();
  std::vector<double> sum0(k), sum1(k);
  for (size_t i = 0; i < k; ++i) {
    sum0[i] = ColumnSum(confusion, i);
    sum1[i] = RowSum(confusion[i]);
  }
  const double total = PairwiseSum(sum0);
  std::vector<double> observed(k * k), expected(k * k);
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < k; ++j) {
      const double d = static_cast<double>(i > j ? i - j : j - i);
      double w = 0.0;
      switch (options.weighting) {
        case KappaWeighting::kNone:
          w = i == j ? 0.0 : 1.0;
          break;
        case KappaWeighting::kLinear:
          w = d;
          break;
        case KappaWeighting::kQuadratic:
          w = d * d;
          break;
      }
      observed[i * k + j] = w * confusion[i][j];
      expected[i * k + j] = w * (sum0[i] * sum1[j] / total);
    }
  }
  // 0/0 (both raters use one and the same label) gives NaN, as scikit-learn.
  return 1.0 - PairwiseSum(observed) / PairwiseSum(expected);
}

absl::StatusOr<BinaryRates> ComputeBinaryRates(
    absl::Span<const int> y_true, absl::Span<const int> y_pred,
    absl::Span<const double> sample_weight) {
  constexpr absl::string_view kMetric = "binary_rates";
  MVL_RETURN_IF_ERROR(CheckPredictionInputs(kMetric, "y_true", y_true, "y_pred",
                                            y_pred, sample_weight));
  MVL_RETURN_IF_ERROR(internal::CheckBinaryLabels(kMetric, "y_true", y_true));
  MVL_RETURN_IF_ERROR(internal::CheckBinaryLabels(kMetric, "y_pred", y_pred));
  BinaryRates r;
  for (size_t i = 0; i < y_true.size(); ++i) {
    const double w = WeightAt(sample_weight, i);
    if (y_true[i] == 1) {
      (y_pred[i] == 1 ? r.tp : r.fn) += w;
    } else {
      (y_pred[i] == 1 ? r.fp : r.tn) += w;
    }
  }
  // IEEE division: 0/0 is NaN.
  r.sensitivity = r.tp / (r.tp + r.fn);
  r.specificity = r.tn / (r.tn + r.fp);
  r.ppv = r.tp / (r.tp + r.fp);
  r.npv = r.tn / (r.tn + r.fn);
  r.f1 = 2.0 * r.tp / (2.0 * r.tp + r.fp + r.fn);
  return r;
}

std::vector<int> Binarize(absl::Span<const double> y_score, double threshold) {
  std::vector<int> out(y_score.size());
  for (size_t i = 0; i < y_score.size(); ++i)
    out[i] = y_score[i] > threshold ? 1 : 0;
  return out;
}

std::vector<int> ArgmaxRows(const std::vector<std::vector<double>>& scores) {
  std::vector<int> out(scores.size(), -1);
  for (size_t i = 0; i < scores.size(); ++i) {
    const auto& row = scores[i];
    if (row.empty()) continue;
    out[i] = static_cast<int>(std::max_element(row.begin(), row.end()) -
                              row.begin());
  }
  return out;
}

absl::StatusOr<double> ProbabilisticFBeta(absl::Span<const int> y_true,
                                          absl::Span<const double> y_prob,
                                          double beta) {
  constexpr absl::string_view kMetric = "probabilistic_f_beta";
  MVL_RETURN_IF_ERROR(CheckNonEmpty(kMetric, "y_true", y_true.size()));
  MVL_RETURN_IF_ERROR(CheckSameLength(kMetric, "y_true", y_true.size(),
                                      "y_prob", y_prob.size()));
  MVL_RETURN_IF_ERROR(internal::CheckBinaryLabels(kMetric, "y_true", y_true));
  MVL_RETURN_IF_ERROR(internal::CheckFinite(kMetric, "y_prob", y_prob));
  if (!(beta > 0.0) || std::isinf(beta)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kMetric, ": beta must be finite and > 0, got ", beta));
  }
  double positives = 0.0, ctp = 0.0, cfp = 0.0;
  for (size_t i = 0; i < y_true.size(); ++i) {
    const double p = std::min(std::max(y_prob[i], 0.0), 1.0);
    if (y_true[i] == 1) {
      positives += 1.0;
      ctp += p;
    } else {
      cfp += p;
    }
  }
  if (positives == 0.0) {
    return absl::FailedPreconditionError(absl::StrCat(
        kMetric, ": no positive samples in y_true; the score is not defined"));
  }
  if (ctp + cfp == 0.0) return 0.0;
  const double precision = ctp / (ctp + cfp);
  const double recall = ctp / positives;
  if (!(precision > 0.0 && recall > 0.0)) return 0.0;
  const double b2 = beta * beta;
  return (1.0 + b2) * (precision * recall) / (b2 * precision + recall);
}

}  // namespace mammovl::eval
