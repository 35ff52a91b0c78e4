// Converts a DICOM archive into model-ready PNGs (+ manifest.csv,
// failures.csv), maps annotation boxes into the PNG frame, or merges shard
// manifests. See data/preprocess/README.md.
//
//   bazel run //tools:preprocess_main --
//     --config=data/preprocess/configs/mammoclip.pbtxt
//     --set='input_dir: "/data/vindr/images"'
//     --set='output_dir: "/data/vindr/png"' --shard=0/4
//   (one command; written over several lines here)
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/proto_config.h"
#include "data/preprocess/preprocess_config.pb.h"
#include "data/preprocess/runner.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

DEFINE_string(config, "", "Text-format mammovl.data.PreprocessConfig file.");
DEFINE_string(set, "",
              "Config override, e.g. --set='preset: MAMA'; may be repeated.");
DEFINE_string(shard, "", "This run's shard as i/n (0 <= i < n).");
DEFINE_string(
    mode, "",
    "preprocess, map_boxes or merge_manifests (default: the config's).");
DEFINE_int64(max_failures, -2,
             "Stop with a non-zero exit after this many failed files "
             "(-1: no limit; default: the config's).");

int main(int argc, char** argv) {
  // gflags keeps only the last --set; collect every occurrence first.
  std::vector<std::string> overrides;
  std::vector<char*> args = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--set=", 0) == 0) {
      overrides.push_back(a.substr(6));
    } else if (a == "--set" && i + 1 < argc) {
      overrides.push_back(argv[++i]);
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  char** rest = args.data();
  gflags::ParseCommandLineFlags(&n, &rest, true);
  google::InitGoogleLogging(argv[0]);

  mammovl::data::PreprocessConfig config;
  if (FLAGS_mode == "map_boxes") overrides.push_back("mode: MAP_BOXES");
  if (FLAGS_mode == "merge_manifests")
    overrides.push_back("mode: MERGE_MANIFESTS");
  if (FLAGS_max_failures != -2) {
    overrides.push_back("max_failures: " + std::to_string(FLAGS_max_failures));
  }
  if (!FLAGS_shard.empty()) {
    const std::vector<std::string> parts = absl::StrSplit(FLAGS_shard, '/');
    int index = -1, count = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &index) ||
        !absl::SimpleAtoi(parts[1], &count)) {
      LOG(ERROR) << "--shard must look like 3/8, got " << FLAGS_shard;
      return EXIT_FAILURE;
    }
    overrides.push_back("shard_index: " + parts[0]);
    overrides.push_back("shard_count: " + parts[1]);
  }
  absl::Status status =
      mammovl::core::LoadConfig(FLAGS_config, overrides, &config);
  if (status.ok()) status = mammovl::data::RunPreprocessMode(config);
  if (!status.ok()) {
    LOG(ERROR) << status;
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
