// Conversions between `.npy` arrays (core/npy.h) and ATen tensors, for
// golden tensors from Python and for embedding/feature files.
#ifndef MAMMOVL_CORE_NPY_TENSOR_H_
#define MAMMOVL_CORE_NPY_TENSOR_H_

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/npy.h"

namespace mammovl::core {

// Returns a new contiguous CPU tensor with the array's values. Supported
// dtypes: <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 |b1; Fortran order is converted.
// `name` is used in error messages (InvalidArgument / Unimplemented).
absl::StatusOr<at::Tensor> NpyToTensor(const NpyArray& array, absl::string_view name);

// Returns the tensor's values (any layout, CPU) as a C-order array.
absl::StatusOr<NpyArray> TensorToNpy(const at::Tensor& tensor);

// Reads a `.npy` file into a tensor; errors name the file.
absl::StatusOr<at::Tensor> ReadNpyTensor(absl::string_view path);

// Writes a tensor as a `.npy` file atomically.
absl::Status WriteNpyTensor(absl::string_view path, const at::Tensor& tensor);

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_NPY_TENSOR_H_
