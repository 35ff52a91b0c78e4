#include "vision/module_weights.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <glog/logging.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/torch_status.h"

namespace mammovl::vision {
namespace {

constexpr size_t kMaxListed = 20;
constexpr size_t kMaxShapesListed = 10;

std::string ShapeString(at::IntArrayRef sizes) {
  return absl::StrCat("[", absl::StrJoin(sizes, ", "), "]");
}

// "a, b, c" with at most `max` entries, then "... and N more".
std::string KeyList(const std::vector<std::string>& keys,
                    size_t max = kMaxListed) {
  std::vector<std::string> shown(keys.begin(),
                                 keys.begin() + std::min(keys.size(), max));
  std::string list = absl::StrJoin(shown, ", ");
  if (keys.size() > max)
    absl::StrAppend(&list, ", ... and ", keys.size() - max, " more");
  return list;
}

bool HasPrefix(const std::string& key,
               const std::vector<std::string>& prefixes) {
  for (const std::string& p : prefixes) {
    if (absl::StartsWith(key, p)) return true;
  }
  return false;
}

}  // namespace

NamedTensors ModuleStateDict(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    if (item.value().defined()) out.emplace_back(item.key(), item.value());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    if (item.value().defined()) out.emplace_back(item.key(), item.value());
  }
  return out;
}

absl::StatusOr<WeightLoadReport> LoadModuleWeights(
    torch::nn::Module& module, const NamedTensors& tensors,
    const WeightLoadOptions& options) {
  const NamedTensors targets = ModuleStateDict(module);
  std::unordered_map<std::string, const torch::Tensor*> source;
  source.reserve(tensors.size());
  for (const auto& [key, tensor] : tensors) source[key] = &tensor;
  std::unordered_map<std::string, bool> known;
  known.reserve(targets.size());
  for (const auto& [key, tensor] : targets) known[key] = true;

  WeightLoadReport report;
  std::vector<std::string> shape_errors;
  for (const auto& [key, target] : targets) {
    auto it = source.find(key);
    if (it == source.end()) {
      report.missing.push_back(key);
      continue;
    }
    const torch::Tensor& t = *it->second;
    // As PyTorch: a one-element 1-d tensor loads into a 0-d one (checkpoints
    // from old versions).
    const bool scalar_compat =
        t.defined() && target.dim() == 0 && t.dim() == 1 && t.numel() == 1;
    if (!t.defined() || (t.sizes() != target.sizes() && !scalar_compat)) {
      shape_errors.push_back(absl::StrCat(
          "'", key, "' has shape ",
          t.defined() ? ShapeString(t.sizes()) : std::string("<undefined>"),
          " in the checkpoint, the model expects ",
          ShapeString(target.sizes())));
    }
  }
  for (const auto& [key, tensor] : tensors) {
    if (known.count(key)) continue;
    if (HasPrefix(key, options.ignore_unexpected)) {
      report.ignored.push_back(key);
    } else {
      report.unexpected.push_back(key);
    }
  }

  std::vector<std::string> problems;
  if (!shape_errors.empty()) {
    problems.push_back(absl::StrCat(
        shape_errors.size(),
        " shape mismatch(es): ", KeyList(shape_errors, kMaxShapesListed)));
  }
  if (options.strict && !report.missing.empty()) {
    problems.push_back(absl::StrCat(
        report.missing.size(), " missing key(s): ", KeyList(report.missing)));
  }
  if (options.strict && !report.unexpected.empty()) {
    problems.push_back(
        absl::StrCat(report.unexpected.size(),
                     " unexpected key(s): ", KeyList(report.unexpected)));
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("loading weights from ", options.source, ": ",
                     absl::StrJoin(problems, "; ")));
  }
  if (!report.missing.empty()) {
    LOG(WARNING) << options.source << ": " << report.missing.size()
                 << " key(s) not in the checkpoint keep their initial values: "
                 << KeyList(report.missing);
  }
  if (!report.unexpected.empty()) {
    LOG(WARNING) << options.source << ": " << report.unexpected.size()
                 << " checkpoint key(s) not used: "
                 << KeyList(report.unexpected);
  }

  absl::Status copied = core::RunTorch(
      absl::StrCat("copying weights from ", options.source), [&] {
        c10::AutoGradMode no_grad(false);
        for (const auto& [key, target] : targets) {
          auto it = source.find(key);
          if (it == source.end()) continue;
          torch::Tensor dst =
              target;  // shares storage with the module's tensor
          dst.copy_(it->second->reshape(target.sizes()));
          ++report.loaded;
        }
      });
  if (!copied.ok()) return copied;
  return report;
}

}  // namespace mammovl::vision
