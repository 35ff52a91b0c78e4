#include "eval/zero_shot_runner.h"

#include <ATen/ATen.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "eval/embed_samples.h"
#include "eval/embedding_export.h"
#include "eval/eval_report.h"
#include "eval/zero_shot.h"
#include "glog/logging.h"

namespace mammovl::eval {

absl::StatusOr<ZeroShotResult> RunZeroShot(
    VisionLanguageModel& model,
    std::shared_ptr<const std::vector<data::Sample>> samples,
    const data::DataConfig& data, const ZeroShotConfig& config,
    const ZeroShotOptions& options) {
  MVL_RETURN_IF_ERROR(ValidateZeroShotConfig(config));
  std::vector<ResolvedTask> tasks;
  std::vector<at::Tensor> class_embeddings;
  std::vector<at::Tensor> prompt_embeddings;
  for (const ZeroShotTask& task : config.tasks()) {
    MVL_ASSIGN_OR_RETURN(ResolvedTask resolved, ResolveZeroShotTask(task));
    MVL_ASSIGN_OR_RETURN(at::Tensor prompts,
                         model.EncodeTexts(resolved.FlatPrompts()));
    MVL_ASSIGN_OR_RETURN(at::Tensor classes,
                         AverageClassEmbeddings(prompts, resolved.PromptCounts()));
    prompt_embeddings.push_back(prompts);
    class_embeddings.push_back(classes);
    tasks.push_back(std::move(resolved));
  }
  MVL_ASSIGN_OR_RETURN(
      SampleEmbeddings images,
      EmbedSamples(model, samples, data, ImageOutput::kEmbedding, "zero-shot"));

  ZeroShotResult result;
  const ReportConfig& report = config.report();
  for (size_t t = 0; t < tasks.size(); ++t) {
    const ResolvedTask& task = tasks[t];
    const double scale = task.config.scoring() == ZeroShotTask::SCALED_SOFTMAX
                             ? model.LogitScale()
                             : 1.0;
    MVL_ASSIGN_OR_RETURN(
        at::Tensor probs,
        ZeroShotProbabilities(images.values, class_embeddings[t], scale));
    probs = probs.contiguous();
    const int64_t c = probs.size(1);
    const double* p = probs.data_ptr<double>();
    TaskPredictions predictions;
    predictions.task = task.name;
    predictions.class_names = task.class_names;
    predictions.positive_class = task.config.positive_class();
    for (size_t row = 0; row < images.sample_indices.size(); ++row) {
      const data::Sample& s = (*samples)[images.sample_indices[row]];
      const float value = s.Label(task.label, NAN);
      if (!s.HasLabel(task.label) || std::isnan(value)) {
        ++predictions.rows_without_label;
        continue;
      }
      const int label = static_cast<int>(value);
      if (label != value || label < 0 || label >= c) {
        return absl::InvalidArgumentError(absl::StrCat(
            "task ", task.name, ": sample ", images.sample_indices[row],
            " has label ", task.label, " = ", value, ", not a class in 0..",
            c - 1));
      }
      predictions.Add(std::vector<double>(p + row * c, p + (row + 1) * c), label,
                      s.id, s.patient_id, s.laterality);
    }
    predictions.rows_without_label += images.failures;
    MVL_ASSIGN_OR_RETURN(TaskMetrics metrics,
                         EvaluateTask(predictions, task.config.grouping(), report));
    LOG(INFO) << "zero-shot " << task.name << ": AUC " << metrics.Get("roc_auc")
              << " on " << metrics.units << " " << metrics.level << " units";
    result.predictions.push_back(std::move(predictions));
    result.metrics.push_back(std::move(metrics));
  }
  if (options.out_dir.empty()) return result;

  EvalReport eval_report;
  eval_report.title = "Zero-shot evaluation";
  eval_report.context = options.context;
  eval_report.predictions = result.predictions;
  eval_report.metrics = result.metrics;
  MVL_RETURN_IF_ERROR(WriteEvalReport(options.out_dir, eval_report, report));
  if (config.export_embeddings().images()) {
    std::vector<const data::Sample*> rows;
    std::vector<std::string> labels;
    for (const auto& task : tasks) labels.push_back(task.label);
    for (int64_t i : images.sample_indices) rows.push_back(&(*samples)[i]);
    MVL_RETURN_IF_ERROR(WriteEmbeddings(options.out_dir, "image_embeddings",
                                        images.values,
                                        SampleIndex(rows, labels, report.pseudonym_salt())));
  }
  if (config.export_embeddings().texts()) {
    EmbeddingIndex index;
    index.columns = {"task", "class", "class_name", "prompt"};
    for (const auto& task : tasks) {
      for (size_t c = 0; c < task.prompts.size(); ++c) {
        for (const auto& prompt : task.prompts[c]) {
          index.rows.push_back({task.name, absl::StrCat(c), task.class_names[c], prompt});
        }
      }
    }
    MVL_RETURN_IF_ERROR(WriteEmbeddings(options.out_dir, "text_embeddings",
                                        at::cat(prompt_embeddings), index));
  }
  LOG(INFO) << "zero-shot report written to " << options.out_dir << "/report.md";
  return result;
}

}  // namespace mammovl::eval
