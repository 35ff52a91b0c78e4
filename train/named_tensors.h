// Named tensors: the currency between models and the trainer (parameters,
// buffers, optimiser state), in the order the model lists them.
#ifndef MAMMOVL_TRAIN_NAMED_TENSORS_H_
#define MAMMOVL_TRAIN_NAMED_TENSORS_H_

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace mammovl::train {

// (name, tensor) pairs, names as in the model's state dict, e.g.
// "vision.blocks.0.attn.qkv.weight".
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// The tensor called `name`, or nullptr.
inline const at::Tensor* FindTensor(const NamedTensors& tensors,
                                    const std::string& name) {
  for (const auto& [n, t] : tensors) {
    if (n == name) return &t;
  }
  return nullptr;
}

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_NAMED_TENSORS_H_
