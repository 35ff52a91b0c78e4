// Downstream classification of one label on top of a pretrained image
// tower: linear probe (features computed once with the tower frozen in eval
// mode, optionally cached on disk, then `TrainLinearProbe`) or full
// fine-tune (tower and head trained together on augmented batches), with
// the best epoch chosen on the validation split and the report written for
// the test split. The result also holds the weights in Mammo-CLIP's names
// (`image_encoder.*` for a fine-tuned tower, `classifier.*` for the head).
#ifndef MAMMOVL_EVAL_CLASSIFIER_RUNNER_H_
#define MAMMOVL_EVAL_CLASSIFIER_RUNNER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "data/datasets/sample.h"
#include "data/loader/data_config.pb.h"
#include "eval/embed_samples.h"
#include "eval/eval_config.pb.h"
#include "eval/linear_probe.h"
#include "eval/task_eval.h"
#include "eval/vl_model.h"

namespace mammovl::eval {

struct ClassifierSplits {
  std::shared_ptr<const std::vector<data::Sample>> train;
  std::shared_ptr<const std::vector<data::Sample>> val;
  std::shared_ptr<const std::vector<data::Sample>> test;
};

struct ClassifierOptions {
  // Report folder (metrics.json, predictions, plots, report.md,
  // training_curve.png, classifier.safetensors); empty writes nothing.
  std::string out_dir;
  // Linear probe: folder for cached features (`<split>_features.npy` +
  // index + key); empty disables caching. A cache is reused only when its
  // key equals `cache_key` and its rows are the same samples.
  std::string feature_cache_dir;
  std::string cache_key;
  std::vector<std::pair<std::string, std::string>> context;
};

struct ClassifierResult {
  std::vector<EpochLog> history;
  int best_epoch = 0;
  double best_val_metric = 0;
  TaskPredictions test_predictions;
  TaskMetrics test_metrics;
};

// The rows of `samples` (with their embeddings) that carry `label`, as a
// FeatureSet. InvalidArgument naming the sample index for a label that is
// not an integer in 0..num_classes-1.
absl::StatusOr<FeatureSet> MakeFeatureSet(const std::vector<data::Sample>& samples,
                                          const SampleEmbeddings& embeddings,
                                          const std::string& label, int num_classes);

// Trains and evaluates as `config.mode()` says. `data` gives the loader and
// transforms (training augmentation for fine-tuning; evaluation passes use
// them with `train: false`). Errors: InvalidArgument for a bad config or
// labels; FailedPrecondition when a split has no labelled sample; model,
// loader and file errors as they come.
absl::StatusOr<ClassifierResult> RunClassifier(VisionLanguageModel& model,
                                               const ClassifierSplits& splits,
                                               const data::DataConfig& data,
                                               const ClassifierConfig& config,
                                               const ClassifierOptions& options);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_CLASSIFIER_RUNNER_H_
