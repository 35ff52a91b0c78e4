// Writes the synthetic mammography corpus (DICOM, PNG, dataset tables,
// reports, ground truth) described by a SynthConfig text proto.
//
//   bazel run //tools:synth_main -- --out_dir=/tmp/corpus
//   bazel run //tools:synth_main -- --out_dir=/tmp/tiny --set='preset: TINY'
//   bazel run //tools:synth_main -- --config=my_synth.pbtxt
//       --set="num_patients: 40" --set="encoding { jpeg2000_fraction: 0.5 }"
//
// --set may be given any number of times; overrides apply in order.
#include <cstdlib>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <glog/logging.h>

#include "absl/strings/match.h"
#include "core/proto_config.h"
#include "data/synth/synth.h"
#include "data/synth/synth_config.pb.h"

DEFINE_string(config, "", "SynthConfig text proto; empty means the defaults (the demo corpus).");
DEFINE_string(set, "", "Override such as 'num_patients: 40' (repeatable).");
DEFINE_string(out_dir, "", "Folder to write the corpus into (created if missing).");

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
  gflags::SetUsageMessage("Writes a synthetic mammography corpus.");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (FLAGS_out_dir.empty()) {
    LOG(ERROR) << "--out_dir is required";
    return EXIT_FAILURE;
  }
  mammovl::data::SynthConfig config;
  const absl::Status loaded = mammovl::core::LoadConfig(FLAGS_config, overrides, &config);
  if (!loaded.ok()) {
    LOG(ERROR) << loaded;
    return EXIT_FAILURE;
  }
  const auto summary = mammovl::data::GenerateCorpus(config, FLAGS_out_dir);
  if (!summary.ok()) {
    LOG(ERROR) << summary.status();
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
