#include "text/checkpointing.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "gtest/gtest.h"

namespace mammovl::text {
namespace {

TEST(CheckpointingTest, SameValueAndGradientsAsDirectCall) {
  at::manual_seed(0);
  const at::Tensor w = at::randn({4, 4}).requires_grad_(true);
  const at::Tensor x = at::randn({3, 4}).requires_grad_(true);
  auto block = [w](const at::Tensor& t) {
    return at::tanh(at::matmul(t, w)).pow(2);
  };
  const at::Tensor direct = block(x);
  direct.sum().backward();
  const at::Tensor gw = w.grad().clone(), gx = x.grad().clone();
  w.mutable_grad().zero_();
  x.mutable_grad().zero_();
  const at::Tensor checkpointed =
      Checkpointed(block, x, /*params_need_grad=*/true);
  EXPECT_TRUE(at::allclose(direct, checkpointed));
  checkpointed.sum().backward();
  EXPECT_TRUE(at::allclose(w.grad(), gw));
  EXPECT_TRUE(at::allclose(x.grad(), gx));
}

TEST(CheckpointingTest, ParametersGetGradientsWhenTheInputIsFrozen) {
  const at::Tensor w = at::ones({2, 2}).requires_grad_(true);
  const at::Tensor x = at::ones({1, 2});  // Does not require grad.
  const at::Tensor y =
      Checkpointed([w](const at::Tensor& t) { return at::matmul(t, w); }, x,
                   /*params_need_grad=*/true);
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  ASSERT_TRUE(w.grad().defined());
  EXPECT_TRUE(at::allclose(w.grad(), at::ones({2, 2})));
}

TEST(CheckpointingTest, DropoutMasksRepeatInTheRecomputation) {
  const at::Tensor x = at::ones({1000}).requires_grad_(true);
  auto block = [](const at::Tensor& t) {
    return at::dropout(t * 2, 0.5, /*train=*/true);
  };
  at::manual_seed(3);
  const at::Tensor y = Checkpointed(block, x, false);
  y.sum().backward();
  // The gradient is 4 exactly where the forward kept the element (2 / 0.5).
  EXPECT_TRUE(at::equal(x.grad().ne(0), y.ne(0)));
}

TEST(CheckpointingTest, NoGradModeJustCallsTheBlock) {
  at::NoGradGuard no_grad;
  const at::Tensor x = at::ones({2});
  const at::Tensor y =
      Checkpointed([](const at::Tensor& t) { return t + 1; }, x, true);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(at::equal(y, at::full({2}, 2.0)));
}

}  // namespace
}  // namespace mammovl::text
