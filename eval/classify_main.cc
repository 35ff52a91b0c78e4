// Linear probe or fine-tune of a pretrained image tower for one label.
//
//   bazel run //eval:classify_main -- --config=$PWD/configs/demo_linear_probe.pbtxt
//   bazel run //eval:classify_main -- --config=$PWD/configs/demo_linear_probe.pbtxt \
//       --set='data { dataset { data_pct: 0.1 } }'
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/proto_config.h"
#include "eval/classify.h"
#include "eval/eval_report.h"
#include "eval/pipeline_config.pb.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

DEFINE_string(config, "", "ClassifyConfig text proto (eval/pipeline_config.proto)");
DEFINE_string(set, "", "Override such as 'out_dir: \"/tmp/x\"' (repeatable).");

int main(int argc, char** argv) {
  // gflags keeps only the last value of a repeated flag: collect --set first.
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--set=", 0) == 0) {
      overrides.push_back(arg.substr(6));
    } else if (arg == "--set" && i + 1 < argc) {
      overrides.push_back(argv[i + 1]);
    }
  }
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (FLAGS_config.empty()) {
    std::fprintf(stderr, "%s: --config is required\n", "classify_main");
    return 2;
  }
  mammovl::eval::ClassifyConfig config;
  absl::Status status = mammovl::core::LoadConfig(FLAGS_config, overrides, &config);
  if (!status.ok()) {
    LOG(ERROR) << status;
    return EXIT_FAILURE;
  }
  auto result = mammovl::eval::RunClassify(config);
  if (!result.ok()) {
    LOG(ERROR) << result.status();
    return EXIT_FAILURE;
  }
  std::printf("%s\nBest epoch %d. Report: %s/report.md\n",
              mammovl::eval::SummaryTable({result->test_metrics}).c_str(), result->best_epoch,
              config.out_dir().c_str());
  return EXIT_SUCCESS;
}
