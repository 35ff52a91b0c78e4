#include "core/torch_status.h"

#include <torch/torch.h>

#include <new>
#include <stdexcept>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(TorchStatusTest, ReturnsValueWhenNothingThrows) {
  absl::StatusOr<int64_t> numel = RunTorch("count", [] { return torch::ones({2, 3}).numel(); });
  MVL_ASSERT_OK(numel);
  EXPECT_EQ(*numel, 6);
}

TEST(TorchStatusTest, VoidCallGivesStatus) {
  int calls = 0;
  absl::Status status = RunTorch("noop", [&] { ++calls; });
  MVL_EXPECT_OK(status);
  EXPECT_EQ(calls, 1);
}

TEST(TorchStatusTest, ShapeMismatchBecomesStatusWithContext) {
  absl::StatusOr<torch::Tensor> out = RunTorch("adding features", [] {
    return torch::ones({2, 3}) + torch::ones({4, 5});
  });
  EXPECT_THAT(out.status(),
              StatusIs(absl::StatusCode::kInternal,
                       AllOf(HasSubstr("adding features: "), HasSubstr("size of tensor a (3)"),
                             Not(HasSubstr("Exception raised from")))));
}

TEST(TorchStatusTest, IndexErrorIsInvalidArgument) {
  absl::Status status = RunTorch("indexing", [] { (void)torch::ones({2}).select(0, 7); });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("indexing")));
}

TEST(TorchStatusTest, NotImplementedIsUnimplemented) {
  absl::Status status = RunTorch("op", [] { TORCH_CHECK_NOT_IMPLEMENTED(false, "no kernel"); });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("no kernel")));
}

TEST(TorchStatusTest, StandardExceptionsAreMapped) {
  EXPECT_THAT(RunTorch("alloc", [] { throw std::bad_alloc(); }),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("alloc")));
  EXPECT_THAT(RunTorch("parse", [] { throw std::invalid_argument("bad number"); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad number")));
  EXPECT_THAT(RunTorch("other", [] { throw std::runtime_error("boom"); }),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("boom")));
  EXPECT_THAT(RunTorch("odd", [] { throw 42; }), StatusIs(absl::StatusCode::kInternal));
}

TEST(TorchStatusTest, StatusReturningCallsPassThrough) {
  absl::Status status = RunTorch("x", [] { return absl::NotFoundError("gone"); });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, "gone"));
  absl::StatusOr<int> value = RunTorch("x", []() -> absl::StatusOr<int> { return 5; });
  MVL_ASSERT_OK(value);
  EXPECT_EQ(*value, 5);
}

}  // namespace
}  // namespace mammovl::core
