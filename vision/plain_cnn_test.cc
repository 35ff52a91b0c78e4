#include "vision/plain_cnn.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <string>
#include <vector>

#include "core/state_dict.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vision/image_encoder.h"
#include "vision/module_weights.h"
#include "vision/testing/fixtures.h"

namespace mammovl::vision {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;
using testing::TensorsClose;
using testing::TestData;
using testing::TestTensor;

const auto ParseConfig = &testing::ParseTextProto<PlainCnnConfig>;

// Fixtures: tools/fixtures/make_vision_fixtures.py (reference model in
// vision_reference_models.py). "s2d": channels [4, 8, 12], two convolutions
// per stage, space-to-depth; "plain": channels [6, 10], no space-to-depth,
// odd input size.
PlainCnn Load(const std::string& text, const std::string& weights,
              bool channels_last) {
  const PlainCnnConfig config = ParseConfig(text);
  EXPECT_THAT(ValidatePlainCnnConfig(config), core::IsOk());
  PlainCnn net(config, channels_last);
  auto tensors = core::LoadStateDict(TestData(weights));
  EXPECT_THAT(tensors, core::IsOk());
  EXPECT_THAT(LoadModuleWeights(*net, *tensors, {}), core::IsOk());
  net->eval();
  return net;
}

void ExpectMatches(PlainCnn& net, const std::string& c, int stages) {
  const at::Tensor x = TestTensor("plain_cnn/input_" + c);
  for (bool fused : {true, false}) {
    SCOPED_TRACE(fused ? "fused" : "reference");
    BackboneOutput out;
    if (fused) {
      c10::InferenceMode guard;
      out = net->Forward(x);
    } else {
      out = net->Forward(x);
    }
    ASSERT_EQ(static_cast<int>(out.maps.size()), stages);
    for (int i = 0; i < stages; ++i) {
      EXPECT_TRUE(TensorsClose(out.maps[i], TestTensor("plain_cnn/" + c +
                                                       ".map" +
                                                       std::to_string(i))))
          << i;
    }
    EXPECT_TRUE(TensorsClose(out.head_map, out.maps.back()));
    EXPECT_TRUE(TensorsClose(out.pooled, TestTensor("plain_cnn/" + c +
                                                    ".pooled")));
  }
}

TEST(PlainCnnTest, SpaceToDepthMatchesReference) {
  for (bool channels_last : {true, false}) {
    SCOPED_TRACE(channels_last ? "channels_last" : "contiguous");
    PlainCnn net = Load("channels: [4, 8, 12] convs_per_stage: 2",
                        "plain_cnn/s2d_weights.pt", channels_last);
    EXPECT_EQ(net->map_channels(), (std::vector<int64_t>{4, 8, 12}));
    EXPECT_EQ(net->feature_dim(), 12);
    ExpectMatches(net, "s2d", 3);
  }
}

TEST(PlainCnnTest, WithoutSpaceToDepthMatchesReferenceOnOddSizes) {
  PlainCnn net = Load("channels: [6, 10] space_to_depth: false",
                      "plain_cnn/plain_weights.pt", true);
  ExpectMatches(net, "plain", 2);
}

TEST(PlainCnnTest, TrainingModeMatchesReference) {
  PlainCnn net = Load("channels: [4, 8, 12] convs_per_stage: 2",
                      "plain_cnn/s2d_weights.pt", true);
  net->train();
  at::Tensor x = TestTensor("plain_cnn/input_train").requires_grad_(true);
  BackboneOutput out = net->Forward(x);
  (out.pooled * at::arange(out.pooled.size(1))).sum().backward();
  EXPECT_TRUE(TensorsClose(out.pooled, TestTensor("plain_cnn/train.pooled")));
  EXPECT_TRUE(
      TensorsClose(x.grad(), TestTensor("plain_cnn/train.grad_input"), 1e-4));
}

TEST(PlainCnnTest, DefaultsAndErrors) {
  PlainCnn net(PlainCnnConfig(), true);
  EXPECT_EQ(net->map_channels(), (std::vector<int64_t>{16, 32, 48, 64}));
  net->eval();
  c10::InferenceMode guard;
  const BackboneOutput out = net->Forward(at::randn({1, 3, 64, 32}));
  // Strides 2, 4, 8, 16 with space-to-depth.
  EXPECT_EQ(out.maps[0].sizes(), (std::vector<int64_t>{1, 16, 32, 16}));
  EXPECT_EQ(out.maps[3].sizes(), (std::vector<int64_t>{1, 64, 4, 2}));
  EXPECT_THROW(net->Forward(at::randn({1, 3, 33, 32})), c10::Error);
  EXPECT_THROW(net->Forward(at::randn({1, 1, 32, 32})), c10::Error);

  EXPECT_THAT(ValidatePlainCnnConfig(ParseConfig("channels: [8, 0]")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("plain_cnn.channels[1]")));
  EXPECT_THAT(ValidatePlainCnnConfig(ParseConfig("convs_per_stage: 0")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("convs_per_stage")));
  EXPECT_THAT(ValidatePlainCnnConfig(ParseConfig("batch_norm_epsilon: 0")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("batch_norm_epsilon")));
}

TEST(PlainCnnTest, BuildsThroughTheImageEncoder) {
  VisionConfig config;
  config.mutable_plain_cnn()->add_channels(8);
  config.mutable_plain_cnn()->add_channels(16);
  auto encoder = BuildImageEncoder(config);
  MVL_ASSERT_OK(encoder);
  EXPECT_EQ((*encoder)->embedding_dim(), 16);
  config.mutable_local_projection();
  EXPECT_THAT(BuildImageEncoder(config).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("local features")));
}

}  // namespace
}  // namespace mammovl::vision
