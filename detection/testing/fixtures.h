// Test helpers for detection/: reading the Python generator's `.npy`
// fixtures (tools/fixtures/make_detection_fixtures.py) as tensors and
// comparing tensors. Test-only.
#ifndef MAMMOVL_DETECTION_TESTING_FIXTURES_H_
#define MAMMOVL_DETECTION_TESTING_FIXTURES_H_

#include <string>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace mammovl::detection::testing {

// Reads detection/testdata/<name>.npy into a tensor of its dtype.
absl::StatusOr<at::Tensor> ReadFixture(absl::string_view name);

// ReadFixture, failing the current test (and returning an undefined tensor)
// when the file cannot be read.
at::Tensor Fixture(absl::string_view name);

// Succeeds when shapes and dtypes agree and every |actual - expected| <=
// atol + rtol * |expected| (NaNs must coincide).
::testing::AssertionResult TensorsNear(const at::Tensor& actual,
                                       const at::Tensor& expected,
                                       double atol = 1e-6, double rtol = 0);

}  // namespace mammovl::detection::testing

#endif  // MAMMOVL_DETECTION_TESTING_FIXTURES_H_
