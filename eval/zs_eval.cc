#include "eval/zs_eval.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_io.h"
#include "core/proto_config.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "data/datasets/datasets.h"
#include "data/dicom/dicom_reader.h"
#include "data/loader/loader.h"
#include "data/preprocess/pipeline.h"
#include "data/preprocess/recipe.h"
#include "eval/pretrained_model.h"
#include "glog/logging.h"
#include "opencv2/imgcodecs.hpp"

namespace mammovl::eval {
namespace {

// True if the file has the DICOM Part 10 marker "DICM" at byte 128.
bool LooksLikeDicom(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buffer[132];
  if (!in.read(buffer, sizeof(buffer))) return false;
  return std::string(buffer + 128, 4) == "DICM";
}

}  // namespace

absl::Status ValidateZeroShotEvalConfig(const ZeroShotEvalConfig& config) {
  if (!config.has_model()) return absl::InvalidArgumentError("model: unset");
  if (config.model().has_experiment_config() == config.model().has_experiment()) {
    return absl::InvalidArgumentError(
        "model: set exactly one of experiment_config and experiment");
  }
  if (config.data().transforms_size() == 0) {
    return absl::InvalidArgumentError("data.transforms: none (the model's input pipeline)");
  }
  for (int i = 0; i < config.data().transforms_size(); ++i) {
    MVL_RETURN_IF_ERROR(data::ValidateTransformConfig(config.data().transforms(i)));
  }
  if (config.out_dir().empty()) return absl::InvalidArgumentError("out_dir: empty");
  return ValidateZeroShotConfig(config.zero_shot());
}

absl::StatusOr<ZeroShotResult> RunZeroShotEval(const ZeroShotEvalConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateZeroShotEvalConfig(config));
  MVL_RETURN_IF_ERROR(data::ValidateDatasetConfig(config.data().dataset()));
  MVL_RETURN_IF_ERROR(core::MakeDirectories(config.out_dir()));
  MVL_RETURN_IF_ERROR(core::WriteFileAtomically(config.out_dir() + "/config.pbtxt",
                                                core::ToTextProto(config)));
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<PretrainedModel> model,
                       PretrainedModel::Load(config.model()));
  MVL_ASSIGN_OR_RETURN(data::Dataset dataset, data::BuildDataset(config.data().dataset()));
  LOG(INFO) << "zero-shot: " << dataset.samples.size() << " samples ("
            << dataset.skipped.size() << " rows skipped)";
  auto samples = std::make_shared<const std::vector<data::Sample>>(std::move(dataset.samples));
  ZeroShotOptions options;
  options.out_dir = config.out_dir();
  options.context = ModelContext(*model, config.data());
  return RunZeroShot(*model, samples, config.data(), config.zero_shot(), options);
}

absl::StatusOr<std::unique_ptr<Predictor>> Predictor::Create(const ZeroShotEvalConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateZeroShotEvalConfig(config));
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<PretrainedModel> model,
                       PretrainedModel::Load(config.model()));
  VisionLanguageModel* raw = model.get();
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<Predictor> predictor, Create(raw, config));
  predictor->owned_ = std::move(model);
  return predictor;
}

absl::StatusOr<std::unique_ptr<Predictor>> Predictor::Create(VisionLanguageModel* model,
                                                             const ZeroShotEvalConfig& config) {
  if (model == nullptr) return absl::InvalidArgumentError("Predictor: no model");
  MVL_RETURN_IF_ERROR(ValidateZeroShotConfig(config.zero_shot()));
  if (config.data().transforms_size() == 0) {
    return absl::InvalidArgumentError("data.transforms: none (the model's input pipeline)");
  }
  auto predictor = std::unique_ptr<Predictor>(new Predictor());
  predictor->model_ = model;
  predictor->config_ = config;
  data::TransformConfig transform = config.data().transforms(0);
  transform.set_train(false);
  MVL_ASSIGN_OR_RETURN(data::ImageTransform built, data::ImageTransform::Create(transform));
  if (built.output_size().empty()) {
    return absl::InvalidArgumentError("data.transforms[0]: prediction needs a fixed output size");
  }
  predictor->transform_ = std::make_unique<data::ImageTransform>(std::move(built));
  predictor->channels_ =
      std::max(config.data().loader().output_channels(), predictor->transform_->channels());
  data::PreprocessConfig preprocess;
  preprocess.set_preset(config.dicom_preset());
  *preprocess.mutable_recipe() = config.dicom_recipe();
  MVL_ASSIGN_OR_RETURN(predictor->recipe_, data::BuildRecipe(preprocess));
  model->SetTraining(false);
  for (const ZeroShotTask& task : config.zero_shot().tasks()) {
    MVL_ASSIGN_OR_RETURN(ResolvedTask resolved, ResolveZeroShotTask(task));
    MVL_ASSIGN_OR_RETURN(at::Tensor prompts, model->EncodeTexts(resolved.FlatPrompts()));
    MVL_ASSIGN_OR_RETURN(at::Tensor classes,
                         AverageClassEmbeddings(prompts, resolved.PromptCounts()));
    predictor->tasks_.push_back(std::move(resolved));
    predictor->class_embeddings_.push_back(classes);
  }
  return predictor;
}

absl::StatusOr<cv::Mat> Predictor::ReadImage(const std::string& path) const {
  if (!core::PathExists(path)) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  if (!LooksLikeDicom(path)) return data::ReadGrayImage(path);
  MVL_ASSIGN_OR_RETURN(data::DicomImage dicom, data::ReadDicomFile(path));
  if (dicom.frames.empty()) return absl::DataLossError(absl::StrCat(path, ": no image frame"));
  MVL_ASSIGN_OR_RETURN(data::ProcessedFrame frame, data::ProcessFrame(dicom, 0, recipe_));
  cv::Mat gray = frame.image;
  if (gray.depth() == CV_16U) gray.convertTo(gray, CV_8U, 1.0 / 257.0);
  return gray;
}

absl::StatusOr<std::vector<LabelProbabilities>> Predictor::Predict(const std::string& path) {
  MVL_ASSIGN_OR_RETURN(cv::Mat gray, ReadImage(path));
  const cv::Size size = transform_->output_size();
  at::Tensor image = at::empty({1, channels_, size.height, size.width}, at::kFloat);
  data::Rng rng(0);
  MVL_RETURN_IF_ERROR(transform_->ApplyInto(gray, rng, channels_, image.data_ptr<float>()));
  at::NoGradGuard no_grad;
  MVL_ASSIGN_OR_RETURN(at::Tensor embedding, model_->EncodeImages(image));
  std::vector<LabelProbabilities> out;
  for (size_t t = 0; t < tasks_.size(); ++t) {
    const double scale = tasks_[t].config.scoring() == ZeroShotTask::SCALED_SOFTMAX
                             ? model_->LogitScale()
                             : 1.0;
    MVL_ASSIGN_OR_RETURN(at::Tensor p,
                         ZeroShotProbabilities(embedding, class_embeddings_[t], scale));
    LabelProbabilities label;
    label.task = tasks_[t].name;
    label.class_names = tasks_[t].class_names;
    p = p.contiguous();
    label.probabilities.assign(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
    out.push_back(std::move(label));
  }
  return out;
}

std::string FormatPredictions(const std::vector<LabelProbabilities>& labels) {
  std::string s;
  for (const auto& label : labels) {
    absl::StrAppend(&s, label.task, ":");
    for (size_t c = 0; c < label.probabilities.size(); ++c) {
      absl::StrAppend(&s, c ? "," : "", " ", label.class_names[c], " ",
                      absl::StrFormat("%.4f", label.probabilities[c]));
    }
    s += "\n";
  }
  return s;
}

}  // namespace mammovl::eval
