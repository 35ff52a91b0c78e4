// A complete training run of the tiny model (train/testing/tiny_model.h) with
// the real Trainer, for the tests in trainer_test.cc that need a separate
// process: killing a run with SIGKILL and resuming it, crashing inside a
// checkpoint save, and data-parallel runs under torchrun's variables.
//
// Flags (all --name=value): run_dir, out (final weights, buffers and EMA as
// safetensors; ".rank<r>" is appended for ranks > 0), steps, global_batch,
// accum, dropout, noise (0/1: input noise from the worker's own generator,
// saved as extra state), ema, clip, checkpoint_every, keep_last, log_every, resume (0/1),
// step_sleep_ms, hold_after_step (sleep two minutes once that many steps are
// done, so a test can kill the run before it ends), progress_file (completed
// step counts, one per line),
// crash_in_save_at_step (SIGKILL after the checkpoint files of that step are
// written, before the folder is committed).
// Exit codes: 0 ok, 2 bad flags, 3 a library call failed.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/proto_config.h"
#include "core/safetensors.h"
#include "core/status_macros.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/testing/subprocess.h"
#include "train/testing/tiny_model.h"
#include "train/trainer.h"

namespace mammovl::train {
namespace {

using Flags = std::map<std::string, std::string>;

std::string Get(const Flags& flags, const std::string& key,
                const std::string& fallback) {
  auto it = flags.find(key);
  return it == flags.end() ? fallback : it->second;
}

double GetNumber(const Flags& flags, const std::string& key, double fallback) {
  const absl::StatusOr<double> value =
      testing::WorkerFlagNumber(flags, key, fallback);
  if (!value.ok()) {
    std::fprintf(stderr, "%s\n", value.status().ToString().c_str());
    std::exit(2);
  }
  return *value;
}

absl::Status Run(const Flags& flags) {
  at::set_num_threads(1);
  MVL_ASSIGN_OR_RETURN(const DistributedEnv env,
                       DistributedEnvFromEnvironment());
  DistributedConfig dist;
  dist.set_timeout_s(60);
  dist.set_peer_probe_s(2);
  dist.set_bucket_mb(0.0005);  // several buckets even for this tiny model
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> comm,
                       CreateCommunicator(dist, env));

  const std::string config_text = absl::StrFormat(
      R"pb(
        max_steps: %d
        grad_accum_steps: %d
        seed: 7
        adamw { lr: 0.01 weight_decay: 0.05 }
        schedule { warmup_cosine { warmup_steps: 5 min_lr: 0.0001 } }
        clip_grad_norm: %g
        ema { decay: %g }
        checkpoint { every_n_steps: %d keep_last: %d }
        logging { every_n_steps: %d }
        distributed { timeout_s: 60 peer_probe_s: 2 bucket_mb: 0.0005 }
      )pb",
      static_cast<int>(GetNumber(flags, "steps", 30)),
      static_cast<int>(GetNumber(flags, "accum", 2)),
      GetNumber(flags, "clip", 1.0), GetNumber(flags, "ema", 0.9),
      static_cast<int>(GetNumber(flags, "checkpoint_every", 3)),
      static_cast<int>(GetNumber(flags, "keep_last", 2)),
      static_cast<int>(GetNumber(flags, "log_every", 1)));
  TrainConfig config;
  MVL_RETURN_IF_ERROR(
      core::ParseTextProto(config_text, "worker config", &config));

  testing::TinyModel model(/*seed=*/3);
  const int64_t global_batch =
      static_cast<int64_t>(GetNumber(flags, "global_batch", 8));
  testing::TinyDataSource data(global_batch / config.grad_accum_steps(),
                               comm->rank(), comm->world_size(), /*seed=*/11);
  const double dropout = GetNumber(flags, "dropout", 0.1);
  const bool noise = GetNumber(flags, "noise", 1) != 0;
  std::mt19937 augment(1234 + comm->rank());
  const int sleep_ms = static_cast<int>(GetNumber(flags, "step_sleep_ms", 0));
  const int64_t hold_step =
      static_cast<int64_t>(GetNumber(flags, "hold_after_step", -1));
  const int64_t crash_step =
      static_cast<int64_t>(GetNumber(flags, "crash_in_save_at_step", -1));
  const std::string progress_file = Get(flags, "progress_file", "");

  TrainerOptions options;
  options.run_dir = Get(flags, "run_dir", "");
  options.resume = GetNumber(flags, "resume", 0) != 0;
  options.comm = comm.get();
  options.extra_state.save = [&] {
    std::ostringstream out;
    out << augment;
    return out.str();
  };
  options.extra_state.restore = [&](absl::string_view bytes) {
    std::istringstream in{std::string(bytes)};
    in >> augment;
    return in.fail() ? absl::DataLossError("bad generator state")
                     : absl::OkStatus();
  };
  Trainer* trainer_ptr = nullptr;
  options.checkpoint_stage_hook = [&](absl::string_view stage) {
    if (stage == "written" && trainer_ptr != nullptr &&
        trainer_ptr->step() == crash_step) {
      std::fprintf(stderr, "crashing inside the save of step %lld\n",
                   static_cast<long long>(crash_step));
      std::fflush(stderr);
      ::raise(SIGKILL);
    }
  };
  options.after_step = [&](int64_t completed) {
    if (!progress_file.empty()) {
      if (std::FILE* f = std::fopen(progress_file.c_str(), "a")) {
        std::fprintf(f, "%lld\n", static_cast<long long>(completed));
        std::fclose(f);
      }
    }
    if (sleep_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    if (completed == hold_step)
      std::this_thread::sleep_for(std::chrono::minutes(2));
  };
  MVL_ASSIGN_OR_RETURN(
      std::unique_ptr<Trainer> trainer,
      Trainer::Create(config, model.parameters(), model.buffers(), options));
  trainer_ptr = trainer.get();
  MVL_ASSIGN_OR_RETURN(
      const TrainResult result,
      trainer->Run(data,
                   [&](testing::TinyBatch& batch,
                       const StepContext&) -> absl::StatusOr<StepOutput> {
                     at::Tensor loss =
                         model.Loss(batch, dropout, noise ? &augment : nullptr);
                     return StepOutput{
                         loss, {{"mse", loss.item<double>()}}, batch.x.size(0)};
                   }));

  NamedTensors out = model.parameters();
  out.insert(out.end(), model.buffers().begin(), model.buffers().end());
  for (const auto& [name, tensor] : *trainer->ema_weights())
    out.emplace_back("ema." + name, tensor);
  std::string path = Get(flags, "out", "");
  if (comm->rank() > 0) absl::StrAppend(&path, ".rank", comm->rank());
  std::fprintf(stderr, "finished: %lld steps, last loss %.6g\n",
               static_cast<long long>(result.steps), result.last_loss);
  return core::WriteSafetensors(path, out,
                                {{"steps", absl::StrCat(result.steps)}});
}

}  // namespace
}  // namespace mammovl::train

int main(int argc, char** argv) {
  const auto flags = mammovl::train::testing::ParseWorkerFlags(argc, argv);
  if (!flags.ok() || flags->count("run_dir") == 0 || flags->count("out") == 0) {
    std::fprintf(stderr,
                 "usage: %s --run_dir=DIR --out=FILE [--name=value ...]\n",
                 argv[0]);
    return 2;
  }
  const absl::Status status = mammovl::train::Run(*flags);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
    return 3;
  }
  return 0;
}
