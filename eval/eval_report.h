// Writes the results of an evaluation into a folder: metrics.json (every
// task's metrics, interval, confusion matrix, counts and notes),
// predictions_<task>.csv (one row per scored sample, ids pseudonymised),
// <task>_roc.png, <task>_pr.png and <task>_confusion.png, and report.md that
// ties them together. Every file is written atomically. No LibTorch.
#ifndef MAMMOVL_EVAL_EVAL_REPORT_H_
#define MAMMOVL_EVAL_EVAL_REPORT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "eval/eval_config.pb.h"
#include "eval/task_eval.h"

namespace mammovl::eval {

struct EvalReport {
  std::string title;  // e.g. "Zero-shot evaluation"
  // Key-value lines shown at the top (model, checkpoint, dataset, split).
  std::vector<std::pair<std::string, std::string>> context;
  // Aligned: the predictions and metrics of each task.
  std::vector<TaskPredictions> predictions;
  std::vector<TaskMetrics> metrics;
};

// Writes the files listed above into `out_dir` (created if needed).
// Errors: InvalidArgument if predictions and metrics are not aligned; file
// errors with the path.
absl::Status WriteEvalReport(absl::string_view out_dir,
                             const EvalReport& report,
                             const ReportConfig& config);

// Returns the metrics as the JSON document written to metrics.json.
std::string MetricsJson(const EvalReport& report);

// Returns the Markdown summary table (one row per task).
std::string SummaryTable(const std::vector<TaskMetrics>& metrics);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_EVAL_REPORT_H_
