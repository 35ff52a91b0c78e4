// Metrics of a training run, written as they come to up to three sinks in the
// run folder:
//   metrics.jsonl    one JSON object per logged step: {"step": 10, "loss":
//   0.53, ...}
//                    (NaN and infinities are written as null)
//   metrics.csv      the same rows as a table; a column appears when a metric
//                    first does (the file is rewritten once with the wider
//                    header) and is empty where a row lacks the metric
//   tensorboard/     an event file per process start (see train/tensorboard.h)
// Rows are also kept in memory, so the caller can hand the whole series to a
// plotting function at the end. Only the process that owns the run folder
// (rank 0) should open one.
#ifndef MAMMOVL_TRAIN_METRICS_LOG_H_
#define MAMMOVL_TRAIN_METRICS_LOG_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "train/tensorboard.h"

namespace mammovl::train {

struct MetricsRow {
  int64_t step = 0;
  // In the order they were logged.
  std::vector<std::pair<std::string, double>> values;
};

// Metric name -> (step, value) points in step order: what a loss-curve plot
// takes.
using MetricsSeries =
    std::map<std::string, std::vector<std::pair<int64_t, double>>>;

class MetricsLog {
 public:
  struct Options {
    bool jsonl = true;
    bool csv = true;
    bool tensorboard = true;
    EventWriter::Options tensorboard_options;
  };

  // Opens the sinks in `run_dir` (created if missing). A fresh run
  // (`resume_after_step` unset) replaces earlier metrics.jsonl/metrics.csv.
  // A resumed run keeps the rows up to and including `*resume_after_step`,
  // drops later ones (the resumed run logs those steps again) and appends;
  // its event file starts with a SessionLog START so TensorBoard drops the
  // orphaned events of earlier files. Unreadable lines of an old
  // metrics.jsonl (e.g. one cut by a crash) are skipped with a warning.
  static absl::StatusOr<std::unique_ptr<MetricsLog>> Open(
      absl::string_view run_dir, Options options,
      std::optional<int64_t> resume_after_step = std::nullopt);
  ~MetricsLog();

  // Appends one row to every sink; files are flushed before returning.
  absl::Status Log(int64_t step,
                   std::vector<std::pair<std::string, double>> values);
  // Writes text (e.g. the effective config) to TensorBoard, if enabled.
  absl::Status LogText(absl::string_view tag, absl::string_view text,
                       int64_t step);

  const std::vector<MetricsRow>& rows() const { return rows_; }
  MetricsSeries Series() const;

  std::string jsonl_path() const;
  std::string csv_path() const;
  // Empty if TensorBoard is off.
  std::string tensorboard_path() const;

 private:
  MetricsLog(std::string run_dir, Options options)
      : run_dir_(std::move(run_dir)), options_(std::move(options)) {}
  absl::Status RewriteFiles();
  absl::Status RewriteCsv();
  absl::Status OpenAppend(const std::string& path, std::FILE** file);

  std::string run_dir_;
  Options options_;
  std::vector<MetricsRow> rows_;
  std::vector<std::string> columns_;  // CSV columns after "step"
  std::FILE* jsonl_ = nullptr;
  std::FILE* csv_ = nullptr;
  std::unique_ptr<EventWriter> events_;
};

// Formats one row as the JSON object written to metrics.jsonl.
std::string MetricsRowToJson(const MetricsRow& row);
// Parses a line written by MetricsRowToJson (a flat object of numbers and
// nulls with a "step"). InvalidArgument if it is not one.
absl::StatusOr<MetricsRow> ParseMetricsJson(absl::string_view line);

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_METRICS_LOG_H_
