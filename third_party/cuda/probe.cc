#include "third_party/cuda/probe.h"

#include "absl/strings/str_cat.h"
#include "third_party/cuda/probe_kernels.h"

namespace mammovl {
namespace cuda {

#ifdef MAMMOVL_WITH_CUDA

bool CudaCompiledIn() { return true; }

absl::StatusOr<int> CudaRuntimeVersion() {
  int version = 0;
  const int err = ProbeRuntimeVersion(&version);
  if (err != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cudaRuntimeGetVersion failed: ", ProbeErrorString(err)));
  }
  return version;
}

absl::Status Saxpy(float a, const std::vector<float>& x,
                   std::vector<float>* y) {
  if (x.size() != y->size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Saxpy: x has ", x.size(), " elements, y ", y->size()));
  }
  const int err =
      ProbeSaxpy(a, x.data(), y->data(), static_cast<int>(x.size()));
  if (err != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("Saxpy on the GPU failed: ", ProbeErrorString(err)));
  }
  return absl::OkStatus();
}

#else  // CPU build

namespace {
constexpr char kNoCuda[] =
    "built without CUDA; rebuild with --config=cuda (third_party/cuda)";
}  // namespace

bool CudaCompiledIn() { return false; }

absl::StatusOr<int> CudaRuntimeVersion() {
  return absl::UnimplementedError(kNoCuda);
}

absl::Status Saxpy(float, const std::vector<float>& x, std::vector<float>* y) {
  if (x.size() != y->size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Saxpy: x has ", x.size(), " elements, y ", y->size()));
  }
  return absl::UnimplementedError(kNoCuda);
}

#endif  // MAMMOVL_WITH_CUDA

}  // namespace cuda
}  // namespace mammovl
