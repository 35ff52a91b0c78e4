#include "core/checkpoint_test_util.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "core/state_dict.h"

namespace mammovl::core {

std::string TestDataPath(absl::string_view name) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/mammovl/core/testdata/",
                      name);
}

std::string TempPath(absl::string_view name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

absl::StatusOr<std::vector<ExpectedTensor>> ReadExpectedTensors(
    absl::string_view name) {
  MVL_ASSIGN_OR_RETURN(
      std::string text,
      ReadFileToString(TestDataPath(absl::StrCat(name, ".expected"))));
  std::vector<ExpectedTensor> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    if (f.size() != 4) {
      return absl::DataLossError(absl::StrCat("bad expected line: ", line));
    }
    ExpectedTensor e;
    e.key = f[0];
    e.dtype = f[1];
    for (absl::string_view d : absl::StrSplit(f[2], ',', absl::SkipEmpty())) {
      int64_t v;
      if (!absl::SimpleAtoi(d, &v)) return absl::DataLossError("bad shape");
      e.shape.push_back(v);
    }
    e.bytes = absl::HexStringToBytes(f[3]);
    out.push_back(std::move(e));
  }
  return out;
}

std::string TensorBytes(const at::Tensor& tensor) {
  const at::Tensor c = tensor.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.nbytes());
}

::testing::AssertionResult TensorMatches(const at::Tensor& tensor,
                                         const ExpectedTensor& expected) {
  if (!tensor.defined()) {
    return ::testing::AssertionFailure()
           << expected.key << ": undefined tensor";
  }
  if (DtypeName(tensor) != expected.dtype) {
    return ::testing::AssertionFailure()
           << expected.key << ": dtype " << DtypeName(tensor) << ", expected "
           << expected.dtype;
  }
  const std::vector<int64_t> shape(tensor.sizes().begin(),
                                   tensor.sizes().end());
  if (shape != expected.shape) {
    return ::testing::AssertionFailure()
           << expected.key << ": shape [" << absl::StrJoin(shape, ",")
           << "], expected [" << absl::StrJoin(expected.shape, ",") << "]";
  }
  const std::string bytes = TensorBytes(tensor);
  if (bytes != expected.bytes) {
    return ::testing::AssertionFailure()
           << expected.key << ": bytes " << absl::BytesToHexString(bytes)
           << ", expected " << absl::BytesToHexString(expected.bytes);
  }
  return ::testing::AssertionSuccess();
}

}  // namespace mammovl::core
