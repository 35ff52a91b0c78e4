// A whole pretraining run from an `Experiment`: reads the dataset tables,
// builds the loader, the recipe's model and loss, joins the distributed job
// torchrun (or Slurm, Kubernetes) started, and trains with the generic
// Trainer, writing checkpoints, metrics, TensorBoard files and the loss curve
// into `experiment.run_dir`. train/pretrain_main is a thin wrapper.
#ifndef MAMMOVL_TRAIN_PRETRAIN_H_
#define MAMMOVL_TRAIN_PRETRAIN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/datasets/sample.h"
#include "train/experiment.pb.h"
#include "train/trainer.h"

namespace mammovl::train {

struct PretrainOptions {
  // Continue from the newest checkpoint in run_dir.
  bool resume = false;
  // Called after every optimiser step with the number of completed steps
  // (optional; tests).
  std::function<void(int64_t completed_steps)> after_step;
};

// Checks the whole experiment (data, model against loss, training) before
// anything is read or built. InvalidArgument naming the field.
absl::Status ValidateExperiment(const Experiment& experiment);

// Reads `data.dataset` and every `extra_datasets` table and concatenates
// their samples (ids prefixed with the table's position when there are
// several). Errors of the dataset adapters.
absl::StatusOr<std::shared_ptr<const data::Dataset>> ReadExperimentData(
    const Experiment& experiment);

// Runs the experiment to `train.max_steps`. Prints the effective config to
// the log and saves it as config.pbtxt in the run folder and in every
// checkpoint. Errors: validation, reading data or weights, a failed step,
// collective or file write (the last completed checkpoint stays usable).
absl::StatusOr<TrainResult> RunPretraining(const Experiment& experiment,
                                           const PretrainOptions& options = {});

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_PRETRAIN_H_
