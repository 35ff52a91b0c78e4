// Shared set-up of the GPU parity tests (tag "gpu").
#ifndef MAMMOVL_TOOLS_DEVICE_GPU_TESTING_H_
#define MAMMOVL_TOOLS_DEVICE_GPU_TESTING_H_

#include <ATen/Context.h>

#include "gtest/gtest.h"

namespace mammovl::device {

// Fails (not skips) without a CUDA device; with one, turns TF32 off and
// cuDNN deterministic so float32 on the GPU rounds like on the CPU up to
// reduction order. Use as ASSERT_TRUE(PrepareGpuForParity()).
inline ::testing::AssertionResult PrepareGpuForParity() {
  if (!at::hasCUDA() || at::getNumGPUs() == 0) {
    return ::testing::AssertionFailure()
           << "needs a CUDA device and a CUDA build (--config=cuda or the "
              "tools/device CMake build); this test runs on the GPU machine";
  }
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setDeterministicCuDNN(true);
  return ::testing::AssertionSuccess();
}

}  // namespace mammovl::device

#endif  // MAMMOVL_TOOLS_DEVICE_GPU_TESTING_H_
