#include "text/module_state.h"

#include <ATen/ATen.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/torch_status.h"

namespace mammovl::text {
namespace {

std::string Shape(const at::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]");
}

}  // namespace

NamedTensors StripPrefix(const NamedTensors& state, const std::string& prefix) {
  NamedTensors out;
  for (const auto& [name, tensor] : state) {
    if (absl::StartsWith(name, prefix))
      out.emplace_back(name.substr(prefix.size()), tensor);
  }
  return out;
}

absl::StatusOr<ModuleLoadReport> LoadModuleState(
    torch::nn::Module& module, const NamedTensors& state,
    const ModuleLoadOptions& options) {
  absl::flat_hash_map<std::string, const at::Tensor*> by_name;
  for (const auto& [name, tensor] : state) by_name[name] = &tensor;
  std::vector<std::pair<std::string, at::Tensor>> targets;
  for (const auto& p : module.named_parameters())
    targets.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers())
    targets.emplace_back(b.key(), b.value());

  ModuleLoadReport report;
  std::vector<std::string> missing;
  absl::flat_hash_map<std::string, bool> used;
  for (const auto& [name, target] : targets) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      bool optional = false;
      for (const std::string& s : options.optional_substrings)
        optional |= absl::StrContains(name, s);
      if (optional) {
        report.kept.push_back(name);
      } else {
        missing.push_back(name);
      }
      continue;
    }
    used[name] = true;
    const at::Tensor& source = *it->second;
    if (source.sizes() == target.sizes()) continue;
    const bool growable =
        std::find(options.growable_rows.begin(), options.growable_rows.end(),
                  name) != options.growable_rows.end();
    if (growable && source.dim() == target.dim() && source.dim() >= 1 &&
        source.size(0) <= target.size(0) &&
        source.sizes().slice(1) == target.sizes().slice(1)) {
      continue;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("state tensor \"", name, "\" has shape ", Shape(source),
                     " but the model expects ", Shape(target)));
  }
  if (!missing.empty()) {
    const size_t n = missing.size();
    if (n > 10) missing.resize(10);
    return absl::InvalidArgumentError(
        absl::StrCat(n, " model tensors are missing from the state: ",
                     absl::StrJoin(missing, ", "), n > 10 ? ", ..." : ""));
  }
  for (const auto& [name, tensor] : state) {
    if (!used.contains(name)) report.unexpected.push_back(name);
  }
  absl::Status copied = core::RunTorch("copying checkpoint tensors", [&] {
    at::NoGradGuard no_grad;
    for (const auto& [name, target] : targets) {
      auto it = by_name.find(name);
      if (it == by_name.end()) continue;
      const at::Tensor source =
          it->second->to(target.device(), target.scalar_type());
      at::Tensor t = target;
      if (source.size(0) < target.size(0) && source.dim() >= 1 &&
          source.sizes() != target.sizes()) {
        t.narrow(0, 0, source.size(0)).copy_(source);
        report.grown.emplace_back(name, target.size(0) - source.size(0));
      } else {
        t.copy_(source);
      }
      ++report.loaded;
    }
  });
  if (!copied.ok()) return copied;
  return report;
}

}  // namespace mammovl::text
