#include "third_party/cuda/probe.h"

#include <vector>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl {
namespace cuda {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

TEST(ProbeTest, SizeMismatchIsRejectedInEveryBuild) {
  std::vector<float> y(3, 0.0f);
  EXPECT_THAT(
      Saxpy(2.0f, {1.0f, 2.0f}, &y),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x has 2")));
}

#ifdef MAMMOVL_WITH_CUDA

TEST(ProbeTest, LinksThePinnedRuntime) {
  ASSERT_TRUE(CudaCompiledIn());
  MVL_ASSERT_OK_AND_ASSIGN(int version, CudaRuntimeVersion());
  // cuda.lock pins CUDA 13.0.
  EXPECT_EQ(version, 13000);
}

TEST(ProbeTest, KernelRunsOrNamesTheMissingDevice) {
  std::vector<float> x = {1.0f, 2.0f, 3.0f};
  std::vector<float> y = {10.0f, 20.0f, 30.0f};
  const absl::Status status = Saxpy(2.0f, x, &y);
  if (status.ok()) {
    EXPECT_EQ(y, (std::vector<float>{12.0f, 24.0f, 36.0f}));
  } else {
    // No GPU or no driver on a build machine: the CUDA error is named and y
    // is untouched.
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                                 HasSubstr("Saxpy on the GPU failed: ")));
    EXPECT_EQ(y, (std::vector<float>{10.0f, 20.0f, 30.0f}));
  }
}

#else

TEST(ProbeTest, CpuBuildSaysHowToGetCuda) {
  EXPECT_FALSE(CudaCompiledIn());
  EXPECT_THAT(CudaRuntimeVersion(), StatusIs(absl::StatusCode::kUnimplemented,
                                             HasSubstr("--config=cuda")));
  std::vector<float> y = {1.0f};
  EXPECT_THAT(Saxpy(2.0f, {1.0f}, &y),
              StatusIs(absl::StatusCode::kUnimplemented));
}

#endif  // MAMMOVL_WITH_CUDA

}  // namespace
}  // namespace cuda
}  // namespace mammovl
