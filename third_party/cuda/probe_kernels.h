#ifndef MAMMOVL_THIRD_PARTY_CUDA_PROBE_KERNELS_H_
#define MAMMOVL_THIRD_PARTY_CUDA_PROBE_KERNELS_H_

// Compiled by nvcc (probe_kernels.cu) under --config=cuda only; callers guard
// with MAMMOVL_WITH_CUDA. Return values are cudaError_t codes.

namespace mammovl {
namespace cuda {

// The CUDA runtime's version (e.g. 13000 for 13.0) in *version.
int ProbeRuntimeVersion(int* version);

// y[i] = a * x[i] + y[i] for i < n on the current device.
int ProbeSaxpy(float a, const float* x, float* y, int n);

// cudaGetErrorString for one of the codes above.
const char* ProbeErrorString(int code);

}  // namespace cuda
}  // namespace mammovl

#endif  // MAMMOVL_THIRD_PARTY_CUDA_PROBE_KERNELS_H_
