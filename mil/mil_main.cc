// FPN-MIL: multi-scale attention MIL on mammograms (see mil/README.md).
//
//   bazel run //mil:mil_main -- --config=configs/fpn_mil_synth_demo.pbtxt \
//     --set='output_dir: "/tmp/mil_run"' [--mode=train|evaluate|extract_features|roi_eval]
#include <cstdlib>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <glog/logging.h>

#include "core/cli_flags.h"
#include "core/proto_config.h"
#include "mil/mil_pipeline.pb.h"
#include "mil/mil_train.h"

DEFINE_string(config, "", "MilPipelineConfig text proto (configs/fpn_mil_*.pbtxt).");
DEFINE_string(set, "", "Override such as 'training { epochs: 5 }' (repeatable).");
DEFINE_string(mode, "train", "train, evaluate, extract_features or roi_eval.");

int main(int argc, char** argv) {
  const std::vector<std::string> overrides = mammovl::core::SetOverrides(argc, argv);
  gflags::SetUsageMessage("Trains and evaluates multi-scale attention MIL (FPN-MIL).");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  mammovl::mil::MilPipelineConfig config;
  const absl::Status loaded = mammovl::core::LoadConfig(FLAGS_config, overrides, &config);
  if (!loaded.ok()) {
    LOG(ERROR) << loaded;
    return EXIT_FAILURE;
  }
  const auto result = mammovl::mil::RunMilPipeline(config, FLAGS_mode);
  if (!result.ok()) {
    LOG(ERROR) << result.status();
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
