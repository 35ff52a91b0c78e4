// Formatting shared by the checkpoint tools: dtype names as Python spells
// them, shapes, and the tensor listing with totals.
#ifndef MAMMOVL_TOOLS_CKPT_FORMAT_H_
#define MAMMOVL_TOOLS_CKPT_FORMAT_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "core/state_dict.h"

namespace mammovl::tools {

// Returns "[4, 3, 3, 3]" ("[]" for a scalar).
std::string ShapeString(const at::Tensor& tensor);

// Returns the bytes of the tensor's elements (numel x element size).
int64_t TensorBytes(const at::Tensor& tensor);

// Returns one line per tensor (name, shape, dtype in aligned columns) and a
// final line "total: N tensors, B bytes".
std::string FormatTensorTable(const core::StateDict& state_dict);

}  // namespace mammovl::tools

#endif  // MAMMOVL_TOOLS_CKPT_FORMAT_H_
