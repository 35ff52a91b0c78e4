// Trains a small CNN on a synthetic corpus' PNG release and prints the
// held-out AUC for "mass" and "calcification" (data/synth/learnability.h).
//
//   bazel run //tools:synth_main -- --out_dir=/tmp/corpus --set='num_patients: 300'
//   bazel run //tools:synth_learnability_main -- --corpus_dir=/tmp/corpus
#include <malloc.h>

#include <cstdio>
#include <cstdlib>

#include <gflags/gflags.h>
#include <glog/logging.h>

#include "data/synth/learnability.h"

DEFINE_string(corpus_dir, "", "Corpus written by synth_main (needs png/ and tables/).");
DEFINE_int32(epochs, 6, "Training epochs.");
DEFINE_int32(batch_size, 16, "Batch size.");
DEFINE_double(learning_rate, 1e-3, "Adam learning rate (cosine-decayed).");
DEFINE_uint64(seed, 1, "Seed of initialisation, shuffling and flips.");
DEFINE_int32(threads, 0, "Torch threads; 0 means all cores.");
DEFINE_double(time_budget_s, 0, "Stop after the epoch that crosses this many seconds (0: none).");
DEFINE_string(save_backbone, "",
              "Write the trained backbone (vision plain_cnn {} defaults) to this safetensors file.");

int main(int argc, char** argv) {
  // Keep freed activations in the heap: returning them to the OS and
  // faulting them back in every step costs more than the convolutions on
  // this kind of VM (shared/notes/cpu-performance.md).
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  mammovl::data::LearnabilityOptions options;
  options.corpus_dir = FLAGS_corpus_dir;
  options.epochs = FLAGS_epochs;
  options.batch_size = FLAGS_batch_size;
  options.learning_rate = FLAGS_learning_rate;
  options.seed = FLAGS_seed;
  options.threads = FLAGS_threads;
  options.time_budget_s = FLAGS_time_budget_s;
  options.save_backbone = FLAGS_save_backbone;
  const auto result = mammovl::data::RunLearnabilityCheck(options);
  if (!result.ok()) {
    LOG(ERROR) << result.status();
    return EXIT_FAILURE;
  }
  std::printf(
      "train images %d, test images %d (mass %d, calcification %d), %d epochs, %.0f s\n"
      "held-out AUC: mass %.3f, calcification %.3f\n",
      result->train_images, result->test_images, result->test_mass_positive,
      result->test_calc_positive, result->epochs_run, result->seconds, result->mass_auc,
      result->calc_auc);
  return EXIT_SUCCESS;
}
