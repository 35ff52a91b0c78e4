// Test helpers: golden tensors from .npy files and relative comparison.
#ifndef MAMMOVL_TEXT_NPY_TEST_UTIL_H_
#define MAMMOVL_TEXT_NPY_TEST_UTIL_H_

#include <ATen/ATen.h>

#include <cstring>
#include <string>

#include "core/npy.h"
#include "gtest/gtest.h"

namespace mammovl::text {

// Reads a C-order .npy of float32, int64 or bool as a CPU tensor; fails the
// test (and returns an empty tensor) otherwise.
inline at::Tensor LoadNpyTensor(const std::string& path) {
  absl::StatusOr<core::NpyArray> a = core::ReadNpy(path);
  EXPECT_TRUE(a.ok()) << a.status();
  if (!a.ok()) return at::Tensor();
  EXPECT_FALSE(a->fortran_order) << path;
  at::ScalarType type;
  if (a->descr == "<f4") {
    type = at::kFloat;
  } else if (a->descr == "<i8") {
    type = at::kLong;
  } else if (a->descr == "|b1") {
    type = at::kBool;
  } else {
    ADD_FAILURE() << path << ": unsupported dtype " << a->descr;
    return at::Tensor();
  }
  at::Tensor t = at::empty(a->shape, at::TensorOptions().dtype(type));
  std::memcpy(t.data_ptr(), a->data.data(), a->data.size());
  return t;
}

// max |a - b| / max |b|: the relative error the parity tests bound.
inline double RelativeError(const at::Tensor& a, const at::Tensor& b) {
  const double scale = b.abs().max().item<double>();
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>() /
         (scale > 0 ? scale : 1.0);
}

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_NPY_TEST_UTIL_H_
