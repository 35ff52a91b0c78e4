// Zero-shot classification from embeddings, as both references do it: the
// prompts of each class are encoded by the text tower (projected and
// L2-normalised), averaged per class and normalised again; an image's class
// probabilities are the softmax over its cosine similarities to the class
// embeddings, unscaled (Mammo-CLIP) or scaled by the model's learnt
// temperature (MaMA). Works on embeddings only; `zero_shot_runner.h` drives
// a model over a dataset. ATen only.
#ifndef MAMMOVL_EVAL_ZERO_SHOT_H_
#define MAMMOVL_EVAL_ZERO_SHOT_H_

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "eval/eval_config.pb.h"

namespace mammovl::eval {

// A task with its prompts resolved (presets expanded, names defaulted).
struct ResolvedTask {
  ZeroShotTask config;
  std::string name;
  std::string label;  // dataset label name
  std::vector<std::string> class_names;
  // prompts[c]: the sentences of class c (at least one each).
  std::vector<std::vector<std::string>> prompts;

  // All prompts flattened in class order, and how many each class has.
  std::vector<std::string> FlatPrompts() const;
  std::vector<int> PromptCounts() const;
};

// Checks every task (name, classes or preset, at least two classes, non-empty
// prompts, positive_class in range, unique names) and the report options.
// InvalidArgument naming the field, e.g. "tasks[1].classes[0].prompts: empty".
absl::Status ValidateZeroShotConfig(const ZeroShotConfig& config);
absl::Status ValidateReportConfig(const ReportConfig& config,
                                  const std::string& field);

// Expands a task's preset or copies its classes. InvalidArgument as above.
absl::StatusOr<ResolvedTask> ResolveZeroShotTask(const ZeroShotTask& task);

// Returns [C, D] float32 class embeddings from [T, D] prompt embeddings,
// T = sum(counts): rows are L2-normalised, averaged over each class's
// `counts[c]` consecutive rows and normalised again. InvalidArgument for
// mismatched sizes or a zero count.
absl::StatusOr<at::Tensor> AverageClassEmbeddings(
    const at::Tensor& prompt_embeddings, absl::Span<const int> counts);

// Returns [N, C] float64 probabilities softmax(scale * cos(image_i, class_c)).
// `image_embeddings` [N, D]; `class_embeddings` [C, D] shared by all images
// or [N, C, D] per image (MaMA's instance prompts). Both are L2-normalised
// here (a no-op for normalised input). `scale` > 0: 1 for Mammo-CLIP,
// exp(logit_scale) for MaMA. InvalidArgument for shape mismatches and
// non-finite embeddings.
absl::StatusOr<at::Tensor> ZeroShotProbabilities(
    const at::Tensor& image_embeddings, const at::Tensor& class_embeddings,
    double scale);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_ZERO_SHOT_H_
