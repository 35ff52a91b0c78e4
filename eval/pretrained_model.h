// A pretrained vision-language model for evaluation: builds the model of a
// pretraining `Experiment` (train/pretrain_model.h), loads the weights that
// pretraining wrote (a checkpoint folder, a safetensors file, or a run
// folder whose newest checkpoint is taken), and exposes it as a
// `VisionLanguageModel`.
#ifndef MAMMOVL_EVAL_PRETRAINED_MODEL_H_
#define MAMMOVL_EVAL_PRETRAINED_MODEL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "data/loader/data_config.pb.h"
#include "eval/pipeline_config.pb.h"
#include "eval/vl_model.h"
#include "train/experiment.pb.h"
#include "train/pretrain_model.h"

namespace mammovl::eval {

class PretrainedModel : public VisionLanguageModel {
 public:
  // Builds and loads the model `source` describes. Errors: the experiment
  // file's (NotFound, InvalidArgument), the model builder's, NotFound when no
  // checkpoint exists (unless `allow_untrained`), LoadWeights' errors.
  static absl::StatusOr<std::unique_ptr<PretrainedModel>> Load(
      const ModelSource& source);

  absl::StatusOr<at::Tensor> EncodeImages(const at::Tensor& images) override;
  absl::StatusOr<at::Tensor> EncodeTexts(
      const std::vector<std::string>& texts) override;
  absl::StatusOr<at::Tensor> ImageFeatures(const at::Tensor& images,
                                           bool projected) override;
  double LogitScale() const override { return logit_scale_; }
  void SetTraining(bool training) override;
  std::vector<std::pair<std::string, at::Tensor>> ImageParameters() override;
  std::vector<std::pair<std::string, at::Tensor>> ImageBuffers() override;

  // The experiment the model was built from and the weights loaded ("" if
  // none).
  const train::Experiment& experiment() const { return experiment_; }
  const std::string& checkpoint() const { return checkpoint_; }
  train::PretrainModel& model() { return *model_; }

 private:
  PretrainedModel() = default;
  train::Experiment experiment_;
  std::string checkpoint_;
  std::unique_ptr<train::PretrainModel> model_;
  double logit_scale_ = 1.0;
};

// The experiment `source` names (file or inline). InvalidArgument if both or
// neither are given.
absl::StatusOr<train::Experiment> SourceExperiment(const ModelSource& source);

// The weights to load: `source.checkpoint` as given when it is a file or a
// checkpoint folder (holding model.safetensors); the newest checkpoint of a
// run folder; unset: the newest checkpoint of the experiment's run_dir.
// NotFound when there is none.
absl::StatusOr<std::string> ResolveCheckpoint(const ModelSource& source,
                                              const train::Experiment& experiment);

// A short fingerprint of the weights at `checkpoint` (path, size and
// modification time), for feature caches.
std::string CheckpointKey(const std::string& checkpoint);

// Report lines naming the experiment, checkpoint, dataset adapter and split.
std::vector<std::pair<std::string, std::string>> ModelContext(
    const PretrainedModel& model, const data::DataConfig& data);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_PRETRAINED_MODEL_H_
