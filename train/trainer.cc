#include "train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <glog/logging.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/proto_config.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "train/name_pattern.h"

namespace mammovl::train {
namespace {

double Seconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double UnixSeconds() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string TorchRngState() {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  const at::Tensor state = generator.get_state().contiguous();
  return std::string(static_cast<const char*>(state.data_ptr()), state.numel());
}

absl::Status SetTorchRngState(absl::string_view bytes) {
  return core::RunTorch("restoring torch's random generator", [&] {
    at::Tensor state =
        at::empty({static_cast<int64_t>(bytes.size())}, at::kByte);
    std::memcpy(state.data_ptr(), bytes.data(), bytes.size());
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  });
}

// Every rank's `bytes`, indexed by rank (all ranks get all).
absl::StatusOr<std::vector<std::string>> GatherBytes(Communicator& comm,
                                                     const std::string& bytes) {
  if (comm.world_size() == 1) return std::vector<std::string>{bytes};
  return core::RunTorch(
      "gathering rank states",
      [&]() -> absl::StatusOr<std::vector<std::string>> {
        MVL_ASSIGN_OR_RETURN(
            const at::Tensor lengths,
            comm.AllGather(
                at::full({1}, static_cast<int64_t>(bytes.size()), at::kLong)));
        const int64_t longest = lengths.max().item<int64_t>();
        at::Tensor padded =
            at::zeros({1, std::max<int64_t>(longest, 1)}, at::kByte);
        if (!bytes.empty())
          std::memcpy(padded.data_ptr(), bytes.data(), bytes.size());
        MVL_ASSIGN_OR_RETURN(const at::Tensor all, comm.AllGather(padded));
        std::vector<std::string> out;
        for (int r = 0; r < comm.world_size(); ++r) {
          const at::Tensor row = all[r].contiguous();
          out.emplace_back(static_cast<const char*>(row.data_ptr()),
                           lengths[r].item<int64_t>());
        }
        return out;
      });
}

// Sums of what the steps of one logging window produced.
struct Window {
  int64_t steps = 0;
  int64_t samples = 0;
  double loss = 0;
  double grad_norm = 0;
  double start_s = 0;
  std::vector<std::pair<std::string, double>> metrics;
};

}  // namespace

absl::Status ValidateTrainConfig(const TrainConfig& config) {
  if (config.max_steps() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_steps must be >= 1 (got ", config.max_steps(), ")"));
  }
  if (config.grad_accum_steps() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "grad_accum_steps must be >= 1 (got ", config.grad_accum_steps(), ")"));
  }
  MVL_RETURN_IF_ERROR(ValidateOptimizerConfig(config));
  MVL_RETURN_IF_ERROR(
      ValidateScheduleConfig(config.schedule(), config.max_steps()));
  MVL_RETURN_IF_ERROR(ValidateDistributedConfig(config.distributed()));
  if (!(config.clip_grad_norm() >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "clip_grad_norm must be >= 0 (got ", config.clip_grad_norm(), ")"));
  }
  if (!(config.ema().decay() >= 0 && config.ema().decay() < 1) ||
      config.ema().start_step() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ema.decay must be in [0, 1) and ema.start_step >= 0 (got ",
        config.ema().decay(), ", ", config.ema().start_step(), ")"));
  }
  if (config.nonfinite_guard().max_skipped_steps() < 0) {
    return absl::InvalidArgumentError(
        "nonfinite_guard.max_skipped_steps must be >= 0");
  }
  switch (config.precision()) {
    case TrainConfig::FP32:
      break;
    case TrainConfig::BF16_AUTOCAST:
      return absl::InvalidArgumentError(
          "precision BF16_AUTOCAST needs a CUDA device with bf16 support; this "
          "build of "
          "MammoVL is CPU-only (use FP32)");
    default:
      return absl::InvalidArgumentError(
          "precision must be FP32 or BF16_AUTOCAST");
  }
  if (config.checkpoint().every_n_steps() < 0 ||
      config.checkpoint().keep_last() < 0) {
    return absl::InvalidArgumentError(
        "checkpoint.every_n_steps and checkpoint.keep_last must be >= 0");
  }
  if (config.checkpoint().subdir().empty()) {
    return absl::InvalidArgumentError("checkpoint.subdir must not be empty");
  }
  if (config.logging().every_n_steps() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("logging.every_n_steps must be >= 1 (got ",
                     config.logging().every_n_steps(), ")"));
  }
  if (config.num_threads() < 0) {
    return absl::InvalidArgumentError("num_threads must be >= 0");
  }
  MVL_RETURN_IF_ERROR(
      ParseNamePatterns({config.freeze().begin(), config.freeze().end()},
                        "freeze")
          .status());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(
    const TrainConfig& config, NamedTensors parameters, NamedTensors buffers,
    TrainerOptions options) {
  MVL_RETURN_IF_ERROR(ValidateTrainConfig(config));
  if (options.run_dir.empty())
    return absl::InvalidArgumentError("run_dir must be set");
  std::unique_ptr<Trainer> trainer(new Trainer());
  Trainer& t = *trainer;
  t.config_ = config;
  t.options_ = std::move(options);
  if (t.options_.config_text.empty())
    t.options_.config_text = core::ToTextProto(config);
  if (t.options_.comm == nullptr) {
    t.owned_comm_ = CreateLocalCommunicator();
    t.comm_ = t.owned_comm_.get();
  } else {
    t.comm_ = t.options_.comm;
  }
  if (config.num_threads() > 0) at::set_num_threads(config.num_threads());

  std::set<std::string> names;
  for (const NamedTensors* list : {&parameters, &buffers}) {
    for (const auto& [name, tensor] : *list) {
      if (!names.insert(name).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor name '", name, "' appears twice"));
      }
      if (!tensor.defined()) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor '", name, "' is undefined"));
      }
    }
  }
  t.parameters_ = std::move(parameters);
  t.buffers_ = std::move(buffers);

  // Freezing.
  MVL_ASSIGN_OR_RETURN(
      const std::vector<NamePattern> freeze,
      ParseNamePatterns({config.freeze().begin(), config.freeze().end()},
                        "freeze"));
  int64_t frozen = 0;
  for (auto& [name, tensor] : t.parameters_) {
    if (MatchesAny(freeze, name)) tensor.set_requires_grad(false);
    if (!tensor.requires_grad()) {
      ++frozen;
      continue;
    }
    t.trainable_.emplace_back(name, tensor);
    t.trainable_tensors_.push_back(tensor);
  }
  if (t.trainable_.empty()) {
    return absl::InvalidArgumentError(
        "no trainable parameters (everything is frozen)");
  }
  LOG_IF(INFO, t.comm_->is_main())
      << "trainer: " << t.trainable_.size() << " trainable and " << frozen
      << " frozen parameter tensors";

  MVL_ASSIGN_OR_RETURN(std::vector<ParamGroup> groups,
                       MakeParamGroups(t.trainable_, config));
  MVL_ASSIGN_OR_RETURN(t.optimizer_, BuildOptimizer(config, std::move(groups)));
  MVL_ASSIGN_OR_RETURN(
      t.schedule_, BuildLrSchedule(config.schedule(), OptimizerBaseLr(config),
                                   config.max_steps()));

  // Every rank starts from rank 0's weights and buffers.
  std::vector<at::Tensor> all;
  for (const auto& [name, tensor] : t.parameters_) all.push_back(tensor);
  for (const auto& [name, tensor] : t.buffers_) all.push_back(tensor);
  MVL_RETURN_IF_ERROR(BroadcastParameters(*t.comm_, all));

  if (config.ema().decay() > 0) {
    NamedTensors tracked = t.parameters_;
    tracked.insert(tracked.end(), t.buffers_.begin(), t.buffers_.end());
    t.ema_ = std::make_unique<WeightEma>(tracked, config.ema().decay(),
                                         config.ema().start_step());
  }

  CheckpointOptions checkpoint_options;
  checkpoint_options.dir =
      absl::StrCat(t.options_.run_dir, "/", config.checkpoint().subdir());
  checkpoint_options.keep_last = config.checkpoint().keep_last();
  checkpoint_options.on_stage = t.options_.checkpoint_stage_hook;
  t.checkpoints_ = std::make_unique<CheckpointManager>(checkpoint_options);
  MVL_ASSIGN_OR_RETURN(const std::optional<std::string> latest,
                       t.checkpoints_->Latest());
  if (latest.has_value() && !t.options_.resume) {
    return absl::FailedPreconditionError(
        absl::StrCat("run folder ", t.options_.run_dir,
                     " already holds checkpoints (newest ", *latest,
                     "); resume it or choose another run folder"));
  }
  if (latest.has_value()) {
    MVL_RETURN_IF_ERROR(t.Resume(*latest));
  } else if (t.options_.resume) {
    LOG_IF(INFO, t.comm_->is_main())
        << "resume: no checkpoint in " << checkpoint_options.dir
        << "; starting at step 0";
  }

  if (t.comm_->is_main()) {
    MVL_RETURN_IF_ERROR(t.checkpoints_->RemoveIncomplete());
    MVL_ASSIGN_OR_RETURN(const int64_t stale,
                         core::RemoveStaleTempFiles(t.options_.run_dir, true));
    LOG_IF(INFO, stale > 0) << "removed " << stale
                            << " temporary files left by an interrupted run in "
                            << t.options_.run_dir;
    MVL_RETURN_IF_ERROR(core::MakeDirectories(t.options_.run_dir));
    MVL_RETURN_IF_ERROR(core::WriteFileAtomically(
        absl::StrCat(t.options_.run_dir, "/config.pbtxt"),
        t.options_.config_text));
    MetricsLog::Options log_options;
    log_options.jsonl = config.logging().jsonl();
    log_options.csv = config.logging().csv();
    log_options.tensorboard = config.logging().tensorboard();
    std::optional<int64_t> resume_after;
    if (latest.has_value()) resume_after = t.step_;
    MVL_ASSIGN_OR_RETURN(
        t.metrics_,
        MetricsLog::Open(t.options_.run_dir, log_options, resume_after));
    MVL_RETURN_IF_ERROR(
        t.metrics_->LogText("config", t.options_.config_text, t.step_));
  }
  return trainer;
}

Trainer::~Trainer() = default;

const NamedTensors* Trainer::ema_weights() const {
  return ema_ != nullptr ? &ema_->shadow() : nullptr;
}

absl::Status Trainer::Resume(const std::string& checkpoint) {
  MVL_ASSIGN_OR_RETURN(CheckpointContents contents, LoadCheckpoint(checkpoint));
  NamedTensors model = parameters_;
  model.insert(model.end(), buffers_.begin(), buffers_.end());
  MVL_RETURN_IF_ERROR(CopyNamedTensors(contents.model, model,
                                       checkpoint + "/model.safetensors"));
  if (contents.optimizer.empty()) {
    LOG(WARNING) << checkpoint
                 << " has no optimizer state; the optimizer starts afresh";
  } else {
    MVL_RETURN_IF_ERROR(optimizer_->LoadStateTensors(contents.optimizer));
  }
  if (ema_ != nullptr) {
    if (contents.ema.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(checkpoint, " has no EMA weights but ema.decay is set"));
    }
    MVL_RETURN_IF_ERROR(ema_->Load(contents.ema));
  }
  const CheckpointState& state = contents.state;
  if (state.step() >= config_.max_steps()) {
    LOG_IF(INFO, comm_->is_main())
        << checkpoint << " is at step " << state.step()
        << ", not before max_steps " << config_.max_steps();
  }
  step_ = state.step();
  pending_window_ = state.metrics_window();
  samples_seen_ = state.samples_seen();
  skipped_steps_ = state.skipped_steps();
  if (state.ranks_size() > 0) {
    int source = comm_->rank();
    if (state.world_size() != comm_->world_size() ||
        state.ranks_size() != state.world_size()) {
      source = comm_->rank() % state.ranks_size();
      LOG(WARNING) << checkpoint << " was written by " << state.world_size()
                   << " processes, this run has " << comm_->world_size()
                   << "; rank " << comm_->rank() << " continues rank " << source
                   << "'s random and data streams (the run is not an exact "
                      "continuation)";
    }
    pending_rank_state_ = state.ranks(source);
  }
  LOG_IF(INFO, comm_->is_main())
      << "resumed from " << checkpoint << " at step " << step_;
  return absl::OkStatus();
}

absl::Status Trainer::RestoreRankState(const ResumableState& data) {
  if (!pending_rank_state_.has_value()) return absl::OkStatus();
  const CheckpointState::RankState state = *std::move(pending_rank_state_);
  pending_rank_state_.reset();
  if (!state.torch_rng_state().empty()) {
    MVL_RETURN_IF_ERROR(SetTorchRngState(state.torch_rng_state()));
  }
  if (data.restore) MVL_RETURN_IF_ERROR(data.restore(state.data_position()));
  if (options_.extra_state.restore) {
    MVL_RETURN_IF_ERROR(options_.extra_state.restore(state.extra_state()));
  }
  return absl::OkStatus();
}

absl::Status Trainer::SaveCheckpoint(const ResumableState& data,
                                     const CheckpointState::MetricsWindow& window,
                                     std::string* saved_dir) {
  // Every rank contributes its own streams; rank 0 writes.
  MVL_ASSIGN_OR_RETURN(const std::vector<std::string> rng,
                       GatherBytes(*comm_, TorchRngState()));
  MVL_ASSIGN_OR_RETURN(
      const std::vector<std::string> positions,
      GatherBytes(*comm_, data.save ? data.save() : std::string()));
  MVL_ASSIGN_OR_RETURN(const std::vector<std::string> extra,
                       GatherBytes(*comm_, options_.extra_state.save
                                               ? options_.extra_state.save()
                                               : std::string()));
  return RunOnMainRank(*comm_, [&]() -> absl::Status {
    CheckpointContents contents;
    contents.model = parameters_;
    contents.model.insert(contents.model.end(), buffers_.begin(),
                          buffers_.end());
    if (config_.checkpoint().save_optimizer())
      contents.optimizer = optimizer_->StateTensors();
    if (ema_ != nullptr) contents.ema = ema_->shadow();
    contents.config_text = options_.config_text;
    CheckpointState& state = contents.state;
    state.set_step(step_);
    state.set_samples_seen(samples_seen_);
    state.set_skipped_steps(skipped_steps_);
    state.set_world_size(comm_->world_size());
    state.set_wall_time(UnixSeconds());
    *state.mutable_metrics_window() = window;
    for (int r = 0; r < comm_->world_size(); ++r) {
      CheckpointState::RankState* rank = state.add_ranks();
      rank->set_torch_rng_state(rng[r]);
      rank->set_data_position(positions[r]);
      rank->set_extra_state(extra[r]);
    }
    MVL_ASSIGN_OR_RETURN(*saved_dir, checkpoints_->Save(contents));
    LOG(INFO) << "checkpoint " << *saved_dir;
    return absl::OkStatus();
  });
}

absl::StatusOr<TrainResult> Trainer::Run(const MicroStepFunction& step_fn,
                                         const ResumableState& data) {
  MVL_RETURN_IF_ERROR(RestoreRankState(data));
  if (step_ == 0 && samples_seen_ == 0) {
    // A fresh run: each rank gets its own random stream (dropout, noise).
    at::manual_seed(config_.seed() + static_cast<uint64_t>(comm_->rank()));
  }
  const int accum = config_.grad_accum_steps();
  const int64_t bucket_bytes =
      static_cast<int64_t>(config_.distributed().bucket_mb() * 1024 * 1024);
  const int64_t log_every = config_.logging().every_n_steps();
  const int64_t checkpoint_every = config_.checkpoint().every_n_steps();
  const int max_skipped = config_.nonfinite_guard().max_skipped_steps();
  const bool world = comm_->world_size() > 1;
  std::vector<at::Tensor> buffer_tensors;
  for (const auto& [name, tensor] : buffers_) buffer_tensors.push_back(tensor);

  TrainResult result;
  std::unique_ptr<core::ProgressReporter> progress;
  Window window;
  window.start_s = Seconds();
  {  // Continue the logging window of the checkpoint resumed from.
    const CheckpointState::MetricsWindow& w = pending_window_;
    window.steps = w.steps();
    window.samples = w.samples();
    window.loss = w.loss();
    window.grad_norm = w.grad_norm();
    for (int i = 0; i < w.metric_names_size() && i < w.metric_values_size(); ++i) {
      window.metrics.emplace_back(w.metric_names(i), w.metric_values(i));
    }
    pending_window_.Clear();
  }
  std::string last_checkpoint;

  while (step_ < config_.max_steps()) {
    const int64_t step = step_;
    const double lr = schedule_(step);
    if (world && !buffer_tensors.empty()) {
      MVL_RETURN_IF_ERROR(BroadcastParameters(*comm_, buffer_tensors));
    }
    double loss_sum = 0;
    int64_t samples = 0;
    std::vector<std::pair<std::string, double>> metric_sums;
    for (int micro = 0; micro < accum; ++micro) {
      const StepContext context{step, micro, accum, comm_};
      absl::StatusOr<StepOutput> out;
      const absl::Status status = core::RunTorch(
          absl::StrCat("training step ", step), [&]() -> absl::Status {
            out = step_fn(context);
            if (!out.ok()) return out.status();
            if (!out->loss.defined() || out->loss.numel() != 1) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "step ", step,
                  ": the step function must return a scalar loss"));
            }
            loss_sum += out->loss.item<double>();
            (out->loss / accum).backward();
            return absl::OkStatus();
          });
      if (!status.ok()) {
        // A collective that failed inside the loss surfaces as a torch error;
        // the communicator holds the precise one.
        return comm_->health().ok() ? status : comm_->health();
      }
      samples += out->samples;
      if (micro == 0 && metric_sums.empty()) {
        metric_sums = out->metrics;
      } else {
        if (out->metrics.size() != metric_sums.size()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "step ", step, ": the step function returned ",
              out->metrics.size(), " metrics, earlier ", metric_sums.size()));
        }
        for (size_t i = 0; i < metric_sums.size(); ++i)
          metric_sums[i].second += out->metrics[i].second;
      }
    }

    if (options_.after_backward) {
      MVL_RETURN_IF_ERROR(core::RunTorch(
          absl::StrCat("after backward of step ", step),
          [&] { options_.after_backward(step); }));
    }
    MVL_RETURN_IF_ERROR(
        AllReduceGradients(*comm_, trainable_tensors_, bucket_bytes));
    // Loss, non-finite flag, samples and metrics summed over ranks in one go.
    std::vector<double> stats = {loss_sum, std::isfinite(loss_sum) ? 0.0 : 1.0,
                                 static_cast<double>(samples)};
    for (const auto& [name, value] : metric_sums) stats.push_back(value);
    if (world) {
      std::vector<at::Tensor> reduce = {at::tensor(stats, at::kDouble)};
      MVL_RETURN_IF_ERROR(comm_->AllReduceSum(reduce));
      for (size_t i = 0; i < stats.size(); ++i)
        stats[i] = reduce[0][i].item<double>();
    }
    const double denominator = static_cast<double>(accum) * comm_->world_size();
    const double step_loss = stats[0] / denominator;
    const int64_t step_samples = static_cast<int64_t>(std::llround(stats[2]));
    MVL_ASSIGN_OR_RETURN(
        const double grad_norm,
        ClipGradNorm(trainable_tensors_, config_.clip_grad_norm()));

    if (stats[1] > 0 || !std::isfinite(step_loss) ||
        !std::isfinite(grad_norm)) {
      ++skipped_steps_;
      LOG_IF(WARNING, comm_->is_main())
          << "step " << step << ": non-finite loss (" << step_loss
          << ") or gradient norm (" << grad_norm << "); step skipped ("
          << skipped_steps_ << " so far, limit " << max_skipped << ")";
      optimizer_->ZeroGrad();
      if (skipped_steps_ > max_skipped) {
        return absl::AbortedError(absl::StrCat(
            "training diverged: ", skipped_steps_,
            " steps had a non-finite loss or gradient "
            "(limit nonfinite_guard.max_skipped_steps = ",
            max_skipped, "); the last at step ", step, " with loss ", step_loss,
            " and gradient norm ", grad_norm));
      }
    } else {
      MVL_RETURN_IF_ERROR(optimizer_->Step(lr));
      optimizer_->ZeroGrad();
      if (ema_ != nullptr) {
        NamedTensors tracked = parameters_;
        tracked.insert(tracked.end(), buffers_.begin(), buffers_.end());
        ema_->Update(tracked, step);
      }
      window.loss += step_loss;
      window.grad_norm += grad_norm;
      if (window.metrics.empty()) {
        for (size_t i = 0; i < metric_sums.size(); ++i) {
          window.metrics.emplace_back(metric_sums[i].first,
                                      stats[3 + i] / denominator);
        }
      } else {
        for (size_t i = 0; i < window.metrics.size() && i < metric_sums.size();
             ++i) {
          window.metrics[i].second += stats[3 + i] / denominator;
        }
      }
      ++window.steps;
    }
    ++step_;
    samples_seen_ += step_samples;
    window.samples += step_samples;
    result.last_loss = step_loss;

    if (comm_->is_main()) {
      if (progress == nullptr) {
        core::ProgressOptions progress_options = options_.progress;
        progress_options.unit = "samples";
        progress_options.log_interval_s =
            config_.logging().progress_interval_s();
        progress = std::make_unique<core::ProgressReporter>(
            "train",
            (config_.max_steps() - step) * std::max<int64_t>(step_samples, 1),
            progress_options);
      }
      progress->Add(step_samples);
    }

    const bool last = step_ == config_.max_steps();
    if (comm_->is_main() && (step_ % log_every == 0 || last)) {
      const double elapsed = Seconds() - window.start_s;
      std::vector<std::pair<std::string, double>> row;
      const double n = std::max<int64_t>(window.steps, 1);
      row.emplace_back("loss", window.steps > 0 ? window.loss / n : step_loss);
      row.emplace_back("lr", lr);
      row.emplace_back("grad_norm",
                       window.steps > 0 ? window.grad_norm / n : grad_norm);
      row.emplace_back("samples_per_s",
                       elapsed > 0 ? window.samples / elapsed : 0.0);
      row.emplace_back("skipped_steps", static_cast<double>(skipped_steps_));
      for (const auto& [name, value] : window.metrics)
        row.emplace_back(name, value / n);
      MVL_RETURN_IF_ERROR(metrics_->Log(step_, std::move(row)));
      VLOG(1) << "step " << step_ << " loss " << step_loss << " lr " << lr;
      window = Window();
      window.start_s = Seconds();
    }

    if ((checkpoint_every > 0 && step_ % checkpoint_every == 0) ||
        (last && config_.checkpoint().save_final())) {
      CheckpointState::MetricsWindow open_window;
      open_window.set_steps(window.steps);
      open_window.set_samples(window.samples);
      open_window.set_loss(window.loss);
      open_window.set_grad_norm(window.grad_norm);
      for (const auto& [name, value] : window.metrics) {
        open_window.add_metric_names(name);
        open_window.add_metric_values(value);
      }
      MVL_RETURN_IF_ERROR(SaveCheckpoint(data, open_window, &last_checkpoint));
    }
    if (options_.after_step) options_.after_step(step_);
  }
  if (progress != nullptr) progress->Finish();

  if (comm_->is_main() && options_.on_finish) {
    MVL_RETURN_IF_ERROR(
        options_.on_finish(metrics_->Series(), options_.run_dir));
  }
  MVL_RETURN_IF_ERROR(comm_->Finalize());
  result.steps = step_;
  result.skipped_steps = skipped_steps_;
  result.samples = samples_seen_;
  result.last_checkpoint = last_checkpoint;
  return result;
}

}  // namespace mammovl::train
