#include "eval/pretrained_model.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/stat.h>

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/proto_config.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "glog/logging.h"
#include "train/checkpoint.h"

namespace mammovl::eval {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The newest checkpoint under `dir` (a run folder with checkpoints/, or the
// checkpoints folder itself), or nullopt.
absl::StatusOr<std::optional<std::string>> NewestCheckpoint(const std::string& dir) {
  for (const std::string& candidate : {dir + "/checkpoints", dir}) {
    if (!IsDirectory(candidate)) continue;
    train::CheckpointManager manager({candidate});
    MVL_ASSIGN_OR_RETURN(std::optional<std::string> latest, manager.Latest());
    if (latest.has_value()) return latest;
  }
  return std::optional<std::string>();
}

at::Device ModelDevice(train::PretrainModel& model) {
  for (const auto& [name, t] : model.Parameters()) return t.device();
  return at::kCPU;
}

}  // namespace

absl::StatusOr<train::Experiment> SourceExperiment(const ModelSource& source) {
  if (source.has_experiment_config() == source.has_experiment()) {
    return absl::InvalidArgumentError(
        "model: set exactly one of experiment_config and experiment");
  }
  if (source.has_experiment()) return source.experiment();
  train::Experiment experiment;
  MVL_RETURN_IF_ERROR(core::LoadConfig(source.experiment_config(), {}, &experiment));
  return experiment;
}

absl::StatusOr<std::string> ResolveCheckpoint(const ModelSource& source,
                                              const train::Experiment& experiment) {
  const std::string path = source.has_checkpoint() ? source.checkpoint() : experiment.run_dir();
  if (!core::PathExists(path)) {
    return absl::NotFoundError(absl::StrCat("model.checkpoint: ", path, " does not exist"));
  }
  if (!IsDirectory(path) || core::PathExists(path + "/model.safetensors")) return path;
  MVL_ASSIGN_OR_RETURN(std::optional<std::string> newest, NewestCheckpoint(path));
  if (!newest.has_value()) {
    return absl::NotFoundError(absl::StrCat("model.checkpoint: no checkpoint under ", path));
  }
  return *newest;
}

std::string CheckpointKey(const std::string& checkpoint) {
  std::string file = checkpoint;
  if (IsDirectory(checkpoint)) file += "/model.safetensors";
  struct stat st;
  if (stat(file.c_str(), &st) != 0) return "untrained";
  return absl::StrCat(file, ":", st.st_size, ":", st.st_mtim.tv_sec, ".",
                      st.st_mtim.tv_nsec);
}

absl::StatusOr<std::unique_ptr<PretrainedModel>> PretrainedModel::Load(
    const ModelSource& source) {
  if (source.num_threads() < 0) {
    return absl::InvalidArgumentError("model.num_threads must be >= 0");
  }
  if (source.num_threads() > 0) at::set_num_threads(source.num_threads());
  auto out = std::unique_ptr<PretrainedModel>(new PretrainedModel());
  MVL_ASSIGN_OR_RETURN(out->experiment_, SourceExperiment(source));
  absl::StatusOr<std::string> checkpoint = ResolveCheckpoint(source, out->experiment_);
  if (!checkpoint.ok() && !(source.allow_untrained() &&
                            checkpoint.status().code() == absl::StatusCode::kNotFound)) {
    return checkpoint.status();
  }
  MVL_ASSIGN_OR_RETURN(out->model_, train::BuildPretrainModel(out->experiment_));
  if (checkpoint.ok()) {
    MVL_RETURN_IF_ERROR(out->model_->LoadWeights(*checkpoint));
    out->checkpoint_ = *checkpoint;
    LOG(INFO) << "model " << out->experiment_.name() << ": weights from " << *checkpoint;
  } else {
    LOG(WARNING) << "model " << out->experiment_.name()
                 << ": no checkpoint found, evaluating the untrained towers ("
                 << checkpoint.status().message() << ")";
  }
  out->model_->SetTraining(false);
  for (const auto& [name, t] : out->model_->Parameters()) {
    if (name == "logit_scale") {
      MVL_ASSIGN_OR_RETURN(out->logit_scale_, core::RunTorch("logit scale", [&] {
                             return std::exp(t.detach().to(at::kCPU).item<double>());
                           }));
    }
  }
  return out;
}

absl::StatusOr<at::Tensor> PretrainedModel::EncodeImages(const at::Tensor& images) {
  MVL_ASSIGN_OR_RETURN(at::Tensor x, core::RunTorch("moving images", [&] {
                         return images.to(ModelDevice(*model_));
                       }));
  MVL_ASSIGN_OR_RETURN(at::Tensor e, model_->EncodeImages(x));
  return core::RunTorch("copying image embeddings",
                        [&] { return e.detach().to(at::kCPU, at::kFloat); });
}

absl::StatusOr<at::Tensor> PretrainedModel::EncodeTexts(const std::vector<std::string>& texts) {
  MVL_ASSIGN_OR_RETURN(at::Tensor e, model_->EncodeTexts(texts));
  return core::RunTorch("copying text embeddings",
                        [&] { return e.detach().to(at::kCPU, at::kFloat); });
}

absl::StatusOr<at::Tensor> PretrainedModel::ImageFeatures(const at::Tensor& images,
                                                          bool projected) {
  MVL_ASSIGN_OR_RETURN(at::Tensor x, core::RunTorch("moving images", [&] {
                         return images.to(ModelDevice(*model_));
                       }));
  MVL_ASSIGN_OR_RETURN(train::ImageFeatures f,
                       model_->ImageForward(x, /*with_local=*/false, /*with_ssl=*/false));
  // The model normalises its projected embedding; that is what "projected"
  // gives here.
  return projected ? f.embedding : f.pooled;
}

void PretrainedModel::SetTraining(bool training) { model_->SetTraining(training); }

std::vector<std::pair<std::string, at::Tensor>> PretrainedModel::ImageParameters() {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (auto& item : model_->Parameters()) {
    if (absl::StartsWith(item.first, "image_encoder.")) out.push_back(item);
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> PretrainedModel::ImageBuffers() {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (auto& item : model_->Buffers()) {
    if (absl::StartsWith(item.first, "image_encoder.")) out.push_back(item);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ModelContext(const PretrainedModel& model,
                                                              const data::DataConfig& data) {
  const auto* source =
      data::DatasetConfig::descriptor()->FindFieldByNumber(data.dataset().source_case());
  return {{"experiment", model.experiment().name()},
          {"checkpoint",
           model.checkpoint().empty() ? "none (untrained towers)" : model.checkpoint()},
          {"dataset", source != nullptr ? source->name() : "none"},
          {"split", data::SplitConfig::Part_Name(data.dataset().split().part())}};
}

}  // namespace mammovl::eval
