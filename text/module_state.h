// Loading a state dict (names → tensors, e.g. from core::LoadStateDict) into
// a LibTorch module by parameter and buffer name, with the checks a
// checkpoint from another code base needs: every module tensor present (or
// explicitly optional), equal shapes (or an embedding allowed to grow),
// extra checkpoint entries reported rather than silently used.
#ifndef MAMMOVL_TEXT_MODULE_STATE_H_
#define MAMMOVL_TEXT_MODULE_STATE_H_

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace mammovl::text {

// The layout of core::StateDict.
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

struct ModuleLoadOptions {
  // Module tensors whose name contains one of these may be absent from the
  // state (e.g. ".lora_" when loading a base checkpoint under adapters).
  std::vector<std::string> optional_substrings;
  // Module tensors (exact names) that may have more rows than the state's
  // (token embeddings grown for added tokens): the first rows are copied,
  // the others keep their initialisation.
  std::vector<std::string> growable_rows;
};

struct ModuleLoadReport {
  int loaded = 0;
  // State entries no module tensor has, and module tensors left as they
  // were (optional ones).
  std::vector<std::string> unexpected;
  std::vector<std::string> kept;
  // Rows added beyond the state's, per grown tensor.
  std::vector<std::pair<std::string, int64_t>> grown;
};

// Copies the tensors of `state` into `module` (converted to each module
// tensor's dtype and device, without recording gradients). InvalidArgument
// naming the tensors that are missing (up to 10 and the count), or naming a
// tensor and both shapes on a mismatch; nothing is copied on error.
absl::StatusOr<ModuleLoadReport> LoadModuleState(
    torch::nn::Module& module, const NamedTensors& state,
    const ModuleLoadOptions& options = {});

// Returns the state with every name that starts with `prefix` kept without
// it, and the others dropped.
NamedTensors StripPrefix(const NamedTensors& state, const std::string& prefix);

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_MODULE_STATE_H_
