#include "vision/resnet.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <map>
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

const auto ParseConfig = &testing::ParseTextProto<ResNetConfig>;

// The fixtures' network: torchvision Bottlenecks [1, 2, 1, 1], widths 4..32.
ResNet LoadSmall(const std::string& extra, bool channels_last) {
  ResNetConfig config = ParseConfig(
      "depth: RESNET50 base_width: 4 stage_blocks: [1, 2, 1, 1] " + extra);
  EXPECT_THAT(ValidateResNetConfig(config), core::IsOk());
  ResNet net(config, channels_last);
  auto tensors = core::LoadStateDict(TestData("resnet/weights.pt"));
  EXPECT_THAT(tensors, core::IsOk());
  EXPECT_THAT(LoadModuleWeights(*net, *tensors, {}), core::IsOk());
  net->eval();
  return net;
}

BackboneOutput RunNet(ResNet& net, const at::Tensor& x, bool fused) {
  if (!fused) return net->Forward(x);
  c10::InferenceMode guard;
  return net->Forward(x);
}

TEST(ResNetTest, MatchesTorchvisionOnNonSquareBatch) {
  for (bool channels_last : {true, false}) {
    ResNet net = LoadSmall("", channels_last);
    at::Tensor x = TestTensor("resnet/input_plain");
    for (bool fused : {true, false}) {
      SCOPED_TRACE(std::string(fused ? "fused" : "reference") +
                   (channels_last ? ", channels_last" : ", contiguous"));
      BackboneOutput out = RunNet(net, x, fused);
      EXPECT_TRUE(TensorsClose(out.pooled, TestTensor("resnet/plain.pooled")));
      EXPECT_TRUE(
          TensorsClose(out.head_map, TestTensor("resnet/plain.head_map")));
      ASSERT_EQ(out.maps.size(), 4u);
      for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(TensorsClose(
            out.maps[i], TestTensor("resnet/plain.map" + std::to_string(i))))
            << i;
      }
      EXPECT_TRUE(TensorsClose(out.local, TestTensor("resnet/plain.local")));
      EXPECT_EQ(out.grid_rows * out.grid_cols, out.local.size(1));
    }
  }
}

TEST(ResNetTest, MgcaResizesInputAndTakesLayer3Tokens) {
  ResNet net = LoadSmall("input_resize: 75", true);
  for (bool fused : {true, false}) {
    BackboneOutput out = RunNet(net, TestTensor("resnet/input_mgca"), fused);
    EXPECT_TRUE(TensorsClose(out.pooled, TestTensor("resnet/mgca.pooled")));
    EXPECT_TRUE(TensorsClose(out.local, TestTensor("resnet/mgca.local")));
  }
}

TEST(ResNetTest, TrainingModeMatchesTorchvision) {
  ResNet net = LoadSmall("", true);
  net->train();
  at::Tensor x = TestTensor("resnet/input_train").requires_grad_(true);
  BackboneOutput out = net->Forward(x);
  out.pooled.sum().backward();
  EXPECT_TRUE(TensorsClose(out.pooled, TestTensor("resnet/train.pooled")));
  EXPECT_TRUE(
      TensorsClose(x.grad(), TestTensor("resnet/train.grad_input"), 1e-4));
}

TEST(ResNetTest, RealResNet50HasTorchvisionNamesShapesAndCount) {
  ResNetConfig config;
  ResNet net(config, true);
  auto expected =
      testing::ReadParamList(TestData("resnet/resnet50.params.txt"));
  ASSERT_THAT(expected, core::IsOk());
  std::map<std::string, std::vector<int64_t>> ours;
  for (const auto& [key, t] : ModuleStateDict(*net))
    ours[key] = t.sizes().vec();
  size_t fc = 0;
  for (const auto& e : *expected) {
    if (e.key.rfind("fc.", 0) == 0) {  // the classifier is a head here
      ++fc;
      continue;
    }
    auto it = ours.find(e.key);
    ASSERT_NE(it, ours.end()) << "missing " << e.key;
    EXPECT_EQ(it->second, e.shape) << e.key;
  }
  EXPECT_EQ(fc, 2u);
  EXPECT_EQ(ours.size(), expected->size() - fc);
  int64_t count = 0;
  for (const auto& p : net->parameters()) count += p.numel();
  EXPECT_EQ(count,
            25557032 - (2048 * 1000 + 1000));  // torchvision resnet50 minus fc
  EXPECT_EQ(net->feature_dim(), 2048);
  EXPECT_EQ(net->local_dim(), 1024);
  EXPECT_EQ(net->map_channels(), (std::vector<int64_t>{256, 512, 1024, 2048}));
}

TEST(ResNetTest, Mgca299InputGives19By19LocalGrid) {
  ResNetConfig config = ParseConfig("base_width: 8 input_resize: 299");
  ResNet net(config, true);
  net->eval();
  c10::InferenceMode guard;
  BackboneOutput out = net->Forward(at::randn({1, 3, 224, 224}));
  EXPECT_EQ(out.grid_rows, 19);
  EXPECT_EQ(out.grid_cols, 19);
  EXPECT_EQ(out.local.sizes(), (std::vector<int64_t>{1, 361, 128}));
  EXPECT_EQ(out.head_map.size(2), 10);
}

TEST(ResNetTest, BasicBlockDepths) {
  ResNet net(ParseConfig("depth: RESNET18 base_width: 8"), false);
  EXPECT_EQ(net->map_channels(), (std::vector<int64_t>{8, 16, 32, 64}));
  net->eval();
  c10::InferenceMode guard;
  EXPECT_EQ(net->Forward(at::randn({2, 3, 64, 64})).pooled.sizes(),
            (std::vector<int64_t>{2, 64}));
}

TEST(ResNetTest, ValidateRejectsBadFields) {
  EXPECT_THAT(
      ValidateResNetConfig(ParseConfig("depth: DEPTH_UNSPECIFIED")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resnet.depth")));
  EXPECT_THAT(
      ValidateResNetConfig(ParseConfig("base_width: 0")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("base_width")));
  EXPECT_THAT(
      ValidateResNetConfig(ParseConfig("local_stage: 5")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("local_stage")));
  EXPECT_THAT(
      ValidateResNetConfig(ParseConfig("stage_blocks: [1, 2]")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stage_blocks")));
  EXPECT_THAT(ValidateResNetConfig(ParseConfig("stage_blocks: [1, 2, 0, 1]")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("stage_blocks[2]")));
  MVL_EXPECT_OK(ValidateResNetConfig(ParseConfig("depth: RESNET152")));
}

}  // namespace
}  // namespace mammovl::vision
