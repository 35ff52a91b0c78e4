// Zero-shot evaluation of a pretrained model, or per-label probabilities for
// one image or DICOM file.
//
//   bazel run //eval:zs_eval_main -- --config=$PWD/configs/demo_zs_eval.pbtxt
//   bazel run //eval:zs_eval_main -- --config=$PWD/configs/demo_zs_eval.pbtxt \
//       --predict=$PWD/runs/demo_corpus/dicom/0001/RCC.dcm
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/proto_config.h"
#include "eval/eval_report.h"
#include "eval/pipeline_config.pb.h"
#include "eval/zs_eval.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

DEFINE_string(config, "", "ZeroShotEvalConfig text proto (eval/pipeline_config.proto)");
DEFINE_string(set, "", "Override such as 'out_dir: \"/tmp/x\"' (repeatable).");
DEFINE_string(predict, "", "Image or DICOM file: print its per-label probabilities");

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
    std::fprintf(stderr, "%s: --config is required\n", "zs_eval_main");
    return 2;
  }
  mammovl::eval::ZeroShotEvalConfig config;
  absl::Status status = mammovl::core::LoadConfig(FLAGS_config, overrides, &config);
  if (!status.ok()) {
    LOG(ERROR) << status;
    return EXIT_FAILURE;
  }
  if (!FLAGS_predict.empty()) {
    auto predictor = mammovl::eval::Predictor::Create(config);
    if (!predictor.ok()) {
      LOG(ERROR) << predictor.status();
      return EXIT_FAILURE;
    }
    auto labels = (*predictor)->Predict(FLAGS_predict);
    if (!labels.ok()) {
      LOG(ERROR) << labels.status();
      return EXIT_FAILURE;
    }
    std::printf("%s", mammovl::eval::FormatPredictions(*labels).c_str());
    return EXIT_SUCCESS;
  }
  auto result = mammovl::eval::RunZeroShotEval(config);
  if (!result.ok()) {
    LOG(ERROR) << result.status();
    return EXIT_FAILURE;
  }
  std::printf("%s\nReport: %s/report.md\n",
              mammovl::eval::SummaryTable(result->metrics).c_str(), config.out_dir().c_str());
  return EXIT_SUCCESS;
}
