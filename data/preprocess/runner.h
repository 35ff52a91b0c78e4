// The preprocessing run behind tools/preprocess_main: enumerate (and shard)
// the DICOM inputs, resume from an earlier manifest, convert every file on a
// pool of workers (child processes by default, so a decoder crash or hang
// costs one file), commit each PNG atomically, and write manifest.csv,
// failures.csv and run_stats.json. Also the MAP_BOXES and MERGE_MANIFESTS
// modes. No LibTorch.
#ifndef MAMMOVL_DATA_PREPROCESS_RUNNER_H_
#define MAMMOVL_DATA_PREPROCESS_RUNNER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/preprocess/preprocess_config.pb.h"

namespace mammovl::data {

struct RunSummary {
  int64_t inputs = 0;     // files of this shard
  int64_t resumed = 0;    // skipped: already in the manifest with a valid PNG
  int64_t converted = 0;  // files converted in this run
  int64_t frames_written = 0;
  int64_t failed = 0;
  double wall_s = 0;
  // Seconds summed over converted files, per stage (io, parse, decode,
  // intensity, crop, resize, encode, write).
  std::map<std::string, double> stage_seconds;
  bool policy_exceeded = false;
};

// Runs mode PREPROCESS. Returns the summary even when files failed; an error
// when the configuration is invalid (InvalidArgument), the output folder
// holds a manifest and `resume` is false (FailedPrecondition), outputs cannot
// be written, or the failure policy was exceeded (Aborted, after the
// manifest and failures were written).
absl::StatusOr<RunSummary> RunPreprocess(const PreprocessConfig& config);

// Mode MERGE_MANIFESTS: combines manifest-*-of-*.csv and failures-*-of-*.csv
// of `config.output_dir` into manifest.csv and failures.csv.
absl::Status MergeShardManifests(const PreprocessConfig& config);

// Dispatches on `config.mode()`: the one entry point of preprocess_main.
absl::Status RunPreprocessMode(const PreprocessConfig& config);

// Output file names for shard `index` of `count` ("manifest.csv" for a
// single shard, "manifest-00001-of-00004.csv" otherwise).
std::string ShardFileName(const std::string& stem, const std::string& extension,
                          int index, int count);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_PREPROCESS_RUNNER_H_
