// The library behind zs_eval_main: zero-shot evaluation of a pretrained
// model on a dataset (`RunZeroShotEval`), and `Predictor`, the inference API
// users ask for: one image or DICOM file in, per-label probabilities out.
//
//   MVL_ASSIGN_OR_RETURN(auto predictor, Predictor::Create(config));
//   MVL_ASSIGN_OR_RETURN(auto labels, predictor->Predict("exam/RCC.dcm"));
//   // labels[0].task == "mass", labels[0].probabilities == {0.83, 0.17}
#ifndef MAMMOVL_EVAL_ZS_EVAL_H_
#define MAMMOVL_EVAL_ZS_EVAL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/preprocess/preprocess_config.pb.h"
#include "data/transforms/pipelines.h"
#include "eval/pipeline_config.pb.h"
#include "eval/vl_model.h"
#include "eval/zero_shot.h"
#include "eval/zero_shot_runner.h"

namespace mammovl::eval {

// Checks the pipeline config without reading files. InvalidArgument naming
// the field.
absl::Status ValidateZeroShotEvalConfig(const ZeroShotEvalConfig& config);

// Loads the model, reads the dataset, runs every task and writes the report
// (and the effective config as config.pbtxt) into `config.out_dir`.
absl::StatusOr<ZeroShotResult> RunZeroShotEval(const ZeroShotEvalConfig& config);

// Probabilities of one task's classes for one image.
struct LabelProbabilities {
  std::string task;
  std::vector<std::string> class_names;
  std::vector<double> probabilities;  // sums to 1
};

class Predictor {
 public:
  // Loads the model and encodes every task's prompts once.
  static absl::StatusOr<std::unique_ptr<Predictor>> Create(
      const ZeroShotEvalConfig& config);
  // Same on a model the caller owns (kept alive by the caller).
  static absl::StatusOr<std::unique_ptr<Predictor>> Create(
      VisionLanguageModel* model, const ZeroShotEvalConfig& config);

  // Reads `path` (DICOM when it carries the DICM marker, else any image
  // OpenCV reads; 16-bit images are scaled to 8 bits), applies the first
  // evaluation transform of `config.data` and returns every task's class
  // probabilities. NotFound / DataLoss naming the file; model errors.
  absl::StatusOr<std::vector<LabelProbabilities>> Predict(const std::string& path);

  // The 8-bit gray image `Predict` feeds to the transform.
  absl::StatusOr<cv::Mat> ReadImage(const std::string& path) const;

 private:
  Predictor() = default;
  std::unique_ptr<VisionLanguageModel> owned_;
  VisionLanguageModel* model_ = nullptr;
  ZeroShotEvalConfig config_;
  std::vector<ResolvedTask> tasks_;
  std::vector<at::Tensor> class_embeddings_;
  std::unique_ptr<data::ImageTransform> transform_;
  int channels_ = 1;
  data::ImageRecipe recipe_;
};

// Formats predictions as lines "task: class p, class p".
std::string FormatPredictions(const std::vector<LabelProbabilities>& labels);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_ZS_EVAL_H_
