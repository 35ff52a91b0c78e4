#include "vision/module_weights.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <string>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::vision {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// `0.weight` [3, 4], `0.bias` [3], `1.weight/bias/running_mean/running_var`
// [3], `1.num_batches_tracked` [].
torch::nn::Sequential SmallModule() {
  return torch::nn::Sequential(torch::nn::Linear(4, 3),
                               torch::nn::BatchNorm1d(3));
}

NamedTensors FullState(float value) {
  return {{"0.weight", at::full({3, 4}, value)},
          {"0.bias", at::full({3}, value)},
          {"1.weight", at::full({3}, value)},
          {"1.bias", at::full({3}, value)},
          {"1.running_mean", at::full({3}, value)},
          {"1.running_var", at::full({3}, value)},
          {"1.num_batches_tracked", at::scalar_tensor(7, at::kLong)}};
}

float First(torch::nn::Module& m, const std::string& key) {
  for (const auto& [k, t] : ModuleStateDict(m)) {
    if (k == key) return t.flatten()[0].item<float>();
  }
  return -1;
}

TEST(ModuleWeightsTest, LoadsParametersAndBuffers) {
  torch::nn::Sequential m = SmallModule();
  MVL_ASSERT_OK_AND_ASSIGN(WeightLoadReport report,
                           LoadModuleWeights(*m, FullState(0.5f), {}));
  EXPECT_EQ(report.loaded, 7);
  EXPECT_TRUE(report.missing.empty());
  EXPECT_EQ(First(*m, "0.weight"), 0.5f);
  EXPECT_EQ(First(*m, "1.running_var"), 0.5f);
  EXPECT_EQ(First(*m, "1.num_batches_tracked"), 7.0f);
}

TEST(ModuleWeightsTest, ConvertsHalfPrecisionCheckpoints) {
  torch::nn::Sequential m = SmallModule();
  NamedTensors state = FullState(0.25f);
  for (auto& [k, t] : state) {
    if (t.is_floating_point()) t = t.to(at::kHalf);
  }
  MVL_ASSERT_OK(LoadModuleWeights(*m, state, {}));
  EXPECT_EQ(First(*m, "0.bias"), 0.25f);
  for (const auto& [k, t] : ModuleStateDict(*m)) {
    if (k != "1.num_batches_tracked") {
      EXPECT_EQ(t.scalar_type(), at::kFloat) << k;
    }
  }
}

TEST(ModuleWeightsTest, WrongShapeNamesKeyAndBothShapes) {
  torch::nn::Sequential m = SmallModule();
  NamedTensors state = FullState(0.5f);
  state[0].second = at::zeros({3, 5});
  WeightLoadOptions options;
  options.source = "'b2.tar'";
  EXPECT_THAT(
      LoadModuleWeights(*m, state, options),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("from 'b2.tar'"),
                     HasSubstr("'0.weight' has shape [3, 5] in the checkpoint, "
                               "the model expects [3, 4]"))));
  // Nothing was copied.
  EXPECT_NE(First(*m, "0.bias"), 0.5f);
  // Shapes are checked in non-strict mode too.
  options.strict = false;
  EXPECT_THAT(
      LoadModuleWeights(*m, state, options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'0.weight'")));
}

TEST(ModuleWeightsTest, StrictListsMissingAndUnexpectedKeys) {
  torch::nn::Sequential m = SmallModule();
  NamedTensors state = FullState(0.5f);
  state.erase(state.begin() + 4);  // 1.running_mean
  state.emplace_back("_fc.weight", at::zeros({2, 2}));
  state.emplace_back("_fc.bias", at::zeros({2}));
  EXPECT_THAT(
      LoadModuleWeights(*m, state, {}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("1 missing key(s): 1.running_mean"),
                     HasSubstr("2 unexpected key(s): _fc.weight, _fc.bias"))));
}

TEST(ModuleWeightsTest, NonStrictReportsAndLoadsTheRest) {
  torch::nn::Sequential m = SmallModule();
  NamedTensors state = FullState(0.5f);
  state.erase(state.begin() + 4);
  state.emplace_back("_fc.weight", at::zeros({2, 2}));
  WeightLoadOptions options;
  options.strict = false;
  MVL_ASSERT_OK_AND_ASSIGN(WeightLoadReport report,
                           LoadModuleWeights(*m, state, options));
  EXPECT_THAT(report.missing, ElementsAre("1.running_mean"));
  EXPECT_THAT(report.unexpected, ElementsAre("_fc.weight"));
  EXPECT_EQ(report.loaded, 6);
  EXPECT_EQ(First(*m, "0.weight"), 0.5f);
}

TEST(ModuleWeightsTest, IgnoredPrefixesAreNotUnexpected) {
  torch::nn::Sequential m = SmallModule();
  NamedTensors state = FullState(0.5f);
  state.emplace_back("_conv_head.weight", at::zeros({2, 2}));
  state.emplace_back("_bn1.running_mean", at::zeros({2}));
  WeightLoadOptions options;
  options.ignore_unexpected = {"_conv_head.", "_bn1."};
  MVL_ASSERT_OK_AND_ASSIGN(WeightLoadReport report,
                           LoadModuleWeights(*m, state, options));
  EXPECT_THAT(report.ignored,
              ElementsAre("_conv_head.weight", "_bn1.running_mean"));
  EXPECT_TRUE(report.unexpected.empty());
}

TEST(ModuleWeightsTest, OneElementVectorLoadsIntoScalarAsPyTorchDoes) {
  torch::nn::Sequential m = SmallModule();
  NamedTensors state = FullState(0.5f);
  state.back().second = at::full({1}, 9, at::kLong);
  MVL_ASSERT_OK(LoadModuleWeights(*m, state, {}));
  EXPECT_EQ(First(*m, "1.num_batches_tracked"), 9.0f);
}

TEST(ModuleWeightsTest, LongKeyListsAreShortened) {
  torch::nn::Sequential m = SmallModule();
  NamedTensors state = FullState(0.5f);
  for (int i = 0; i < 30; ++i)
    state.emplace_back("extra." + std::to_string(i), at::zeros({1}));
  EXPECT_THAT(LoadModuleWeights(*m, state, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("30 unexpected key(s)"),
                             HasSubstr("... and 10 more"))));
}

}  // namespace
}  // namespace mammovl::vision
