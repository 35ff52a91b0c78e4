// The learnability check of the synthetic corpus: a small CNN trained briefly
// on the corpus' PNG release must tell images with a mass (and with
// calcifications) from images without, on held-out patients. Too easy means
// the findings are trivial; impossible means the demo cannot learn them.
// LibTorch lives only in learnability.cc.
#ifndef MAMMOVL_DATA_SYNTH_LEARNABILITY_H_
#define MAMMOVL_DATA_SYNTH_LEARNABILITY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mammovl::data {

struct LearnabilityOptions {
  std::string corpus_dir;  // a corpus written by GenerateCorpus (PNG + tables)
  int epochs = 6;
  int batch_size = 16;
  double learning_rate = 1e-3;
  uint64_t seed = 1;
  int threads = 0;  // 0: all cores
  // Stop training after this many seconds (0: no limit); the epoch in
  // progress is finished first.
  double time_budget_s = 0;
  // If set, the trained backbone (vision::PlainCnn with its defaults) is
  // written here as safetensors, loadable by a `plain_cnn {}` VisionConfig
  // with `checkpoint { backbone_prefix: "" }` (e.g. as the MIL backbone).
  std::string save_backbone;
};

struct LearnabilityResult {
  int train_images = 0;
  int test_images = 0;
  int test_mass_positive = 0;
  int test_calc_positive = 0;
  double mass_auc = 0;
  double calc_auc = 0;
  int epochs_run = 0;
  double seconds = 0;
};

// Trains on the "training" split of tables/synth/images.csv and evaluates on
// the "test" split (patients are disjoint). Deterministic for a seed and a
// thread count.
absl::StatusOr<LearnabilityResult> RunLearnabilityCheck(const LearnabilityOptions& options);

// Area under the ROC curve (ties count half). Requires both classes.
double RocAuc(const std::vector<float>& scores, const std::vector<int>& labels);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_SYNTH_LEARNABILITY_H_
