#include "vision/testing/fixtures.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/npy_tensor.h"

namespace mammovl::vision::testing {

std::string TestData(absl::string_view relative) {
  return absl::StrCat("vision/testdata/", relative);
}

at::Tensor TestTensor(const std::string& relative) {
  absl::StatusOr<at::Tensor> t =
      core::ReadNpyTensor(TestData(relative + ".npy"));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : at::Tensor();
}

absl::StatusOr<std::vector<ParamEntry>> ReadParamList(const std::string& path) {
  absl::StatusOr<std::string> text = core::ReadFileToString(path);
  if (!text.ok()) return text.status();
  std::vector<ParamEntry> entries;
  for (absl::string_view line :
       absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    if (parts.size() != 2)
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": bad line ", line));
    ParamEntry e;
    e.key = std::string(parts[0]);
    if (parts[1] != "scalar") {
      for (absl::string_view s : absl::StrSplit(parts[1], ',')) {
        int64_t v;
        if (!absl::SimpleAtoi(s, &v))
          return absl::InvalidArgumentError(absl::StrCat(path, ": ", line));
        e.shape.push_back(v);
      }
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

::testing::AssertionResult TensorsClose(const at::Tensor& actual,
                                        const at::Tensor& expected,
                                        double rel) {
  if (!actual.defined())
    return ::testing::AssertionFailure() << "actual tensor is undefined";
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure()
           << "shape " << actual.sizes() << " != expected " << expected.sizes();
  }
  at::Tensor a = actual.detach().to(at::kDouble).contiguous();
  at::Tensor e = expected.detach().to(at::kDouble).contiguous();
  const double scale = e.numel() ? e.abs().max().item<double>() : 0.0;
  const double max_err = a.numel() ? (a - e).abs().max().item<double>() : 0.0;
  if (max_err <= rel * scale + 1e-30) {
    return ::testing::AssertionSuccess()
           << "max error " << max_err << " (scale " << scale << ")";
  }
  return ::testing::AssertionFailure()
         << "max |actual - expected| = " << max_err << " > " << rel
         << " * max|expected| (" << scale << ")";
}

}  // namespace mammovl::vision::testing
