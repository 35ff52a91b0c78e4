#include "eval/zero_shot.h"

#include <ATen/ATen.h>

#include <cctype>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "text/report/captions.h"
#include "text/report/prompts.h"

namespace mammovl::eval {
namespace {

using core::RunTorch;

bool IsValidName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

// The preset's class names and prompts (one prompt per class).
absl::StatusOr<std::vector<ClassPrompts>> PresetClasses(PromptPreset preset) {
  std::vector<std::string> names;
  std::vector<std::string> prompts;
  auto mammo_clip = [&](const std::string& task) -> absl::Status {
    for (const auto& set : text::MammoClipZeroShotPrompts()) {
      if (set.task == task) {
        names = set.class_names;
        prompts = set.prompts;
        return absl::OkStatus();
      }
    }
    return absl::InternalError("missing Mammo-CLIP prompt set " + task);
  };
  switch (preset) {
    case MAMMOCLIP_MASS:
      MVL_RETURN_IF_ERROR(mammo_clip("mass"));
      break;
    case MAMMOCLIP_CALCIFICATION:
      MVL_RETURN_IF_ERROR(mammo_clip("suspicious_calcification"));
      break;
    case MAMMOCLIP_MALIGNANCY:
      MVL_RETURN_IF_ERROR(mammo_clip("malignancy"));
      break;
    case MAMA_BIRADS:
      prompts = text::MamaBiradsPrompts("");
      names = {"BI-RADS A", "BI-RADS N", "BI-RADS B", "BI-RADS P",
               "BI-RADS S", "BI-RADS M", "BI-RADS K"};
      break;
    case MAMA_DENSITY:
      prompts = text::MamaDensityPrompts("");
      names = {"density 1", "density 2", "density 3", "density 4"};
      break;
    case MAMA_RSNA:
      prompts = text::MamaRsnaPrompts();
      names = {"cancer negative", "cancer positive"};
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("preset: unknown value ", static_cast<int>(preset)));
  }
  if (names.size() != prompts.size()) {
    return absl::InternalError("preset prompts and names differ in count");
  }
  std::vector<ClassPrompts> classes(names.size());
  for (size_t c = 0; c < names.size(); ++c) {
    classes[c].set_name(names[c]);
    classes[c].add_prompts(prompts[c]);
  }
  return classes;
}

absl::Status ValidateTask(const ZeroShotTask& task, const std::string& field) {
  if (!IsValidName(task.name())) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".name must be non-empty [A-Za-z0-9_-]+ (got \"", task.name(),
        "\")"));
  }
  const bool has_preset = task.preset() != PROMPT_PRESET_UNSPECIFIED;
  if (has_preset == (task.classes_size() > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": set exactly one of classes and preset"));
  }
  if (!has_preset) {
    if (task.classes_size() < 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".classes: need at least 2 (got ", task.classes_size(), ")"));
    }
    for (int c = 0; c < task.classes_size(); ++c) {
      const ClassPrompts& cls = task.classes(c);
      if (cls.prompts_size() == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".classes[", c, "].prompts: empty"));
      }
      for (int p = 0; p < cls.prompts_size(); ++p) {
        if (cls.prompts(p).empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              field, ".classes[", c, "].prompts[", p, "]: empty string"));
        }
      }
    }
  }
  if (task.scoring() == ZeroShotTask::SCORING_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".scoring: unset"));
  }
  const int num_classes =
      has_preset ? 2 : task.classes_size();  // presets are checked below
  if (!has_preset && (task.positive_class() < 0 ||
                      task.positive_class() >= num_classes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".positive_class must be in [0, ", num_classes, ") (got ",
        task.positive_class(), ")"));
  }
  if (task.grouping().level() == GroupingConfig::LEVEL_UNSPECIFIED ||
      task.grouping().reduce() == GroupingConfig::REDUCE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".grouping: level and reduce must be set"));
  }
  return absl::OkStatus();
}

absl::Status CheckEmbeddings(const at::Tensor& t, const char* what) {
  if (!t.defined()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": undefined tensor"));
  }
  if (!at::isfinite(t).all().item<bool>()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": non-finite values"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> ResolvedTask::FlatPrompts() const {
  std::vector<std::string> flat;
  for (const auto& p : prompts) flat.insert(flat.end(), p.begin(), p.end());
  return flat;
}

std::vector<int> ResolvedTask::PromptCounts() const {
  std::vector<int> counts;
  for (const auto& p : prompts) counts.push_back(static_cast<int>(p.size()));
  return counts;
}

absl::Status ValidateReportConfig(const ReportConfig& config,
                                  const std::string& field) {
  if (config.bootstrap_resamples() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".bootstrap_resamples must be >= 0 (got ",
                     config.bootstrap_resamples(), ")"));
  }
  for (double t : config.sensitivity_at_specificity()) {
    if (!(t >= 0 && t <= 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".sensitivity_at_specificity must be in [0, 1] (got ", t,
          ")"));
    }
  }
  for (double t : config.specificity_at_sensitivity()) {
    if (!(t >= 0 && t <= 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".specificity_at_sensitivity must be in [0, 1] (got ", t,
          ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateZeroShotConfig(const ZeroShotConfig& config) {
  if (config.tasks_size() == 0) {
    return absl::InvalidArgumentError("zero_shot.tasks: none configured");
  }
  std::set<std::string> names;
  for (int i = 0; i < config.tasks_size(); ++i) {
    const std::string field = absl::StrCat("zero_shot.tasks[", i, "]");
    MVL_RETURN_IF_ERROR(ValidateTask(config.tasks(i), field));
    MVL_RETURN_IF_ERROR(ResolveZeroShotTask(config.tasks(i)).status());
    if (!names.insert(config.tasks(i).name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".name: duplicate \"", config.tasks(i).name(), "\""));
    }
  }
  return ValidateReportConfig(config.report(), "zero_shot.report");
}

absl::StatusOr<ResolvedTask> ResolveZeroShotTask(const ZeroShotTask& task) {
  MVL_RETURN_IF_ERROR(ValidateTask(task, "task " + task.name()));
  ResolvedTask resolved;
  resolved.config = task;
  resolved.name = task.name();
  resolved.label = task.has_label() ? task.label() : task.name();
  std::vector<ClassPrompts> classes(task.classes().begin(),
                                    task.classes().end());
  if (task.preset() != PROMPT_PRESET_UNSPECIFIED) {
    MVL_ASSIGN_OR_RETURN(classes, PresetClasses(task.preset()));
  }
  if (task.positive_class() < 0 ||
      task.positive_class() >= static_cast<int>(classes.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "task ", task.name(), ": positive_class ", task.positive_class(),
        " out of range for ", classes.size(), " classes"));
  }
  for (size_t c = 0; c < classes.size(); ++c) {
    resolved.class_names.push_back(classes[c].has_name()
                                       ? classes[c].name()
                                       : absl::StrCat("class ", c));
    resolved.prompts.emplace_back(classes[c].prompts().begin(),
                                  classes[c].prompts().end());
  }
  return resolved;
}

absl::StatusOr<at::Tensor> AverageClassEmbeddings(
    const at::Tensor& prompt_embeddings, absl::Span<const int> counts) {
  MVL_RETURN_IF_ERROR(CheckEmbeddings(prompt_embeddings, "prompt embeddings"));
  if (prompt_embeddings.dim() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("prompt embeddings must be [T, D], got ",
                     prompt_embeddings.dim(), " dimensions"));
  }
  int64_t total = 0;
  for (size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("class ", c, " has no prompt embeddings"));
    }
    total += counts[c];
  }
  if (total != prompt_embeddings.size(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("prompt counts sum to ", total, " but there are ",
                     prompt_embeddings.size(0), " prompt embeddings"));
  }
  return RunTorch("AverageClassEmbeddings", [&] {
    at::Tensor x = prompt_embeddings.detach().to(at::kFloat);
    x = x / x.norm(2, {1}, true).clamp_min(1e-12);
    std::vector<at::Tensor> rows;
    int64_t start = 0;
    for (int count : counts) {
      at::Tensor mean = x.narrow(0, start, count).mean(0);
      rows.push_back(mean / mean.norm().clamp_min(1e-12));
      start += count;
    }
    return at::stack(rows);
  });
}

absl::StatusOr<at::Tensor> ZeroShotProbabilities(
    const at::Tensor& image_embeddings, const at::Tensor& class_embeddings,
    double scale) {
  MVL_RETURN_IF_ERROR(CheckEmbeddings(image_embeddings, "image embeddings"));
  MVL_RETURN_IF_ERROR(CheckEmbeddings(class_embeddings, "class embeddings"));
  if (!(scale > 0) || !std::isfinite(scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("zero-shot scale must be finite and > 0 (got ", scale,
                     ")"));
  }
  if (image_embeddings.dim() != 2) {
    return absl::InvalidArgumentError("image embeddings must be [N, D]");
  }
  const int64_t n = image_embeddings.size(0);
  const int64_t d = image_embeddings.size(1);
  const bool shared = class_embeddings.dim() == 2;
  if (!(shared || class_embeddings.dim() == 3) ||
      class_embeddings.size(-1) != d ||
      (!shared && class_embeddings.size(0) != n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "class embeddings must be [C, ", d, "] or [", n, ", C, ", d,
        "], got ", class_embeddings.sizes().vec().size(), "-d ",
        class_embeddings.size(-1), " wide"));
  }
  if (class_embeddings.size(-2) < 2) {
    return absl::InvalidArgumentError("zero-shot needs at least 2 classes");
  }
  return RunTorch("ZeroShotProbabilities", [&] {
    at::Tensor img = image_embeddings.detach().to(at::kDouble);
    img = img / img.norm(2, {1}, true).clamp_min(1e-12);
    at::Tensor cls = class_embeddings.detach().to(at::kDouble);
    cls = cls / cls.norm(2, {-1}, true).clamp_min(1e-12);
    at::Tensor cos = shared ? at::matmul(img, cls.t())
                            : at::bmm(cls, img.unsqueeze(2)).squeeze(2);
    return at::softmax(cos * scale, 1);
  });
}

}  // namespace mammovl::eval
