#include "eval/classify.h"

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/proto_config.h"
#include "core/status_macros.h"
#include "data/datasets/datasets.h"
#include "data/transforms/pipelines.h"
#include "eval/classifier_head.h"
#include "eval/pretrained_model.h"
#include "eval/zero_shot.h"
#include "glog/logging.h"

namespace mammovl::eval {

absl::Status ValidateClassifyConfig(const ClassifyConfig& config) {
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
  MVL_RETURN_IF_ERROR(ValidateClassifierConfig(config.classifier()));
  MVL_RETURN_IF_ERROR(ValidateReportConfig(config.classifier().report(), "classifier.report"));
  return data::ValidateDatasetConfig(config.data().dataset());
}

absl::StatusOr<ClassifierResult> RunClassify(const ClassifyConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateClassifyConfig(config));
  MVL_RETURN_IF_ERROR(core::MakeDirectories(config.out_dir()));
  MVL_RETURN_IF_ERROR(core::WriteFileAtomically(config.out_dir() + "/config.pbtxt",
                                                core::ToTextProto(config)));
  ClassifierSplits splits;
  for (auto part : {data::SplitConfig::TRAIN, data::SplitConfig::VALID, data::SplitConfig::TEST}) {
    data::DatasetConfig dataset = config.data().dataset();
    dataset.mutable_split()->set_part(part);
    if (part != data::SplitConfig::TRAIN) dataset.set_data_pct(1.0);
    MVL_ASSIGN_OR_RETURN(data::Dataset read, data::BuildDataset(dataset));
    LOG(INFO) << "classifier: " << data::SplitConfig::Part_Name(part) << " "
              << read.samples.size() << " samples (" << read.skipped.size()
              << " rows skipped)";
    auto samples = std::make_shared<const std::vector<data::Sample>>(std::move(read.samples));
    (part == data::SplitConfig::TRAIN  ? splits.train
     : part == data::SplitConfig::VALID ? splits.val
                                        : splits.test) = samples;
  }
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<PretrainedModel> model,
                       PretrainedModel::Load(config.model()));
  ClassifierOptions options;
  options.out_dir = config.out_dir();
  options.context = ModelContext(*model, config.data());
  options.context.emplace_back(
      "mode", ClassifierConfig::Mode_Name(config.classifier().mode()));
  options.context.emplace_back("data_pct", absl::StrCat(config.data().dataset().data_pct()));
  if (config.feature_cache_dir() != "none") {
    options.feature_cache_dir = config.has_feature_cache_dir() ? config.feature_cache_dir()
                                                               : config.out_dir() + "/features";
  }
  // Features depend on the weights, the transforms and the dataset.
  options.cache_key = absl::StrCat(CheckpointKey(model->checkpoint()), "\n",
                                   core::ToTextProto(config.data()), "\n",
                                   ClassifierConfig::Features_Name(config.classifier().features()));
  return RunClassifier(*model, splits, config.data(), config.classifier(), options);
}

}  // namespace mammovl::eval
