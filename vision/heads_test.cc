#include "vision/heads.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/npy_tensor.h"
#include "core/state_dict.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "vision/module_weights.h"
#include "vision/testing/fixtures.h"

namespace mammovl::vision {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;
using testing::TensorsClose;
using testing::TestData;
using testing::TestTensor;

// Loads heads/<name>.pt, with `strip` removed from the front of every key.
void LoadInto(torch::nn::Module& module, const std::string& name,
              const std::string& strip = "") {
  auto tensors = core::LoadStateDict(TestData("heads/" + name + ".pt"));
  ASSERT_THAT(tensors, core::IsOk());
  NamedTensors renamed;
  for (auto& [key, t] : *tensors)
    renamed.emplace_back(key.substr(strip.size()), t);
  ASSERT_THAT(LoadModuleWeights(module, renamed, {}), core::IsOk());
}

TEST(HeadsTest, MammoClipLinearProjection) {
  ProjectionHead head(testing::ParseTextProto<ProjectionHeadConfig>(
                          "linear { output_dim: 8 l2_normalize: false }"),
                      24);
  LoadInto(*head, "linear", "projection.");
  head->eval();
  EXPECT_TRUE(TensorsClose(head->forward(TestTensor("heads/input_linear")),
                           TestTensor("heads/linear.eval")));
}

TEST(HeadsTest, LinearProjectionNormalises) {
  ProjectionHead head(
      testing::ParseTextProto<ProjectionHeadConfig>("linear { output_dim: 8 }"),
      24);
  LoadInto(*head, "linear", "projection.");
  at::Tensor y = head->forward(TestTensor("heads/input_linear"));
  at::Tensor expected = TestTensor("heads/linear.eval");
  expected = expected / expected.norm(2, -1, true);
  EXPECT_TRUE(TensorsClose(y, expected));
  EXPECT_TRUE(TensorsClose(y.norm(2, -1), at::ones({4})));
}

TEST(HeadsTest, LinearWithoutBiasHasOnlyWeight) {
  ProjectionHead head(testing::ParseTextProto<ProjectionHeadConfig>(
                          "linear { output_dim: 512 bias: false }"),
                      2048);
  NamedTensors state = ModuleStateDict(*head);
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0].first, "weight");
  EXPECT_EQ(state[0].second.sizes(), (std::vector<int64_t>{512, 2048}));
}

TEST(HeadsTest, MammoClipResidualMlp) {
  ProjectionHead head(testing::ParseTextProto<ProjectionHeadConfig>(
                          "mlp { output_dim: 8 l2_normalize: false }"),
                      24);
  LoadInto(*head, "mlp");
  head->eval();
  EXPECT_TRUE(TensorsClose(head->forward(TestTensor("heads/input_mlp")),
                           TestTensor("heads/mlp.eval")));
}

TEST(HeadsTest, MgcaGlobalEmbeddingInEvalAndTrainMode) {
  ProjectionHead head(
      testing::ParseTextProto<ProjectionHeadConfig>(
          "bn_mlp { hidden_dim: 16 output_dim: 8 l2_normalize: false }"),
      24);
  LoadInto(*head, "bn_mlp");
  head->eval();
  EXPECT_TRUE(TensorsClose(head->forward(TestTensor("heads/input_bn_mlp")),
                           TestTensor("heads/bn_mlp.eval")));
  head->train();
  EXPECT_TRUE(TensorsClose(head->forward(TestTensor("heads/input_bn_mlp")),
                           TestTensor("heads/bn_mlp.train")));
}

TEST(HeadsTest, MgcaLocalEmbeddingInEvalAndTrainMode) {
  LocalProjectionHead head(
      testing::ParseTextProto<LocalProjectionConfig>(
          "hidden_dim: 16 output_dim: 8 l2_normalize: false"),
      24);
  LoadInto(*head, "local");
  head->eval();
  EXPECT_TRUE(TensorsClose(head->forward(TestTensor("heads/input_local")),
                           TestTensor("heads/local.eval")));
  head->train();
  EXPECT_TRUE(TensorsClose(head->forward(TestTensor("heads/input_local")),
                           TestTensor("heads/local.train")));
}

TEST(HeadsTest, ValidateRejectsBadFields) {
  EXPECT_THAT(ValidateProjectionHeadConfig(ProjectionHeadConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no head selected")));
  EXPECT_THAT(ValidateProjectionHeadConfig(
                  testing::ParseTextProto<ProjectionHeadConfig>(
                      "linear { output_dim: 0 }")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("linear.output_dim")));
  EXPECT_THAT(
      ValidateProjectionHeadConfig(
          testing::ParseTextProto<ProjectionHeadConfig>("mlp { dropout: 1 }")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mlp.dropout")));
  EXPECT_THAT(
      ValidateLocalProjectionConfig(
          testing::ParseTextProto<LocalProjectionConfig>("hidden_dim: -1")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hidden_dim")));
  MVL_EXPECT_OK(ValidateProjectionHeadConfig(
      testing::ParseTextProto<ProjectionHeadConfig>("bn_mlp {}")));
}

}  // namespace
}  // namespace mammovl::vision
