// Test helpers: golden tensors from .npy files and relative comparison.
#ifndef MAMMOVL_TEXT_NPY_TEST_UTIL_H_
#define MAMMOVL_TEXT_NPY_TEST_UTIL_H_

#include <ATen/ATen.h>

#include <string>

#include "core/npy_tensor.h"
#include "gtest/gtest.h"

namespace mammovl::text {

// Reads a golden .npy file as a CPU tensor; fails the test (and returns an
// undefined tensor) if it cannot.
inline at::Tensor LoadNpyTensor(const std::string& path) {
  absl::StatusOr<at::Tensor> t = core::ReadNpyTensor(path);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : at::Tensor();
}

// max |a - b| / max |b|: the relative error the parity tests bound.
inline double RelativeError(const at::Tensor& a, const at::Tensor& b) {
  const double scale = b.abs().max().item<double>();
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>() /
         (scale > 0 ? scale : 1.0);
}

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_NPY_TEST_UTIL_H_
