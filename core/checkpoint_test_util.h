// Test utilities for the checkpoint readers: paths of the fixtures in
// core/testdata, the `.expected` files the fixture script writes next to
// them, and byte-exact tensor comparison. Test-only.
#ifndef MAMMOVL_CORE_CHECKPOINT_TEST_UTIL_H_
#define MAMMOVL_CORE_CHECKPOINT_TEST_UTIL_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace mammovl::core {

// One line of an `.expected` file.
struct ExpectedTensor {
  std::string key;
  std::string dtype;  // "float32", "bfloat16", "bool", ...
  std::vector<int64_t> shape;
  std::string bytes;  // contiguous little-endian data
};

// Returns the runfiles path of core/testdata/<name>.
std::string TestDataPath(absl::string_view name);

// Returns a fresh path <TEST_TMPDIR>/<name>.
std::string TempPath(absl::string_view name);

// Parses the `.expected` file of fixture `name`
// (core/testdata/<name>.expected).
absl::StatusOr<std::vector<ExpectedTensor>> ReadExpectedTensors(
    absl::string_view name);

// Returns the tensor's elements in row-major order as raw bytes.
std::string TensorBytes(const at::Tensor& tensor);

// Succeeds if `tensor` has the expected dtype, shape and exact bytes.
::testing::AssertionResult TensorMatches(const at::Tensor& tensor,
                                         const ExpectedTensor& expected);

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_CHECKPOINT_TEST_UTIL_H_
