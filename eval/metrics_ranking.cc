// Ranking metrics of eval/metrics.h. The curve construction follows
// scikit-learn 1.2's `_binary_clf_curve` step by step (same sort order among
// ties, same cumulative sums, numpy's pairwise summation), so that results
// agree with it to the last few bits, not only to the tested 1e-9.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/status_macros.h"
#include "eval/metrics.h"
#include "eval/metrics_internal.h"

namespace mammovl::eval {
namespace {

using internal::CheckBinaryLabels;
using internal::CheckFinite;
using internal::CheckNonEmpty;
using internal::CheckSameLength;
using internal::CheckSampleWeight;
using internal::PairwiseSum;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Cumulative false/true positive counts at each distinct score, from the
// highest score down, and that score (`_binary_clf_curve`).
struct ClfCurve {
  std::vector<double> fps;
  std::vector<double> tps;
  std::vector<double> thresholds;
};

absl::Status CheckBinaryInputs(absl::string_view metric,
                               absl::Span<const int> y_true,
                               absl::Span<const double> y_score,
                               absl::Span<const double> sample_weight) {
  MVL_RETURN_IF_ERROR(CheckNonEmpty(metric, "y_true", y_true.size()));
  MVL_RETURN_IF_ERROR(CheckSameLength(metric, "y_true", y_true.size(),
                                      "y_score", y_score.size()));
  MVL_RETURN_IF_ERROR(CheckBinaryLabels(metric, "y_true", y_true));
  MVL_RETURN_IF_ERROR(CheckFinite(metric, "y_score", y_score));
  return CheckSampleWeight(metric, sample_weight, y_true.size());
}

// Inputs must have been checked. Samples of weight 0 are dropped first.
ClfCurve BinaryClfCurve(absl::Span<const int> y_true,
                        absl::Span<const double> y_score,
                        absl::Span<const double> sample_weight) {
  const bool weighted = !sample_weight.empty();
  // Samples of weight 0 are dropped; the rest in numpy's order.
  std::vector<double> scores;
  std::vector<uint32_t> kept;
  scores.reserve(y_true.size());
  kept.reserve(y_true.size());
  for (size_t i = 0; i < y_true.size(); ++i) {
    if (weighted && sample_weight[i] == 0.0) continue;
    scores.push_back(y_score[i]);
    kept.push_back(static_cast<uint32_t>(i));
  }
  struct Item {
    double score;
    double weight;
    int label;
  };
  std::vector<Item> items;
  items.reserve(kept.size());
  for (uint32_t k : internal::ArgsortDescending(scores)) {
    const size_t i = kept[k];
    items.push_back({y_score[i], weighted ? sample_weight[i] : 1.0, y_true[i]});
  }
  ClfCurve curve;
  double tp = 0.0;
  double fp = 0.0;
  for (size_t k = 0; k < items.size(); ++k) {
    const Item& item = items[k];
    if (weighted) {
      tp += item.label == 1 ? item.weight : 0.0;
      fp += item.label == 1 ? 0.0 : item.weight;
    } else {
      tp += item.label == 1 ? 1.0 : 0.0;
    }
    const bool last_of_tie =
        k + 1 == items.size() || items[k + 1].score != item.score;
    if (!last_of_tie) continue;
    curve.tps.push_back(tp);
    curve.fps.push_back(weighted ? fp : static_cast<double>(k + 1) - tp);
    curve.thresholds.push_back(item.score);
  }
  return curve;
}

RocCurve RocFromClfCurve(ClfCurve c, bool drop_intermediate) {
  const size_t n = c.fps.size();
  if (drop_intermediate && n > 2) {
    size_t out = 0;
    for (size_t i = 0; i < n; ++i) {
      bool keep = i == 0 || i + 1 == n;
      if (!keep) {
        const double d2f =
            (c.fps[i + 1] - c.fps[i]) - (c.fps[i] - c.fps[i - 1]);
        const double d2t =
            (c.tps[i + 1] - c.tps[i]) - (c.tps[i] - c.tps[i - 1]);
        keep = d2f != 0.0 || d2t != 0.0;
      }
      if (!keep) continue;
      c.fps[out] = c.fps[i];
      c.tps[out] = c.tps[i];
      c.thresholds[out] = c.thresholds[i];
      ++out;
    }
    c.fps.resize(out);
    c.tps.resize(out);
    c.thresholds.resize(out);
  }
  RocCurve roc;
  const size_t m = c.fps.size() + 1;
  roc.fpr.resize(m);
  roc.tpr.resize(m);
  roc.thresholds.resize(m);
  roc.thresholds[0] = c.thresholds[0] + 1.0;
  std::copy(c.thresholds.begin(), c.thresholds.end(),
            roc.thresholds.begin() + 1);
  const double fp_total = c.fps.back();
  const double tp_total = c.tps.back();
  roc.fpr[0] = fp_total > 0.0 ? 0.0 : kNaN;
  roc.tpr[0] = tp_total > 0.0 ? 0.0 : kNaN;
  for (size_t i = 1; i < m; ++i) {
    roc.fpr[i] = fp_total > 0.0 ? c.fps[i - 1] / fp_total : kNaN;
    roc.tpr[i] = tp_total > 0.0 ? c.tps[i - 1] / tp_total : kNaN;
  }
  return roc;
}

// np.trapz(y, x) for non-decreasing x.
double Trapezoid(absl::Span<const double> x, absl::Span<const double> y) {
  std::vector<double> terms(x.size() - 1);
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    terms[i] = (x[i + 1] - x[i]) * (y[i + 1] + y[i]) / 2.0;
  }
  return PairwiseSum(terms);
}

// `_binary_roc_auc_score` after the inputs were checked.
absl::StatusOr<double> BinaryRocAucChecked(
    absl::string_view metric, absl::Span<const int> y_true,
    absl::Span<const double> y_score, double max_fpr,
    absl::Span<const double> sample_weight) {
  bool has[2] = {false, false};
  for (int y : y_true) has[y] = true;
  if (!has[0] || !has[1]) {
    return absl::FailedPreconditionError(
        absl::StrCat(metric,
                     ": only one class present in y_true; ROC AUC is not "
                     "defined in that case"));
  }
  const RocCurve roc =
      RocFromClfCurve(BinaryClfCurve(y_true, y_score, sample_weight),
                      /*drop_intermediate=*/true);
  if (std::isnan(roc.fpr.back()) || std::isnan(roc.tpr.back())) {
    return absl::FailedPreconditionError(absl::StrCat(
        metric, ": all ", std::isnan(roc.fpr.back()) ? "negative" : "positive",
        " samples have weight 0; ROC AUC is not defined in that case"));
  }
  if (max_fpr == 1.0) return Trapezoid(roc.fpr, roc.tpr);
  // Partial AUC up to max_fpr, closed by linear interpolation, then the
  // McClish correction.
  const size_t stop = static_cast<size_t>(
      std::upper_bound(roc.fpr.begin(), roc.fpr.end(), max_fpr) -
      roc.fpr.begin());
  const double x0 = roc.fpr[stop - 1], x1 = roc.fpr[stop];
  const double y0 = roc.tpr[stop - 1], y1 = roc.tpr[stop];
  const double slope = (y1 - y0) / (x1 - x0);
  std::vector<double> fpr(roc.fpr.begin(), roc.fpr.begin() + stop);
  std::vector<double> tpr(roc.tpr.begin(), roc.tpr.begin() + stop);
  fpr.push_back(max_fpr);
  tpr.push_back(slope * (max_fpr - x0) + y0);
  const double partial_auc = Trapezoid(fpr, tpr);
  const double min_area = 0.5 * (max_fpr * max_fpr);
  const double max_area = max_fpr;
  return 0.5 * (1.0 + (partial_auc - min_area) / (max_area - min_area));
}

absl::StatusOr<OperatingPoint> FindOperatingPoint(
    absl::string_view metric, absl::Span<const int> y_true,
    absl::Span<const double> y_score, double target,
    const OperatingPointOptions& options,
    absl::Span<const double> sample_weight, bool constrain_specificity) {
  MVL_RETURN_IF_ERROR(
      CheckBinaryInputs(metric, y_true, y_score, sample_weight));
  if (!(target >= 0.0 && target <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(metric, ": target must be in [0, 1], got ", target));
  }
  const RocCurve roc =
      RocFromClfCurve(BinaryClfCurve(y_true, y_score, sample_weight),
                      options.drop_intermediate);
  if (std::isnan(roc.fpr.back()) || std::isnan(roc.tpr.back())) {
    return absl::FailedPreconditionError(absl::StrCat(
        metric,
        ": y_true needs positive and negative samples (with weight > 0)"));
  }
  const size_t m = roc.fpr.size();
  size_t best = m;
  for (size_t i = 0; i < m; ++i) {
    const double spec = 1.0 - roc.fpr[i];
    const double sens = roc.tpr[i];
    const double constrained = constrain_specificity ? spec : sens;
    const double free = constrain_specificity ? sens : spec;
    if (options.rule == OperatingPointRule::kAtLeast) {
      if (constrained < target) continue;
      if (best == m) {
        best = i;
        continue;
      }
      const double best_free =
          constrain_specificity ? roc.tpr[best] : 1.0 - roc.fpr[best];
      if (free > best_free) best = i;
    } else {
      const double d = std::abs(constrained - target);
      if (best == m) {
        best = i;
        continue;
      }
      const double best_constrained =
          constrain_specificity ? 1.0 - roc.fpr[best] : roc.tpr[best];
      if (d < std::abs(best_constrained - target)) best = i;
    }
  }
  // kAtLeast always finds a point: (0, 0) has specificity 1 and (1, 1) has
  // sensitivity 1.
  OperatingPoint point;
  point.sensitivity = roc.tpr[best];
  point.specificity = 1.0 - roc.fpr[best];
  point.threshold = roc.thresholds[best];
  return point;
}

}  // namespace

absl::StatusOr<RocCurve> ComputeRocCurve(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    const RocCurveOptions& options, absl::Span<const double> sample_weight) {
  MVL_RETURN_IF_ERROR(
      CheckBinaryInputs("roc_curve", y_true, y_score, sample_weight));
  return RocFromClfCurve(BinaryClfCurve(y_true, y_score, sample_weight),
                         options.drop_intermediate);
}

absl::StatusOr<double> RocAuc(absl::Span<const int> y_true,
                              absl::Span<const double> y_score,
                              const RocAucOptions& options,
                              absl::Span<const double> sample_weight) {
  MVL_RETURN_IF_ERROR(
      CheckBinaryInputs("roc_auc", y_true, y_score, sample_weight));
  if (!(options.max_fpr > 0.0 && options.max_fpr <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "roc_auc: max_fpr must be in (0, 1], got ", options.max_fpr));
  }
  return BinaryRocAucChecked("roc_auc", y_true, y_score, options.max_fpr,
                             sample_weight);
}

absl::StatusOr<PrecisionRecallCurve> ComputePrecisionRecallCurve(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    absl::Span<const double> sample_weight) {
  MVL_RETURN_IF_ERROR(CheckBinaryInputs("precision_recall_curve", y_true,
                                        y_score, sample_weight));
  const ClfCurve c = BinaryClfCurve(y_true, y_score, sample_weight);
  const size_t n = c.tps.size();
  const double tp_total = c.tps.back();
  PrecisionRecallCurve pr;
  pr.precision.resize(n + 1);
  pr.recall.resize(n + 1);
  pr.thresholds.resize(n);
  for (size_t k = 0; k < n; ++k) {
    const size_t i = n - 1 - k;  // increasing threshold
    const double ps = c.tps[i] + c.fps[i];
    pr.precision[k] = ps != 0.0 ? c.tps[i] / ps : 0.0;
    pr.recall[k] = tp_total == 0.0 ? 1.0 : c.tps[i] / tp_total;
    pr.thresholds[k] = c.thresholds[i];
  }
  pr.precision[n] = 1.0;
  pr.recall[n] = 0.0;
  return pr;
}

absl::StatusOr<double> AveragePrecision(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    absl::Span<const double> sample_weight) {
  MVL_RETURN_IF_ERROR(
      CheckBinaryInputs("average_precision", y_true, y_score, sample_weight));
  MVL_ASSIGN_OR_RETURN(
      PrecisionRecallCurve pr,
      ComputePrecisionRecallCurve(y_true, y_score, sample_weight));
  double positive_weight = 0.0;
  for (size_t i = 0; i < y_true.size(); ++i) {
    if (y_true[i] == 1) positive_weight += internal::WeightAt(sample_weight, i);
  }
  if (positive_weight == 0.0) {
    return absl::FailedPreconditionError(
        "average_precision: no positive samples (with weight > 0) in y_true; "
        "average "
        "precision is not defined in that case");
  }
  std::vector<double> terms(pr.recall.size() - 1);
  for (size_t i = 0; i + 1 < pr.recall.size(); ++i) {
    terms[i] = (pr.recall[i + 1] - pr.recall[i]) * pr.precision[i];
  }
  return -PairwiseSum(terms);
}

absl::StatusOr<MulticlassAuc> MulticlassRocAuc(
    absl::Span<const int> y_true,
    const std::vector<std::vector<double>>& y_score,
    const MulticlassAucOptions& options,
    absl::Span<const double> sample_weight) {
  constexpr absl::string_view kMetric = "multiclass_roc_auc";
  MVL_RETURN_IF_ERROR(CheckNonEmpty(kMetric, "y_true", y_true.size()));
  MVL_RETURN_IF_ERROR(CheckSameLength(kMetric, "y_true", y_true.size(),
                                      "y_score rows", y_score.size()));
  const size_t n = y_true.size();
  const size_t k = y_score[0].size();
  if (k < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(kMetric, ": y_score needs at least 2 columns, got ", k));
  }
  for (size_t i = 0; i < n; ++i) {
    if (y_score[i].size() != k) {
      return absl::InvalidArgumentError(
          absl::StrCat(kMetric, ": y_score row ", i, " has ", y_score[i].size(),
                       " columns, row 0 has ", k));
    }
    MVL_RETURN_IF_ERROR(
        CheckFinite(kMetric, absl::StrCat("y_score[", i, "]"), y_score[i]));
    double row_sum = 0.0;
    for (double p : y_score[i]) row_sum += p;
    // np.allclose(1, row_sum): |1 - s| <= atol + rtol * |s|.
    if (!(std::abs(1.0 - row_sum) <= 1e-8 + 1e-5 * std::abs(row_sum))) {
      return absl::InvalidArgumentError(
          absl::StrCat(kMetric, ": y_score row ", i, " sums to ", row_sum,
                       "; scores must be class probabilities summing to 1"));
    }
    if (y_true[i] < 0 || static_cast<size_t>(y_true[i]) >= k) {
      return absl::InvalidArgumentError(
          absl::StrCat(kMetric, ": y_true[", i, "] is ", y_true[i],
                       "; labels must be column indices 0..", k - 1));
    }
  }
  MVL_RETURN_IF_ERROR(CheckSampleWeight(kMetric, sample_weight, n));
  std::vector<int> class_count(k, 0);
  for (int y : y_true) ++class_count[y];
  for (size_t c = 0; c < k; ++c) {
    if (class_count[c] == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(kMetric, ": class ", c,
                       " has no samples in y_true; the AUC is not defined"));
    }
  }

  MulticlassAuc result;
  if (options.scheme == MulticlassScheme::kOneVsOne) {
    if (!sample_weight.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          kMetric, ": sample weights are not supported for one-vs-one"));
    }
    if (options.average == MulticlassAverage::kMicro) {
      return absl::InvalidArgumentError(absl::StrCat(
          kMetric, ": the micro average exists for one-vs-rest only"));
    }
    std::vector<double> pair_scores;
    std::vector<double> prevalence;
    for (size_t a = 0; a < k; ++a) {
      for (size_t b = a + 1; b < k; ++b) {
        std::vector<int> a_true, b_true;
        std::vector<double> a_score, b_score;
        for (size_t i = 0; i < n; ++i) {
          const size_t y = static_cast<size_t>(y_true[i]);
          if (y != a && y != b) continue;
          a_true.push_back(y == a ? 1 : 0);
          b_true.push_back(y == b ? 1 : 0);
          a_score.push_back(y_score[i][a]);
          b_score.push_back(y_score[i][b]);
        }
        MVL_ASSIGN_OR_RETURN(
            double auc_a,
            BinaryRocAucChecked(kMetric, a_true, a_score, 1.0, {}));
        MVL_ASSIGN_OR_RETURN(
            double auc_b,
            BinaryRocAucChecked(kMetric, b_true, b_score, 1.0, {}));
        pair_scores.push_back((auc_a + auc_b) / 2.0);
        prevalence.push_back(static_cast<double>(a_true.size()) /
                             static_cast<double>(n));
      }
    }
    result.value = options.average == MulticlassAverage::kWeighted
                       ? internal::WeightedAverage(pair_scores, prevalence)
                       : internal::Mean(pair_scores);
    return result;
  }

  // One-vs-rest.
  std::vector<int> y_c(n);
  std::vector<double> s_c(n);
  std::vector<double> support(k, 0.0);
  for (size_t c = 0; c < k; ++c) {
    for (size_t i = 0; i < n; ++i) {
      y_c[i] = y_true[i] == static_cast<int>(c) ? 1 : 0;
      s_c[i] = y_score[i][c];
      support[c] += y_c[i] * internal::WeightAt(sample_weight, i);
    }
    absl::StatusOr<double> auc =
        BinaryRocAucChecked(kMetric, y_c, s_c, 1.0, sample_weight);
    if (!auc.ok() && !absl::IsFailedPrecondition(auc.status()))
      return auc.status();
    // Undefined (the class, or all other classes, weigh 0): NaN, as
    // scikit-learn.
    result.per_class.push_back(auc.ok() ? *auc : kNaN);
  }
  auto undefined_class =
      [&](const std::vector<double>& scores) -> absl::Status {
    for (size_t c = 0; c < k; ++c) {
      if (std::isnan(scores[c])) {
        return absl::FailedPreconditionError(
            absl::StrCat(kMetric, ": the one-vs-rest AUC of class ", c,
                         " is undefined (its samples, or all other samples, "
                         "have weight 0)"));
      }
    }
    return absl::OkStatus();
  };
  switch (options.average) {
    case MulticlassAverage::kMacro:
      MVL_RETURN_IF_ERROR(undefined_class(result.per_class));
      result.value = internal::Mean(result.per_class);
      break;
    case MulticlassAverage::kWeighted: {
      // Classes of weight 0 do not count (scikit-learn sets their score to 0).
      std::vector<double> scores = result.per_class;
      for (size_t c = 0; c < k; ++c) {
        if (support[c] == 0.0) scores[c] = 0.0;
      }
      MVL_RETURN_IF_ERROR(undefined_class(scores));
      result.value = internal::WeightedAverage(scores, support);
      break;
    }
    case MulticlassAverage::kMicro: {
      std::vector<int> y_all(n * k);
      std::vector<double> s_all(n * k);
      std::vector<double> w_all;
      if (!sample_weight.empty()) w_all.resize(n * k);
      for (size_t i = 0; i < n; ++i) {
        for (size_t c = 0; c < k; ++c) {
          y_all[i * k + c] = y_true[i] == static_cast<int>(c) ? 1 : 0;
          s_all[i * k + c] = y_score[i][c];
          if (!w_all.empty()) w_all[i * k + c] = sample_weight[i];
        }
      }
      MVL_ASSIGN_OR_RETURN(
          result.value, BinaryRocAucChecked(kMetric, y_all, s_all, 1.0, w_all));
      break;
    }
  }
  return result;
}

absl::StatusOr<OperatingPoint> SensitivityAtSpecificity(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    double target, const OperatingPointOptions& options,
    absl::Span<const double> sample_weight) {
  return FindOperatingPoint("sensitivity_at_specificity", y_true, y_score,
                            target, options, sample_weight,
                            /*constrain_specificity=*/true);
}

absl::StatusOr<OperatingPoint> SpecificityAtSensitivity(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    double target, const OperatingPointOptions& options,
    absl::Span<const double> sample_weight) {
  return FindOperatingPoint("specificity_at_sensitivity", y_true, y_score,
                            target, options, sample_weight,
                            /*constrain_specificity=*/false);
}

}  // namespace mammovl::eval
