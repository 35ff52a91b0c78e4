// Evaluation of one classification task's predictions: groups image-level
// class probabilities per breast or patient if asked, then computes the
// metrics both references report (ROC AUC with a bootstrap interval, average
// precision, accuracy, balanced accuracy, precision/recall/F1, confusion
// matrix, operating points; one-vs-rest macro AUC for more than two
// classes) and keeps the curves for plotting. Shared by zero-shot and the
// classifiers. No LibTorch.
#ifndef MAMMOVL_EVAL_TASK_EVAL_H_
#define MAMMOVL_EVAL_TASK_EVAL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "eval/eval_config.pb.h"
#include "eval/metrics.h"

namespace mammovl::eval {

// Predictions of one task, one row per scored dataset sample.
struct TaskPredictions {
  std::string task;
  std::vector<std::string> class_names;  // C >= 2
  int positive_class = 1;                // for binary metrics (C == 2)
  // probabilities[i][c]: row i's probability of class c (rows sum to 1).
  std::vector<std::vector<double>> probabilities;
  std::vector<int> labels;  // 0..C-1
  // Identifiers of each row (raw; pseudonymised when written).
  std::vector<std::string> sample_ids;
  std::vector<std::string> patient_ids;
  std::vector<std::string> lateralities;
  // Dataset rows left out for lacking the label.
  int64_t rows_without_label = 0;

  // Appends one row.
  void Add(std::vector<double> probs, int label, std::string sample_id,
           std::string patient_id, std::string laterality);
};

// A curve for a plot.
struct Curve {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  double area = 0;  // AUC or AP
};

struct TaskMetrics {
  std::string task;
  std::string level;  // "image", "breast" or "patient"
  std::string reduce;  // "mean" or "max"
  int num_classes = 0;
  std::vector<std::string> class_names;
  int64_t rows = 0;                // image-level rows scored
  int64_t units = 0;               // rows after grouping
  int64_t rows_without_label = 0;
  std::vector<int64_t> class_counts;  // per class, after grouping
  // Named scalar metrics in report order; NaN where undefined (see notes).
  std::vector<std::pair<std::string, double>> values;
  // Why a metric is missing, e.g. "roc_auc: only one class present".
  std::vector<std::string> notes;
  // 95 % (or configured) percentile-bootstrap interval of the AUC.
  bool has_auc_interval = false;
  double auc_lower = 0, auc_upper = 0;
  int auc_resamples = 0;
  ConfusionMatrix confusion;
  std::vector<Curve> roc;  // binary: one curve; multi-class: one per class
  std::vector<Curve> pr;
  double positive_rate = 0;  // binary: share of positives (PR chance level)

  // The value named `name`, or NaN.
  double Get(const std::string& name) const;
};

// The rows after grouping: probabilities and labels per unit.
struct GroupedPredictions {
  std::vector<std::string> unit_ids;  // sample ids or group ids
  std::vector<std::vector<double>> probabilities;
  std::vector<int> labels;
};

// Groups the rows as `grouping` says. BREAST needs patient ids and
// lateralities, PATIENT patient ids (InvalidArgument naming the first row
// lacking one, by index). Binary tasks: scores reduced with mean or max,
// group positive if any row is; more classes: probabilities averaged, rows
// of a group must agree on the label (MAX is InvalidArgument there).
absl::StatusOr<GroupedPredictions> GroupPredictions(
    const TaskPredictions& predictions, const GroupingConfig& grouping);

// Computes the metrics. InvalidArgument for inconsistent input (sizes,
// labels outside 0..C-1, probabilities that are not finite); metrics
// undefined for these labels (e.g. AUC with one class) become NaN with a
// note, never an error.
absl::StatusOr<TaskMetrics> EvaluateTask(const TaskPredictions& predictions,
                                         const GroupingConfig& grouping,
                                         const ReportConfig& report);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_TASK_EVAL_H_
