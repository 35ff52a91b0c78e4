#include "eval/task_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "eval/metrics_bootstrap.h"
#include "eval/metrics_grouping.h"

namespace mammovl::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Adds `name` = the metric's value, or NaN and a note when the metric is
// undefined for these labels (FailedPrecondition); other errors propagate.
absl::Status AddMetric(TaskMetrics& m, const std::string& name,
                       const absl::StatusOr<double>& value) {
  if (value.ok()) {
    m.values.emplace_back(name, *value);
    return absl::OkStatus();
  }
  if (value.status().code() == absl::StatusCode::kFailedPrecondition) {
    m.values.emplace_back(name, kNaN);
    m.notes.push_back(absl::StrCat(name, ": ", value.status().message()));
    return absl::OkStatus();
  }
  return value.status();
}

const char* LevelName(GroupingConfig::Level level) {
  switch (level) {
    case GroupingConfig::BREAST:
      return "breast";
    case GroupingConfig::PATIENT:
      return "patient";
    default:
      return "image";
  }
}

absl::Status CheckPredictions(const TaskPredictions& p) {
  const size_t n = p.probabilities.size();
  const size_t c = p.class_names.size();
  if (c < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("task ", p.task, ": need at least 2 classes"));
  }
  if (p.labels.size() != n || p.sample_ids.size() != n ||
      p.patient_ids.size() != n || p.lateralities.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "task ", p.task, ": probabilities, labels and ids differ in length"));
  }
  if (p.positive_class < 0 || p.positive_class >= static_cast<int>(c)) {
    return absl::InvalidArgumentError(
        absl::StrCat("task ", p.task, ": positive_class out of range"));
  }
  for (size_t i = 0; i < n; ++i) {
    if (p.probabilities[i].size() != c) {
      return absl::InvalidArgumentError(absl::StrCat(
          "task ", p.task, ": row ", i, " has ", p.probabilities[i].size(),
          " probabilities, expected ", c));
    }
    for (double v : p.probabilities[i]) {
      if (!std::isfinite(v)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "task ", p.task, ": row ", i, " has a non-finite probability"));
      }
    }
    if (p.labels[i] < 0 || p.labels[i] >= static_cast<int>(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "task ", p.task, ": row ", i, " has label ", p.labels[i],
          " outside 0..", c - 1));
    }
  }
  return absl::OkStatus();
}

std::vector<int> Argmax(const std::vector<std::vector<double>>& probs) {
  std::vector<int> pred(probs.size());
  for (size_t i = 0; i < probs.size(); ++i) {
    pred[i] = static_cast<int>(
        std::max_element(probs[i].begin(), probs[i].end()) - probs[i].begin());
  }
  return pred;
}

absl::Status BinaryMetrics(const GroupedPredictions& g, int pos,
                           const ReportConfig& report, TaskMetrics& m) {
  const size_t n = g.labels.size();
  std::vector<int> y(n), pred(n);
  std::vector<double> score(n);
  const std::vector<int> argmax = Argmax(g.probabilities);
  double positives = 0;
  for (size_t i = 0; i < n; ++i) {
    y[i] = g.labels[i] == pos ? 1 : 0;
    pred[i] = argmax[i] == pos ? 1 : 0;
    score[i] = g.probabilities[i][pos];
    positives += y[i];
  }
  m.positive_rate = positives / static_cast<double>(n);
  MVL_RETURN_IF_ERROR(AddMetric(m, "roc_auc", RocAuc(y, score)));
  MVL_RETURN_IF_ERROR(AddMetric(m, "average_precision",
                                AveragePrecision(y, score)));
  MVL_RETURN_IF_ERROR(AddMetric(m, "accuracy", Accuracy(y, pred)));
  MVL_RETURN_IF_ERROR(
      AddMetric(m, "balanced_accuracy", BalancedAccuracy(y, pred)));
  MVL_ASSIGN_OR_RETURN(BinaryRates rates, ComputeBinaryRates(y, pred));
  m.values.emplace_back("sensitivity", rates.sensitivity);
  m.values.emplace_back("specificity", rates.specificity);
  m.values.emplace_back("precision", rates.ppv);
  m.values.emplace_back("npv", rates.npv);
  m.values.emplace_back("f1", rates.f1);
  for (double target : report.sensitivity_at_specificity()) {
    auto point = SensitivityAtSpecificity(y, score, target);
    MVL_RETURN_IF_ERROR(AddMetric(
        m, absl::StrFormat("sensitivity_at_specificity_%.2f", target),
        point.ok() ? absl::StatusOr<double>(point->sensitivity)
                   : absl::StatusOr<double>(point.status())));
  }
  for (double target : report.specificity_at_sensitivity()) {
    auto point = SpecificityAtSensitivity(y, score, target);
    MVL_RETURN_IF_ERROR(AddMetric(
        m, absl::StrFormat("specificity_at_sensitivity_%.2f", target),
        point.ok() ? absl::StatusOr<double>(point->specificity)
                   : absl::StatusOr<double>(point.status())));
  }
  if (report.bootstrap_resamples() > 0 && !std::isnan(m.Get("roc_auc"))) {
    BootstrapOptions options;
    options.num_resamples = report.bootstrap_resamples();
    options.seed = report.bootstrap_seed();
    auto ci = BootstrapRocAuc(y, score, options);
    if (ci.ok()) {
      m.has_auc_interval = true;
      m.auc_lower = ci->lower;
      m.auc_upper = ci->upper;
      m.auc_resamples = ci->num_resamples_used;
    } else if (ci.status().code() == absl::StatusCode::kFailedPrecondition) {
      m.notes.push_back(absl::StrCat("roc_auc interval: ", ci.status().message()));
    } else {
      return ci.status();
    }
  }
  if (positives > 0 && positives < n) {
    MVL_ASSIGN_OR_RETURN(RocCurve roc, ComputeRocCurve(y, score));
    m.roc.push_back({m.class_names[pos], roc.fpr, roc.tpr, m.Get("roc_auc")});
  }
  if (positives > 0) {
    MVL_ASSIGN_OR_RETURN(PrecisionRecallCurve pr,
                         ComputePrecisionRecallCurve(y, score));
    m.pr.push_back({m.class_names[pos], pr.recall, pr.precision,
                    m.Get("average_precision")});
  }
  return absl::OkStatus();
}

absl::Status MulticlassMetrics(const GroupedPredictions& g,
                               const ReportConfig& report, TaskMetrics& m) {
  const std::vector<int> pred = Argmax(g.probabilities);
  const int c = m.num_classes;
  // Rows are renormalised so that scikit-learn's sum-to-one check holds
  // after float32 softmax and grouping.
  std::vector<std::vector<double>> probs = g.probabilities;
  for (auto& row : probs) {
    double sum = 0;
    for (double v : row) sum += v;
    if (sum > 0) {
      for (double& v : row) v /= sum;
    }
  }
  auto auc = MulticlassRocAuc(g.labels, probs);
  if (auc.ok()) {
    m.values.emplace_back("roc_auc", auc->value);
    for (int k = 0; k < c; ++k) {
      m.values.emplace_back(absl::StrCat("roc_auc_", k), auc->per_class[k]);
    }
  } else {
    MVL_RETURN_IF_ERROR(AddMetric(m, "roc_auc", auc.status()));
  }
  MVL_RETURN_IF_ERROR(AddMetric(m, "accuracy", Accuracy(g.labels, pred)));
  MVL_RETURN_IF_ERROR(
      AddMetric(m, "balanced_accuracy", BalancedAccuracy(g.labels, pred)));
  PrecisionRecallFOptions prf;
  prf.average = Average::kMacro;
  for (int k = 0; k < c; ++k) prf.labels.push_back(k);
  MVL_ASSIGN_OR_RETURN(PrecisionRecallF macro,
                       ComputePrecisionRecallF(g.labels, pred, prf));
  m.values.emplace_back("macro_precision", macro.avg_precision);
  m.values.emplace_back("macro_recall", macro.avg_recall);
  m.values.emplace_back("macro_f1", macro.avg_f_score);
  prf.average = Average::kWeighted;
  MVL_ASSIGN_OR_RETURN(PrecisionRecallF weighted,
                       ComputePrecisionRecallF(g.labels, pred, prf));
  m.values.emplace_back("weighted_f1", weighted.avg_f_score);
  CohenKappaOptions kappa;
  kappa.weighting = KappaWeighting::kQuadratic;
  kappa.labels = prf.labels;
  MVL_ASSIGN_OR_RETURN(double qwk, CohenKappa(g.labels, pred, kappa));
  m.values.emplace_back("quadratic_kappa", qwk);

  if (auc.ok() && report.bootstrap_resamples() > 0) {
    BootstrapOptions options;
    options.num_resamples = report.bootstrap_resamples();
    options.seed = report.bootstrap_seed();
    auto metric = [&](absl::Span<const int> idx) -> absl::StatusOr<double> {
      std::vector<int> y;
      std::vector<std::vector<double>> p;
      for (int i : idx) {
        y.push_back(g.labels[i]);
        p.push_back(probs[i]);
      }
      MVL_ASSIGN_OR_RETURN(MulticlassAuc a, MulticlassRocAuc(y, p));
      return a.value;
    };
    MVL_ASSIGN_OR_RETURN(
        ConfidenceInterval ci,
        BootstrapConfidenceInterval(static_cast<int>(g.labels.size()), metric,
                                    options));
    m.has_auc_interval = true;
    m.auc_lower = ci.lower;
    m.auc_upper = ci.upper;
    m.auc_resamples = ci.num_resamples_used;
  }
  // One-vs-rest curves of the classes present with both outcomes.
  for (int k = 0; k < c; ++k) {
    std::vector<int> y(g.labels.size());
    std::vector<double> score(g.labels.size());
    int positives = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      y[i] = g.labels[i] == k;
      positives += y[i];
      score[i] = probs[i][k];
    }
    if (positives == 0 || positives == static_cast<int>(y.size())) continue;
    MVL_ASSIGN_OR_RETURN(RocCurve roc, ComputeRocCurve(y, score));
    MVL_ASSIGN_OR_RETURN(double area, RocAuc(y, score));
    m.roc.push_back({m.class_names[k], roc.fpr, roc.tpr, area});
    MVL_ASSIGN_OR_RETURN(PrecisionRecallCurve pr,
                         ComputePrecisionRecallCurve(y, score));
    MVL_ASSIGN_OR_RETURN(double ap, AveragePrecision(y, score));
    m.pr.push_back({m.class_names[k], pr.recall, pr.precision, ap});
  }
  return absl::OkStatus();
}

}  // namespace

void TaskPredictions::Add(std::vector<double> probs, int label,
                          std::string sample_id, std::string patient_id,
                          std::string laterality) {
  probabilities.push_back(std::move(probs));
  labels.push_back(label);
  sample_ids.push_back(std::move(sample_id));
  patient_ids.push_back(std::move(patient_id));
  lateralities.push_back(std::move(laterality));
}

double TaskMetrics::Get(const std::string& name) const {
  for (const auto& [key, value] : values) {
    if (key == name) return value;
  }
  return kNaN;
}

absl::StatusOr<GroupedPredictions> GroupPredictions(
    const TaskPredictions& p, const GroupingConfig& grouping) {
  MVL_RETURN_IF_ERROR(CheckPredictions(p));
  const size_t n = p.probabilities.size();
  const size_t c = p.class_names.size();
  GroupedPredictions out;
  if (grouping.level() == GroupingConfig::IMAGE ||
      grouping.level() == GroupingConfig::LEVEL_UNSPECIFIED) {
    out.unit_ids = p.sample_ids;
    out.probabilities = p.probabilities;
    out.labels = p.labels;
    return out;
  }
  std::vector<std::string> ids(n);
  for (size_t i = 0; i < n; ++i) {
    if (p.patient_ids[i].empty() ||
        (grouping.level() == GroupingConfig::BREAST &&
         p.lateralities[i].empty())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "task ", p.task, ": row ", i, " lacks the patient id",
          grouping.level() == GroupingConfig::BREAST ? " or laterality" : "",
          " needed for ", LevelName(grouping.level()), "-level grouping"));
    }
    ids[i] = grouping.level() == GroupingConfig::BREAST
                 ? BreastGroupId(p.patient_ids[i], p.lateralities[i])
                 : p.patient_ids[i];
  }
  if (c == 2) {
    const int pos = p.positive_class;
    std::vector<double> score(n);
    std::vector<int> y(n);
    for (size_t i = 0; i < n; ++i) {
      score[i] = p.probabilities[i][pos];
      y[i] = p.labels[i] == pos ? 1 : 0;
    }
    GroupAggregationOptions options;
    options.scores = grouping.reduce() == GroupingConfig::MAX
                         ? ScoreAggregation::kMax
                         : ScoreAggregation::kMean;
    options.labels = LabelAggregation::kMax;
    MVL_ASSIGN_OR_RETURN(GroupedScores grouped,
                         AggregateByGroup(ids, score, y, options));
    out.unit_ids = grouped.group_ids;
    for (size_t j = 0; j < grouped.scores.size(); ++j) {
      std::vector<double> row(2);
      row[pos] = grouped.scores[j];
      row[1 - pos] = 1.0 - grouped.scores[j];
      out.probabilities.push_back(row);
      out.labels.push_back(grouped.labels[j] ? pos : 1 - pos);
    }
    return out;
  }
  if (grouping.reduce() == GroupingConfig::MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "task ", p.task,
        ": grouping.reduce MAX is defined for binary tasks only"));
  }
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < n; ++i) groups[ids[i]].push_back(i);
  for (const auto& [id, rows] : groups) {
    std::vector<double> mean(c, 0.0);
    for (size_t i : rows) {
      if (p.labels[i] != p.labels[rows.front()]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "task ", p.task, ": row ", i, " disagrees with row ", rows.front(),
            " of its ", LevelName(grouping.level()), " on the label"));
      }
      for (size_t k = 0; k < c; ++k) mean[k] += p.probabilities[i][k];
    }
    for (double& v : mean) v /= static_cast<double>(rows.size());
    out.unit_ids.push_back(id);
    out.probabilities.push_back(std::move(mean));
    out.labels.push_back(p.labels[rows.front()]);
  }
  return out;
}

absl::StatusOr<TaskMetrics> EvaluateTask(const TaskPredictions& predictions,
                                         const GroupingConfig& grouping,
                                         const ReportConfig& report) {
  MVL_RETURN_IF_ERROR(CheckPredictions(predictions));
  TaskMetrics m;
  m.task = predictions.task;
  m.level = LevelName(grouping.level());
  m.reduce = grouping.reduce() == GroupingConfig::MAX ? "max" : "mean";
  m.num_classes = static_cast<int>(predictions.class_names.size());
  m.class_names = predictions.class_names;
  m.rows = static_cast<int64_t>(predictions.probabilities.size());
  m.rows_without_label = predictions.rows_without_label;
  if (m.rows == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "task ", predictions.task, ": no rows with the label to evaluate (",
        predictions.rows_without_label, " rows lack it)"));
  }
  MVL_ASSIGN_OR_RETURN(GroupedPredictions g,
                       GroupPredictions(predictions, grouping));
  m.units = static_cast<int64_t>(g.labels.size());
  m.class_counts.assign(m.num_classes, 0);
  for (int y : g.labels) ++m.class_counts[y];

  ConfusionMatrixOptions cm;
  for (int k = 0; k < m.num_classes; ++k) cm.labels.push_back(k);
  MVL_ASSIGN_OR_RETURN(m.confusion, ComputeConfusionMatrix(
                                        g.labels, Argmax(g.probabilities), cm));
  if (m.num_classes == 2) {
    MVL_RETURN_IF_ERROR(
        BinaryMetrics(g, predictions.positive_class, report, m));
  } else {
    MVL_RETURN_IF_ERROR(MulticlassMetrics(g, report, m));
  }
  return m;
}

}  // namespace mammovl::eval
