// Test helpers for vision/: reading the Python generator's fixtures
// (tools/fixtures/make_vision_fixtures.py) and comparing tensors. Test-only.
#ifndef MAMMOVL_VISION_TESTING_FIXTURES_H_
#define MAMMOVL_VISION_TESTING_FIXTURES_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace mammovl::vision::testing {

// Path of a file under vision/testdata/ in the test's runfiles.
std::string TestData(absl::string_view relative);

// Parses a text-format proto; a syntax error fails the current test.
template <typename Message>
Message ParseTextProto(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message))
      << text;
  return message;
}

// Reads vision/testdata/<relative>.npy; a read error fails the current test
// (the tensor is then undefined).
at::Tensor TestTensor(const std::string& relative);

// One `key shape` entry of a `<model>.params.txt` list.
struct ParamEntry {
  std::string key;
  std::vector<int64_t> shape;
};
absl::StatusOr<std::vector<ParamEntry>> ReadParamList(const std::string& path);

// Succeeds when shapes are equal and |a − e| ≤ rel · max|e| + 1e-30
// elementwise, i.e. the error is small relative to the tensor's scale.
::testing::AssertionResult TensorsClose(const at::Tensor& actual,
                                        const at::Tensor& expected,
                                        double rel = 1e-5);

}  // namespace mammovl::vision::testing

#endif  // MAMMOVL_VISION_TESTING_FIXTURES_H_
