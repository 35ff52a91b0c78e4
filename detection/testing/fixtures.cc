#include "detection/testing/fixtures.h"

#include <cstring>
#include <string>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "core/npy.h"

namespace mammovl::detection::testing {

absl::StatusOr<at::Tensor> ReadFixture(absl::string_view name) {
  const std::string path = absl::StrCat("detection/testdata/", name, ".npy");
  absl::StatusOr<core::NpyArray> npy = core::ReadNpy(path);
  if (!npy.ok()) return npy.status();
  at::ScalarType type;
  if (npy->descr == "<f4") {
    type = at::kFloat;
  } else if (npy->descr == "<f8") {
    type = at::kDouble;
  } else if (npy->descr == "<i8") {
    type = at::kLong;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": unsupported dtype ", npy->descr));
  }
  if (npy->fortran_order) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": Fortran order"));
  }
  at::Tensor t = at::empty(npy->shape, type);
  if (t.nbytes() != npy->data.size()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": size mismatch"));
  }
  if (!npy->data.empty()) std::memcpy(t.data_ptr(), npy->data.data(), npy->data.size());
  return t;
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
