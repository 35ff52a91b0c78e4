// The generic training loop. It knows nothing about models or losses: the
// caller passes named parameters (and buffers) and a step function that runs
// one micro-batch forward and returns its loss. The trainer does the rest:
//
//   - parameter freezing by name pattern, weight-decay groups, AdamW or SGD,
//     the learning-rate schedule, gradient accumulation, global-norm clipping,
//     an optional EMA of the weights;
//   - data parallelism over a `Communicator`: rank 0's weights and buffers are
//     broadcast at the start (buffers again before every step, as DDP does),
//     gradients are averaged in buckets after the last micro-batch;
//   - a NaN/Inf guard: a step whose loss or gradient norm is not finite on any
//     rank is skipped on all ranks (no update; the batch is consumed and the
//     schedule advances), counted, and training stops with Aborted once more
//     than `nonfinite_guard.max_skipped_steps` were skipped;
//   - metrics every `logging.every_n_steps` (window means of loss and the
//     step function's metrics, lr, grad_norm, samples_per_s, skipped_steps)
//     to JSONL/CSV/TensorBoard, and a progress line with samples/s and ETA;
//   - checkpoints every `checkpoint.every_n_steps` and at the end (see
//     train/checkpoint.h), and `resume` from the newest one: weights, buffers,
//     optimiser, EMA, counters, every rank's torch RNG state, data position and
//     the caller's extra state, so a resumed single-thread run reproduces an
//     uninterrupted one bit for bit.
// Rank 0 writes all files; every rank must make the same calls.
//
// Example (see trainer_test.cc for a complete one):
//   MVL_ASSIGN_OR_RETURN(auto trainer,
//       Trainer::Create(config, model_params, model_buffers, options));
//   MVL_ASSIGN_OR_RETURN(TrainResult result, trainer->Run(
//       loader, [&](Batch& batch, const StepContext& ctx) ->
//       absl::StatusOr<StepOutput> {
//         at::Tensor img = AllGatherWithGrad(*ctx.comm, vision(batch.images));
//         ...
//         return StepOutput{loss, {{"loss_i2t", l1.item<double>()}},
//         batch.size()};
//       }));
#ifndef MAMMOVL_TRAIN_TRAINER_H_
#define MAMMOVL_TRAIN_TRAINER_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/progress.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/metrics_log.h"
#include "train/named_tensors.h"
#include "train/optimizer.h"
#include "train/schedule.h"
#include "train/train_config.pb.h"

namespace mammovl::train {

// Where a micro-batch sits in training.
struct StepContext {
  int64_t step = 0;    // 0-based optimiser step
  int micro_step = 0;  // 0 .. grad_accum_steps - 1
  int grad_accum_steps = 1;
  Communicator* comm = nullptr;  // never null; for AllGatherWithGrad in losses
};

// What a micro-batch's forward pass returns.
struct StepOutput {
  // Scalar loss of this micro-batch on this rank (mean over its samples).
  // The trainer divides it by grad_accum_steps and calls backward().
  at::Tensor loss;
  // Extra scalars to log (per-term losses, temperature, accuracy). They are
  // averaged over micro-batches, ranks and the logging window. Every rank
  // must return the same names in the same order.
  std::vector<std::pair<std::string, double>> metrics;
  // Samples in this micro-batch on this rank.
  int64_t samples = 0;
};

// One micro-batch: fetch it, run the forward pass, return the loss.
using MicroStepFunction =
    std::function<absl::StatusOr<StepOutput>(const StepContext&)>;

// State of the caller that a checkpoint must carry (a data position, its own
// random generators), as opaque bytes.
struct ResumableState {
  std::function<std::string()> save;
  std::function<absl::Status(absl::string_view)> restore;
};

// A stream of batches with a position that survives a restart: `Position()`
// after k batches and `Seek()` to it must make `Next()` return the (k+1)-th
// batch again. The trainer saves the position with each checkpoint.
template <typename Batch>
class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual absl::StatusOr<Batch> Next() = 0;
  virtual std::string Position() const = 0;
  virtual absl::Status Seek(absl::string_view position) = 0;
};

struct TrainerOptions {
  // Run folder: metrics, TensorBoard files, checkpoints/, config.pbtxt.
  std::string run_dir;
  // Continue from the newest checkpoint in run_dir (a fresh start if there
  // is none). Without it, a run_dir that holds checkpoints is an error.
  bool resume = false;
  // The effective experiment config, saved as config.pbtxt in the run folder
  // and in every checkpoint; empty means the TrainConfig's text.
  std::string config_text;
  // Not owned; nullptr means a world of one.
  Communicator* comm = nullptr;
  // The caller's own state for checkpoints (optional).
  ResumableState extra_state;
  // Called on rank 0 after training with the logged series, e.g. to draw the
  // loss curve PNG into run_dir (optional).
  std::function<absl::Status(const MetricsSeries& series,
                             const std::string& run_dir)>
      on_finish;
  // Called with the 0-based step after the backward pass of its last
  // micro-batch, before gradients are averaged over ranks and applied
  // (optional; e.g. `Loss::AfterBackward`, which may drop gradients).
  std::function<void(int64_t step)> after_backward;
  // Called after every optimiser step with the number of completed steps
  // (optional; progress files, tests, `Loss::AfterOptimizerStep`).
  std::function<void(int64_t completed_steps)> after_step;
  // Passed to CheckpointOptions::on_stage (tests crash a save half-way).
  std::function<void(absl::string_view stage)> checkpoint_stage_hook;
  // Progress line options; unit and label are set by the trainer.
  core::ProgressOptions progress;
};

struct TrainResult {
  int64_t steps = 0;            // completed optimiser steps (== max_steps)
  int64_t skipped_steps = 0;    // skipped by the NaN/Inf guard
  int64_t samples = 0;          // over all ranks
  double last_loss = 0;         // mean loss of the last step over ranks
  std::string last_checkpoint;  // empty if none was written
};

// Checks every field of `config` (optimiser, schedule, checkpoint, logging,
// distributed, ranges) before any work; errors name the field.
absl::Status ValidateTrainConfig(const TrainConfig& config);

class Trainer {
 public:
  // Validates `config`, freezes parameters matching `config.freeze()` (and
  // keeps those that already have requires_grad false frozen), builds the
  // optimiser and schedule, opens the metrics log (rank 0), and on `resume`
  // loads the newest checkpoint. `parameters` and `buffers` are the model's
  // live tensors (names unique across both); the trainer updates them in
  // place.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(
      const TrainConfig& config, NamedTensors parameters, NamedTensors buffers,
      TrainerOptions options);
  ~Trainer();

  // Trains from the current step to `max_steps`. `data` saves and restores
  // the data position with checkpoints (it may be empty functions if the
  // step function needs no position). Returns the first error of the step
  // function, a collective, a file write, or Aborted from the NaN/Inf guard;
  // after an error the weights are those of the last completed step.
  absl::StatusOr<TrainResult> Run(const MicroStepFunction& step_fn,
                                  const ResumableState& data);

  // The same with a `DataSource`: `fn(batch, context)` runs the forward pass.
  template <typename Batch, typename Fn>
  absl::StatusOr<TrainResult> Run(DataSource<Batch>& source, Fn&& fn) {
    return Run(
        [&](const StepContext& context) -> absl::StatusOr<StepOutput> {
          absl::StatusOr<Batch> batch = source.Next();
          if (!batch.ok()) return batch.status();
          return fn(*batch, context);
        },
        ResumableState{
            [&] { return source.Position(); },
            [&](absl::string_view position) { return source.Seek(position); }});
  }

  // Completed optimiser steps (after a resume, the checkpoint's step).
  int64_t step() const { return step_; }
  // Trainable parameters after freezing, in the model's order.
  const NamedTensors& trainable() const { return trainable_; }
  // EMA weights (parameters and buffers), or nullptr if EMA is off.
  const NamedTensors* ema_weights() const;
  Communicator& comm() { return *comm_; }
  const Optimizer& optimizer() const { return *optimizer_; }

 private:
  Trainer() = default;
  absl::Status Resume(const std::string& checkpoint);
  absl::Status SaveCheckpoint(const ResumableState& data,
                              const CheckpointState::MetricsWindow& window,
                              std::string* saved_dir);
  absl::Status RestoreRankState(const ResumableState& data);

  TrainConfig config_;
  TrainerOptions options_;
  std::unique_ptr<Communicator> owned_comm_;
  Communicator* comm_ = nullptr;
  NamedTensors parameters_;
  NamedTensors buffers_;
  NamedTensors trainable_;
  std::vector<at::Tensor> trainable_tensors_;
  std::unique_ptr<Optimizer> optimizer_;
  LrSchedule schedule_;
  std::unique_ptr<WeightEma> ema_;
  std::unique_ptr<CheckpointManager> checkpoints_;
  std::unique_ptr<MetricsLog> metrics_;
  int64_t step_ = 0;
  int64_t samples_seen_ = 0;
  int64_t skipped_steps_ = 0;
  // Set by a resume, applied at the start of Run.
  std::optional<CheckpointState::RankState> pending_rank_state_;
  // The open logging window of the checkpoint resumed from.
  CheckpointState::MetricsWindow pending_window_;
};

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_TRAINER_H_
