// Pretrains a vision-language model from an experiment config:
//
//   pretrain_main --config=configs/demo_mammoclip.pbtxt \
//       --set='train { max_steps: 200 }' --set='run_dir: "runs/demo"'
//   pretrain_main --config=configs/demo_mammoclip.pbtxt --resume
//   torchrun --nproc_per_node=2 pretrain_main --config=...   (data parallel)
//
// Writes checkpoints, metrics.{jsonl,csv}, TensorBoard files, loss_curve.png
// and the effective config.pbtxt into the experiment's run_dir.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "core/proto_config.h"
#include "train/experiment.pb.h"
#include "train/pretrain.h"

DEFINE_string(config, "", "Experiment text proto (configs/*.pbtxt).");
DEFINE_string(set, "",
              "Override such as 'train { max_steps: 50 }' (repeatable).");
DEFINE_bool(resume, false,
            "Continue from the newest checkpoint in the run folder.");


int main(int argc, char** argv) {
  // gflags keeps only the last value of a repeated flag: collect --set first.
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (absl::StartsWith(arg, "--set=")) {
      overrides.push_back(arg.substr(6));
    } else if (arg == "--set" && i + 1 < argc) {
      overrides.push_back(argv[i + 1]);
    }
  }
  gflags::SetUsageMessage(
      "pretrain_main --config=FILE [--set='field: value']... [--resume]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (FLAGS_config.empty()) {
    std::fprintf(stderr, "pretrain_main: --config is required\n");
    return 2;
  }
  mammovl::train::Experiment experiment;
  absl::Status status =
      mammovl::core::LoadConfig(FLAGS_config, overrides, &experiment);
  if (!status.ok()) {
    std::fprintf(stderr, "pretrain_main: %s\n", status.ToString().c_str());
    return 2;
  }
  mammovl::train::PretrainOptions options;
  options.resume = FLAGS_resume;
  const auto result = mammovl::train::RunPretraining(experiment, options);
  if (!result.ok()) {
    std::fprintf(stderr, "pretrain_main: %s\n",
                 result.status().ToString().c_str());
    return 1;
  }
  return 0;
}
