// Copies named tensors (a checkpoint's state dict, already read from disk)
// into a torch::nn::Module's parameters and buffers by name, with PyTorch's
// strict-loading semantics and messages that name every offending key.
#ifndef MAMMOVL_VISION_MODULE_WEIGHTS_H_
#define MAMMOVL_VISION_MODULE_WEIGHTS_H_

#include <torch/nn/module.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace mammovl::vision {

// A state dict: (key, tensor) pairs in file order.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct WeightLoadOptions {
  // Missing or unexpected keys are errors (listed in the message); when false
  // they are logged as warnings and skipped.
  bool strict = true;
  // Keys matching one of these prefixes may be present in `tensors` without
  // a counterpart in the module (never an error).
  std::vector<std::string> ignore_unexpected;
  // Names the source in messages, e.g. "'b2.tar' (prefix 'image_encoder.')".
  std::string source = "checkpoint";
};

struct WeightLoadReport {
  int64_t loaded = 0;                   // tensors copied into the module
  std::vector<std::string> missing;     // module keys absent from `tensors`
  std::vector<std::string> unexpected;  // keys of `tensors` the module lacks
  std::vector<std::string>
      ignored;  // unexpected but matched `ignore_unexpected`
};

// Copies `tensors` into `module` (parameters, then buffers such as BatchNorm
// running statistics and `num_batches_tracked`), converting the dtype to the
// module's (e.g. fp16/bf16 checkpoints into fp32 parameters).
// Errors (InvalidArgument), checked before anything is copied:
//  - a shape mismatch, naming the key and both shapes (in every mode);
//  - in strict mode, missing and unexpected keys, each listed by name.
// On error the module is left unchanged.
absl::StatusOr<WeightLoadReport> LoadModuleWeights(
    torch::nn::Module& module, const NamedTensors& tensors,
    const WeightLoadOptions& options);

// Returns the module's state dict: every defined parameter and buffer.
NamedTensors ModuleStateDict(const torch::nn::Module& module);

}  // namespace mammovl::vision

#endif  // MAMMOVL_VISION_MODULE_WEIGHTS_H_
