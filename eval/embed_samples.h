// Runs a `VisionLanguageModel` once over dataset samples with evaluation
// settings (no shuffling, no dropped samples, transforms in eval mode) and
// collects image embeddings or classifier features, with a progress line.
// Shared by zero-shot evaluation, feature caching for the linear probe,
// embedding export and the extraction benchmark.
#ifndef MAMMOVL_EVAL_EMBED_SAMPLES_H_
#define MAMMOVL_EVAL_EMBED_SAMPLES_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/datasets/sample.h"
#include "data/loader/data_config.pb.h"
#include "eval/vl_model.h"

namespace mammovl::eval {

enum class ImageOutput {
  kEmbedding,          // normalised projected embedding (zero-shot, export)
  kPooledFeatures,     // encoder output before the projection
  kProjectedFeatures,  // projected, unnormalised
};

struct SampleEmbeddings {
  at::Tensor values;  // [N, D] float32 on the CPU, one row per embedded sample
  std::vector<int64_t> sample_indices;  // row i belongs to samples[i]
  int64_t failures = 0;  // samples the loader skipped (unreadable images)
};

// `data` with evaluation settings: loader without shuffling and with
// drop_last off, every transform with `train: false`.
data::DataConfig EvalDataConfig(const data::DataConfig& data);

// Embeds every sample (the first image slot) in dataset order. The image
// tower is put in eval mode and run without grad. Errors: the loader's
// (bad config, FAIL policy, too many failures) and the model's; an empty
// sample list is InvalidArgument.
absl::StatusOr<SampleEmbeddings> EmbedSamples(
    VisionLanguageModel& model,
    std::shared_ptr<const std::vector<data::Sample>> samples,
    const data::DataConfig& data, ImageOutput output,
    const std::string& progress_label);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_EMBED_SAMPLES_H_
