// Focal, weighted BCE and weighted CE: closed forms, ignored targets and
// shape errors. The golden values are in loss_parity_test.
#include "losses/classification_losses.h"

#include <ATen/ATen.h>

#include <cmath>
#include <memory>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "losses/loss_builder.h"
#include "losses/loss_testing.h"

namespace mammovl::losses {
namespace {

using ::testing::HasSubstr;

double Value(const at::Tensor& t) { return t.item<double>(); }

at::Tensor Doubles(std::vector<double> v, std::vector<int64_t> shape) {
  return at::tensor(v, at::kDouble).reshape(shape);
}

TEST(WeightedBceTest, KnownValueFromFpnMil) {
  // fpn_mil.md §8 item 11: pos_weight 15.573306370070778, logits
  // [2, -1, 0.5, -3], targets [1, 0, 1, 0] -> 2.43037099.
  WeightedBceLossConfig config;
  config.add_pos_weight(15.573306370070778);
  const at::Tensor loss =
      WeightedBceLoss(at::tensor({2.0f, -1.0f, 0.5f, -3.0f}),
                      at::tensor({1.0f, 0.0f, 1.0f, 0.0f}), config);
  EXPECT_EQ(loss.scalar_type(), at::kFloat);
  EXPECT_NEAR(Value(loss), 2.43037099, 1e-6);
}

TEST(WeightedBceTest, UnweightedIsPlainBce) {
  const at::Tensor z = Doubles({0.3, -2.0}, {2});
  const at::Tensor y = Doubles({1.0, 0.0}, {2});
  const double want = -(std::log(1 / (1 + std::exp(-0.3))) +
                        std::log(1 - 1 / (1 + std::exp(2.0)))) /
                      2;
  EXPECT_NEAR(Value(WeightedBceLoss(z, y, WeightedBceLossConfig())), want,
              1e-12);
}

TEST(WeightedBceTest, PosWeightCountMustMatchTheClasses) {
  WeightedBceLossConfig config;
  config.add_pos_weight(2);
  config.add_pos_weight(3);
  EXPECT_THROW(WeightedBceLoss(at::zeros({4, 3}), at::zeros({4, 3}), config),
               c10::ValueError);
  EXPECT_THROW(WeightedBceLoss(at::zeros({4, 2}), at::zeros({4, 3}), config),
               c10::ValueError);
}

TEST(FocalLossTest, GammaZeroAlphaNoneIsBce) {
  FocalLossConfig config;
  config.set_alpha(-1);
  config.set_gamma(0);
  const at::Tensor z = Doubles({0.3, -2.0, 1.5, 0.0}, {2, 2});
  const at::Tensor y = Doubles({1, 0, 0, 1}, {2, 2});
  EXPECT_NEAR(Value(FocalLoss(z, y, config)),
              Value(WeightedBceLoss(z, y, WeightedBceLossConfig())), 1e-12);
}

TEST(FocalLossTest, IgnoredTargetsCountNowhere) {
  FocalLossConfig config;  // alpha 0.25, gamma 2, mean
  const at::Tensor z = Doubles({0.3, -2.0, 1.5, 0.0}, {2, 2});
  const at::Tensor y = Doubles({1, 0, -1, -1}, {2, 2});
  const double kept =
      Value(FocalLoss(z.narrow(0, 0, 1), y.narrow(0, 0, 1), config));
  EXPECT_NEAR(Value(FocalLoss(z, y, config)), kept, 1e-12);
  EXPECT_EQ(Value(FocalLoss(z, at::full({2, 2}, -1.0, at::kDouble), config)),
            0.0);
}

TEST(FocalLossTest, NumPositivesCountsAnchorsNotElements) {
  FocalLossConfig config;
  config.set_normalization(FocalLossConfig::NUM_POSITIVES);
  const at::Tensor z = Doubles({0.3, -2.0, 1.5, 0.0, 0.7, 0.1}, {3, 2});
  const at::Tensor y =
      Doubles({1, 1, 0, 0, 0, 1}, {3, 2});  // anchors 0 and 2 positive
  FocalLossConfig sum = config;
  sum.set_normalization(FocalLossConfig::SUM);
  EXPECT_NEAR(Value(FocalLoss(z, y, config)), Value(FocalLoss(z, y, sum)) / 2,
              1e-12);
  // No positive anchor: divided by 1.
  const at::Tensor none = at::zeros({3, 2}, at::kDouble);
  EXPECT_NEAR(Value(FocalLoss(z, none, config)), Value(FocalLoss(z, none, sum)),
              1e-12);
}

TEST(FocalLossTest, ClampedProbabilitiesStopTheGradient) {
  FocalLossConfig config;
  config.set_probability_clamp(1e-4);
  const at::Tensor z = Doubles({12.0, 0.5}, {1, 2}).set_requires_grad(true);
  FocalLoss(z, Doubles({1, 0}, {1, 2}), config).backward();
  EXPECT_EQ(Value(z.grad()[0][0]), 0.0);  // sigmoid(12) > 1 - 1e-4
  EXPECT_NE(Value(z.grad()[0][1]), 0.0);
}

TEST(WeightedCeTest, ClassWeightsGiveAWeightedMean) {
  WeightedCeLossConfig config;
  config.add_class_weight(1.0);
  config.add_class_weight(3.0);
  const at::Tensor z = Doubles({0.2, -0.4, 1.0, 0.5}, {2, 2});
  const at::Tensor y = at::tensor({1, 0}, at::kLong);
  const at::Tensor logp = at::log_softmax(z, 1);
  const double want =
      (3.0 * -Value(logp[0][1]) + 1.0 * -Value(logp[1][0])) / 4.0;
  EXPECT_NEAR(Value(WeightedCeLoss(z, y, config)), want, 1e-12);
}

TEST(WeightedCeTest, BadTargetsAreErrors) {
  const at::Tensor z = at::zeros({2, 3});
  EXPECT_THROW(
      WeightedCeLoss(z, at::tensor({0, 3}, at::kLong), WeightedCeLossConfig()),
      c10::ValueError);
  EXPECT_THROW(
      WeightedCeLoss(z, at::tensor({0.0f, 1.0f}), WeightedCeLossConfig()),
      c10::ValueError);
  WeightedCeLossConfig two;
  two.add_class_weight(1);
  two.add_class_weight(1);
  EXPECT_THROW(WeightedCeLoss(z, at::tensor({0, 1}, at::kLong), two),
               c10::ValueError);
  // ignore_index rows are not range-checked.
  EXPECT_NO_THROW(WeightedCeLoss(z, at::tensor({0, -100}, at::kLong),
                                 WeightedCeLossConfig()));
}

TEST(ClassificationLossObjectTest, ErrorsBecomeInvalidArgument) {
  LossConfig config;
  config.mutable_weighted_ce();
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Loss> loss, BuildLoss(config));
  LossInputs in;
  in.logits = at::zeros({2, 3});
  EXPECT_THAT(
      loss->Compute(in, LossContext()),
      core::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("targets")));
  in.targets = at::tensor({0, 2}, at::kLong);
  MVL_ASSERT_OK_AND_ASSIGN(LossOutput out, loss->Compute(in, LossContext()));
  EXPECT_NEAR(Value(out.total), std::log(3.0), 1e-6);
  EXPECT_TRUE(out.terms.empty());
}

}  // namespace
}  // namespace mammovl::losses
