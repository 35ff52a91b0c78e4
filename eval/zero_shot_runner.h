// Zero-shot evaluation of a vision-language model on a dataset: encodes the
// prompts of every task, embeds every sample's image once, scores each task
// on the samples that carry its label, computes the metrics and writes the
// report (metrics.json, predictions, plots, report.md) and, if asked, the
// image and prompt embeddings.
#ifndef MAMMOVL_EVAL_ZERO_SHOT_RUNNER_H_
#define MAMMOVL_EVAL_ZERO_SHOT_RUNNER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "data/datasets/sample.h"
#include "data/loader/data_config.pb.h"
#include "eval/eval_config.pb.h"
#include "eval/task_eval.h"
#include "eval/vl_model.h"

namespace mammovl::eval {

struct ZeroShotResult {
  std::vector<TaskPredictions> predictions;
  std::vector<TaskMetrics> metrics;
};

struct ZeroShotOptions {
  // Where the report goes; empty writes nothing.
  std::string out_dir;
  // Lines at the top of the report (model, checkpoint, dataset).
  std::vector<std::pair<std::string, std::string>> context;
};

// Runs every task of `config` on `samples` (read with `data`'s loader and
// transforms, in eval mode). Samples without a task's label are left out
// of that task and counted. Errors: InvalidArgument for a bad config or a
// label value outside the task's classes (names the sample by index);
// model, loader and file errors as they come.
absl::StatusOr<ZeroShotResult> RunZeroShot(
    VisionLanguageModel& model,
    std::shared_ptr<const std::vector<data::Sample>> samples,
    const data::DataConfig& data, const ZeroShotConfig& config,
    const ZeroShotOptions& options);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_ZERO_SHOT_RUNNER_H_
