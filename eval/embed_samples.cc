#include "eval/embed_samples.h"

#include <algorithm>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "core/progress.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "data/loader/loader.h"
#include "glog/logging.h"

namespace mammovl::eval {

data::DataConfig EvalDataConfig(const data::DataConfig& data) {
  data::DataConfig eval = data;
  eval.mutable_loader()->set_shuffle(false);
  eval.mutable_loader()->set_drop_last(false);
  for (auto& transform : *eval.mutable_transforms()) transform.set_train(false);
  return eval;
}

absl::StatusOr<SampleEmbeddings> EmbedSamples(
    VisionLanguageModel& model,
    std::shared_ptr<const std::vector<data::Sample>> samples,
    const data::DataConfig& data, ImageOutput output,
    const std::string& progress_label) {
  if (samples == nullptr || samples->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(progress_label, ": no samples to embed"));
  }
  const data::DataConfig eval = EvalDataConfig(data);
  std::vector<data::TransformConfig> transforms(eval.transforms().begin(),
                                                eval.transforms().end());
  MVL_ASSIGN_OR_RETURN(
      std::unique_ptr<data::Loader> loader,
      data::Loader::Create(eval.loader(), samples, eval.pairing(), transforms));
  model.SetTraining(false);
  at::NoGradGuard no_grad;
  core::ProgressOptions progress_options;
  progress_options.unit = "img";
  core::ProgressReporter progress(progress_label,
                                  static_cast<int64_t>(samples->size()),
                                  progress_options);
  std::vector<at::Tensor> chunks;
  SampleEmbeddings out;
  std::vector<bool> seen(samples->size(), false);
  for (int64_t b = 0; b < loader->batches_per_epoch(); ++b) {
    MVL_ASSIGN_OR_RETURN(data::Batch batch, loader->Next());
    if (batch.size() == 0) continue;
    absl::StatusOr<at::Tensor> values;
    switch (output) {
      case ImageOutput::kEmbedding:
        values = model.EncodeImages(batch.images[0]);
        break;
      case ImageOutput::kPooledFeatures:
      case ImageOutput::kProjectedFeatures:
        values = model.ImageFeatures(
            batch.images[0], output == ImageOutput::kProjectedFeatures);
        break;
    }
    MVL_RETURN_IF_ERROR(values.status());
    MVL_ASSIGN_OR_RETURN(at::Tensor cpu, core::RunTorch("copying embeddings", [&] {
                           return values->detach().to(at::kCPU, at::kFloat);
                         }));
    if (cpu.dim() != 2 || cpu.size(0) != batch.size()) {
      return absl::InternalError(absl::StrCat(
          progress_label, ": the model returned ", cpu.dim(), "-d output for a batch of ",
          batch.size()));
    }
    // A short last batch may be padded by repeating samples; keep the first.
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < batch.size(); ++i) {
      const int64_t index = batch.sample_indices[i];
      if (seen[index]) continue;
      seen[index] = true;
      keep.push_back(i);
      out.sample_indices.push_back(index);
    }
    chunks.push_back(cpu.index_select(0, at::tensor(keep, at::kLong)));
    progress.Add(batch.size());
  }
  progress.Finish();
  // Samples never embedded are the unreadable ones. Counted here rather than
  // from the loader's statistics, which count every attempt: the padding of
  // a short last batch may draw an unreadable sample a second time.
  out.failures = std::count(seen.begin(), seen.end(), false);
  if (out.failures > 0) {
    LOG(WARNING) << progress_label << ": " << out.failures
                 << " samples could not be read and were left out";
  }
  if (chunks.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(progress_label, ": no sample could be embedded"));
  }
  out.values = at::cat(chunks);
  return out;
}

}  // namespace mammovl::eval
