// Test helpers for vision/: reading the Python generator's fixtures
// (tools/fixtures/make_vision_fixtures.py) and comparing tensors. Test-only.
#ifndef MAMMOVL_VISION_TESTING_FIXTURES_H_
#define MAMMOVL_VISION_TESTING_FIXTURES_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace mammovl::vision::testing {

// Path of a file under vision/testdata/ in the test's runfiles.
std::string TestData(absl::string_view relative);

// One `key shape` entry of a `<model>.params.txt` list.
struct ParamEntry {
  std::string key;
  std::vector<int64_t> shape;
};
absl::StatusOr<std::vector<ParamEntry>> ReadParamList(const std::string& path);

// Succeeds when shapes are equal and |a − e| ≤ rel · max|e| + 1e-30
// elementwise, i.e. the error is small relative to the tensor's scale.
::testing::AssertionResult TensorsClose(const at::Tensor& actual, const at::Tensor& expected,
                                        double rel = 1e-5);

}  // namespace mammovl::vision::testing

#endif  // MAMMOVL_VISION_TESTING_FIXTURES_H_
