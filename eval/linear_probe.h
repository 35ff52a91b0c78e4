// Linear probe on cached features: trains a `ClassifierHead` on frozen image
// features (computed once by the encoder in eval mode, or read from an
// embedding cache), selects the epoch with the best validation AUC (or
// accuracy), stops early, and predicts class probabilities.
#ifndef MAMMOVL_EVAL_LINEAR_PROBE_H_
#define MAMMOVL_EVAL_LINEAR_PROBE_H_

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "eval/classifier_head.h"
#include "eval/eval_config.pb.h"
#include "eval/task_eval.h"

namespace mammovl::eval {

// Features of labelled rows.
struct FeatureSet {
  at::Tensor features;  // [N, D] float32, CPU
  std::vector<int> labels;  // 0..C-1
  std::vector<std::string> sample_ids;
  std::vector<std::string> patient_ids;
  std::vector<std::string> lateralities;
  int64_t rows_without_label = 0;
};

struct EpochLog {
  int epoch = 0;
  double train_loss = 0;
  double val_loss = 0;
  double val_metric = 0;  // AUC or accuracy (see `ClassifierConfig`)
};

struct TrainedHead {
  ClassifierHead head{nullptr};  // weights of the best epoch, eval mode
  std::vector<EpochLog> history;
  int best_epoch = 0;
  double best_val_metric = 0;
};

// Validation metric used for selection: the task's AUC (or accuracy with
// `select_by_auc` false) after the configured grouping; when the AUC is
// undefined (one class in the validation set) the negative validation loss.
double SelectionMetric(const TaskMetrics& metrics, double val_loss,
                       const ClassifierConfig& config);

// Trains the head on `train` for up to `config.epochs` epochs (batches of
// `batch_size` in a seeded shuffled or class-balanced order, the configured
// optimiser and schedule), evaluates on `val` after every epoch and keeps
// the best epoch. Errors: InvalidArgument for a bad config, mismatched
// feature widths, labels outside 0..C-1 or an empty set; torch errors as
// Status.
absl::StatusOr<TrainedHead> TrainLinearProbe(const FeatureSet& train,
                                             const FeatureSet& val,
                                             const ClassifierConfig& config);

// Class probabilities of the head (eval mode, no grad) for every row of
// `set`, as `TaskPredictions` named `task`.
absl::StatusOr<TaskPredictions> PredictFeatures(
    ClassifierHead& head, const FeatureSet& set, const std::string& task,
    const std::vector<std::string>& class_names, int positive_class = 1);

// The class names of `config` (or "class <i>").
std::vector<std::string> ClassNames(const ClassifierConfig& config);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_LINEAR_PROBE_H_
