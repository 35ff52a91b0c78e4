#ifndef MAMMOVL_THIRD_PARTY_CUDA_PROBE_H_
#define MAMMOVL_THIRD_PARTY_CUDA_PROBE_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mammovl {
namespace cuda {

// True when this binary was built with --config=cuda.
bool CudaCompiledIn();

// Version of the linked CUDA runtime (13000 for 13.0). Unimplemented in CPU
// builds.
absl::StatusOr<int> CudaRuntimeVersion();

// y = a * x + y on the current GPU. InvalidArgument on size mismatch,
// Unimplemented in CPU builds, FailedPrecondition naming the CUDA error when
// there is no usable device or the kernel fails.
absl::Status Saxpy(float a, const std::vector<float>& x, std::vector<float>* y);

}  // namespace cuda
}  // namespace mammovl

#endif  // MAMMOVL_THIRD_PARTY_CUDA_PROBE_H_
