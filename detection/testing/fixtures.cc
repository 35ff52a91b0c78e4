#include "detection/testing/fixtures.h"

#include <string>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "core/npy_tensor.h"

namespace mammovl::detection::testing {

absl::StatusOr<at::Tensor> ReadFixture(absl::string_view name) {
  return core::ReadNpyTensor(absl::StrCat("detection/testdata/", name, ".npy"));
}

at::Tensor Fixture(absl::string_view name) {
  absl::StatusOr<at::Tensor> t = ReadFixture(name);
  if (!t.ok()) {
    ADD_FAILURE() << t.status();
    return at::Tensor();
  }
  return *t;
}

::testing::AssertionResult TensorsNear(const at::Tensor& actual,
                                       const at::Tensor& expected, double atol,
                                       double rtol) {
  if (!actual.defined() || !expected.defined()) {
    return ::testing::AssertionFailure() << "undefined tensor";
  }
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure()
           << "shape " << actual.sizes() << " vs expected " << expected.sizes();
  }
  if (actual.scalar_type() != expected.scalar_type()) {
    return ::testing::AssertionFailure()
           << "dtype " << actual.scalar_type() << " vs expected "
           << expected.scalar_type();
  }
  if (actual.numel() == 0) return ::testing::AssertionSuccess();
  const at::Tensor a = actual.to(at::kDouble);
  const at::Tensor e = expected.to(at::kDouble);
  const at::Tensor nan_mismatch = at::isnan(a).ne(at::isnan(e));
  if (nan_mismatch.any().item<bool>()) {
    return ::testing::AssertionFailure() << "NaN positions differ";
  }
  const at::Tensor err = (a - e).abs().nan_to_num(0.0);
  const at::Tensor tol = atol + rtol * e.abs().nan_to_num(0.0);
  const at::Tensor excess = err - tol;
  const int64_t worst = excess.flatten().argmax().item<int64_t>();
  if (excess.flatten()[worst].item<double>() > 0) {
    return ::testing::AssertionFailure()
           << "element " << worst << ": " << a.flatten()[worst].item<double>()
           << " vs expected " << e.flatten()[worst].item<double>()
           << " (max abs error " << err.max().item<double>() << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace mammovl::detection::testing
