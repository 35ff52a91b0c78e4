// Trains and evaluates the RetinaNet detector described by a
// DetectorPipelineConfig (detection/detector_config.proto); see
// detection/README.md. Example:
//   bazel run -c opt //detection:detector_main -- \
//     --config=configs/detector/demo_synth_mass.pbtxt --set='output_dir: "/tmp/det"'
#include <cstdlib>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <glog/logging.h>

#include "core/cli_flags.h"
#include "core/proto_config.h"
#include "detection/detector_config.pb.h"
#include "detection/detector_runner.h"

DEFINE_string(config, "", "DetectorPipelineConfig text proto (required).");
DEFINE_string(set, "", "Override such as 'train.max_steps: 100' (repeatable).");

int main(int argc, char** argv) {
  const std::vector<std::string> overrides = mammovl::core::SetOverrides(argc, argv);
  gflags::SetUsageMessage("Trains and evaluates a RetinaNet detector.");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (FLAGS_config.empty()) {
    LOG(ERROR) << "--config is required";
    return EXIT_FAILURE;
  }
  mammovl::detection::DetectorPipelineConfig config;
  const absl::Status loaded = mammovl::core::LoadConfig(FLAGS_config, overrides, &config);
  if (!loaded.ok()) {
    LOG(ERROR) << loaded;
    return EXIT_FAILURE;
  }
  const auto report =
      mammovl::detection::RunDetector(config, mammovl::core::ToTextProto(config));
  if (!report.ok()) {
    LOG(ERROR) << report.status();
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
