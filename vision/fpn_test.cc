#include "vision/fpn.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

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

const auto ParseConfig = &testing::ParseTextProto<FpnConfig>;

Fpn Load(const FpnConfig& config, const std::vector<int64_t>& in_channels,
         const std::string& weights) {
  EXPECT_THAT(ValidateFpnConfig(config, in_channels), core::IsOk());
  Fpn fpn(config, in_channels);
  auto tensors = core::LoadStateDict(TestData("fpn/" + weights));
  EXPECT_THAT(tensors, core::IsOk());
  EXPECT_THAT(LoadModuleWeights(*fpn, *tensors, {}),
              core::IsOk());  // strict: names match
  return fpn;
}

void ExpectOutputs(Fpn& fpn, const std::string& inputs_case,
                   const std::string& outputs_case, int num_inputs) {
  std::vector<at::Tensor> maps;
  for (int i = 0; i < num_inputs; ++i)
    maps.push_back(
        TestTensor("fpn/" + inputs_case + ".in" + std::to_string(i)));
  c10::InferenceMode guard;
  std::vector<at::Tensor> outs = fpn->forward(maps);
  ASSERT_EQ(static_cast<int64_t>(outs.size()), fpn->num_outputs());
  for (size_t i = 0; i < outs.size(); ++i) {
    EXPECT_TRUE(TensorsClose(outs[i], TestTensor("fpn/" + outputs_case +
                                                 ".out" + std::to_string(i))))
        << i;
  }
}

TEST(FpnTest, FpnMilTwoLevelsWithStrideFourPool) {
  Fpn fpn = Load(ParseConfig("layout: FPN_MIL out_channels: 16 extra_levels: "
                             "MAX_POOL pool_stride: 4"),
                 {8, 16}, "fpn_mil.pt");
  ExpectOutputs(fpn, "fpn_mil", "fpn_mil", 2);
  // Odd sizes (as a 1520×912 image gives): the top-down map is resized to the
  // lateral.
  ExpectOutputs(fpn, "fpn_mil_odd", "fpn_mil_odd", 2);
}

TEST(FpnTest, FpnMilBackbonePyramidWithoutTopDown) {
  Fpn fpn = Load(
      ParseConfig("layout: FPN_MIL out_channels: 16 extra_levels: MAX_POOL "
                  "pool_stride: 4 top_down: false"),
      {8, 16}, "fpn_mil.pt");
  ExpectOutputs(fpn, "fpn_mil_no_top_down", "fpn_mil_no_top_down", 2);
}

TEST(FpnTest, MammoClipRetinaNetPyramidUpsamplesLaterals) {
  Fpn fpn = Load(
      ParseConfig("layout: RETINANET out_channels: 16 extra_levels: CONV_P6P7 "
                  "upsample_lateral: [0, 1]"),
      {8, 16, 24}, "retina.pt");
  ExpectOutputs(fpn, "retina", "retina", 3);
}

TEST(FpnTest, TorchvisionFeaturePyramidNetwork) {
  Fpn p6p7 = Load(ParseConfig("out_channels: 16 extra_levels: CONV_P6P7"),
                  {8, 16, 24}, "torchvision_p6p7.pt");
  ExpectOutputs(p6p7, "torchvision_p6p7", "torchvision_p6p7", 3);
  // Same lateral/output weights with torchvision's LastLevelMaxPool.
  Fpn pool(ParseConfig("out_channels: 16 extra_levels: MAX_POOL"),
           std::vector<int64_t>{8, 16, 24});
  auto tensors = core::LoadStateDict(TestData("fpn/torchvision_p6p7.pt"));
  ASSERT_THAT(tensors, core::IsOk());
  WeightLoadOptions options;
  options.ignore_unexpected = {"extra_blocks."};
  MVL_ASSERT_OK_AND_ASSIGN(WeightLoadReport report,
                           LoadModuleWeights(*pool, *tensors, options));
  EXPECT_EQ(report.ignored.size(), 4u);
  ExpectOutputs(pool, "torchvision_p6p7", "torchvision_pool", 3);
}

TEST(FpnTest, RejectsMismatchedInputs) {
  Fpn fpn(ParseConfig("out_channels: 16"), std::vector<int64_t>{8, 16});
  EXPECT_THROW(fpn->forward({at::zeros({1, 8, 8, 8})}), c10::Error);
  EXPECT_THROW(
      fpn->forward({at::zeros({1, 8, 8, 8}), at::zeros({1, 12, 4, 4})}),
      c10::Error);
}

TEST(FpnTest, ValidateRejectsBadFields) {
  EXPECT_THAT(
      ValidateFpnConfig(FpnConfig(), {}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no input maps")));
  EXPECT_THAT(
      ValidateFpnConfig(ParseConfig("out_channels: 0"), {8}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out_channels")));
  EXPECT_THAT(ValidateFpnConfig(ParseConfig("upsample_lateral: 2"), {8, 16}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("upsample_lateral[0] = 2")));
  EXPECT_THAT(
      ValidateFpnConfig(ParseConfig("pool_stride: 0"), {8}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pool_stride")));
  EXPECT_THAT(
      ValidateFpnConfig(ParseConfig("layout: LAYOUT_UNSPECIFIED"), {8}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("layout")));
  MVL_EXPECT_OK(ValidateFpnConfig(FpnConfig(), {8, 16}));
}

}  // namespace
}  // namespace mammovl::vision
