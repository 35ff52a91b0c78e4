#include "vision/efficientnet.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
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

const auto ParseConfig = &testing::ParseTextProto<EfficientNetConfig>;

// The reduced network of the fixtures: width 0.15, depth 0.5.
// `extra` is merged over it (later fields win).
EfficientNetConfig SmallConfig(int nominal, const std::string& extra = "") {
  EfficientNetConfig config = ParseConfig(
      "width_coefficient: 0.15 depth_coefficient: 0.5 dropout_rate: 0.3 "
      "nominal_image_size: " +
      std::to_string(nominal));
  EXPECT_TRUE(google::protobuf::TextFormat::MergeFromString(extra, &config))
      << extra;
  return config;
}

EfficientNet LoadSmall(const EfficientNetConfig& config, bool channels_last,
                       std::vector<std::string> ignore = {}) {
  EXPECT_THAT(ValidateEfficientNetConfig(config), core::IsOk());
  EfficientNet net(config, channels_last);
  auto tensors = core::LoadStateDict(TestData("checkpoints/mammoclip_b2s.tar"),
                                     "image_encoder.");
  EXPECT_THAT(tensors, core::IsOk());
  WeightLoadOptions options;
  options.ignore_unexpected = std::move(ignore);
  EXPECT_THAT(LoadModuleWeights(*net, *tensors, options), core::IsOk());
  net->eval();
  return net;
}

// Compares every output the generator saved for `case_name`.
void ExpectMatchesCase(EfficientNet& net, const std::string& case_name,
                       const std::string& input_name, size_t num_maps) {
  const at::Tensor input = TestTensor("efficientnet/input_" + input_name);
  ASSERT_TRUE(input.defined());
  for (bool fused : {true, false}) {
    SCOPED_TRACE(fused ? "fused inference path"
                       : "reference path (grad mode on)");
    BackboneOutput out;
    if (fused) {
      c10::InferenceMode guard;
      out = net->Forward(input);
    } else {
      out = net->Forward(input);
    }
    EXPECT_TRUE(TensorsClose(
        out.pooled, TestTensor("efficientnet/" + case_name + ".pooled")))
        << "pooled";
    EXPECT_TRUE(TensorsClose(
        out.head_map, TestTensor("efficientnet/" + case_name + ".head_map")))
        << "head_map";
    ASSERT_EQ(out.maps.size(), num_maps);
    for (size_t i = 0; i < num_maps; ++i) {
      EXPECT_TRUE(TensorsClose(
          out.maps[i],
          TestTensor("efficientnet/" + case_name + ".map" + std::to_string(i))))
          << "map" << i;
    }
  }
}

TEST(EfficientNetTest, MammoClipB2PaddingMatchesReferenceAtMammogramAspect) {
  for (bool channels_last : {true, false}) {
    SCOPED_TRACE(channels_last ? "channels_last" : "contiguous");
    EfficientNet net = LoadSmall(SmallConfig(260), channels_last);
    ExpectMatchesCase(net, "b2pad_mammo", "mammo", 7);
  }
}

TEST(EfficientNetTest, MatchesReferenceOnNonSquareBatch) {
  EfficientNet net = LoadSmall(SmallConfig(260), true);
  ExpectMatchesCase(net, "b2pad_batch", "batch", 7);
}

TEST(EfficientNetTest, MammoClipB5PaddingMatchesReference) {
  EfficientNet net = LoadSmall(SmallConfig(456), true);
  ExpectMatchesCase(net, "b5pad_mammo", "mammo", 7);
}

TEST(EfficientNetTest, DetectorGlobalPaddingWithTapsMatchesReference) {
  EfficientNet net = LoadSmall(
      SmallConfig(
          260,
          "padding: STATIC_GLOBAL tap_blocks: 2 tap_blocks: 6 tap_blocks: 9"),
      true);
  EXPECT_EQ(net->map_channels(), (std::vector<int64_t>{8, 16, 48}));
  ExpectMatchesCase(net, "global_mammo", "mammo", 3);
}

TEST(EfficientNetTest, HeadlessDynamicPaddingMatchesReference) {
  // FPN-MIL's copy has no head: the checkpoint's head tensors are ignored.
  EfficientNet net =
      LoadSmall(SmallConfig(260, "padding: DYNAMIC include_head: false"), true,
                {"_conv_head.", "_bn1."});
  EXPECT_EQ(net->feature_dim(), 48);
  ExpectMatchesCase(net, "dynamic_mammo", "mammo", 7);
}

TEST(EfficientNetTest, TrainingStepMatchesReference) {
  // Batch statistics, no dropout/drop-connect: deterministic forward and
  // backward.
  EfficientNet net =
      LoadSmall(SmallConfig(260, "dropout_rate: 0 drop_connect_rate: 0"), true);
  net->train();
  const at::Tensor input = TestTensor("efficientnet/input_batch");
  ASSERT_TRUE(input.defined());
  at::Tensor x = input.clone().requires_grad_(true);
  BackboneOutput out = net->Forward(x);
  out.pooled.sum().backward();
  EXPECT_TRUE(
      TensorsClose(out.pooled, TestTensor("efficientnet/train.pooled")));
  EXPECT_TRUE(TensorsClose(x.grad(),
                           TestTensor("efficientnet/train.grad_input"), 1e-4));
  NamedTensors state = ModuleStateDict(*net);
  for (const auto& [key, t] : state) {
    if (key == "_bn0.running_mean") {
      EXPECT_TRUE(
          TensorsClose(t, TestTensor("efficientnet/train.running_mean")));
    }
  }
  for (const auto& item : net->named_parameters()) {
    if (item.key() == "_conv_stem.weight") {
      EXPECT_TRUE(TensorsClose(item.value().grad(),
                               TestTensor("efficientnet/train.grad_stem"),
                               1e-4));
    }
  }
}

TEST(EfficientNetTest, TrainingModeAppliesDropConnectAndDropout) {
  EfficientNet net = LoadSmall(SmallConfig(260, "dropout_rate: 0.5"), true);
  const at::Tensor input = TestTensor("efficientnet/input_batch");
  ASSERT_TRUE(input.defined());
  net->train();
  at::manual_seed(0);
  at::Tensor a = net->Forward(input).pooled;
  at::Tensor b = net->Forward(input).pooled;
  EXPECT_FALSE(at::allclose(a, b))
      << "dropout should make two training passes differ";
  // Dropout zeroes about half of the pooled features.
  const double zero_fraction = (a == 0).to(at::kFloat).mean().item<double>();
  EXPECT_GT(zero_fraction, 0.2);
  EXPECT_LT(zero_fraction, 0.8);
}

// MAX pooling takes the largest activation of each channel of the head map;
// the default averages it (the fixtures' reference).
TEST(EfficientNetTest, GlobalMaxPoolingTakesTheMaximumOfEachChannel) {
  const at::Tensor input = TestTensor("efficientnet/input_batch");
  ASSERT_TRUE(input.defined());
  at::NoGradGuard no_grad;
  EfficientNet average = LoadSmall(SmallConfig(260, "dropout_rate: 0"), true);
  EfficientNet max = LoadSmall(SmallConfig(260, "dropout_rate: 0 global_pooling: MAX"), true);
  average->eval();
  max->eval();
  const BackboneOutput a = average->Forward(input);
  const BackboneOutput m = max->Forward(input);
  ASSERT_TRUE(at::equal(a.head_map, m.head_map));
  const int64_t batch = m.head_map.size(0), channels = m.head_map.size(1);
  ASSERT_EQ(m.pooled.sizes(), (std::vector<int64_t>{batch, channels}));
  const at::Tensor flat = m.head_map.reshape({batch, channels, -1});
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t c = 0; c < channels; c += 7) {
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < flat.size(2); ++i) best = std::max(best, flat[b][c][i].item<float>());
      EXPECT_EQ(m.pooled[b][c].item<float>(), best) << b << "," << c;
    }
  }
  EXPECT_GT((m.pooled - a.pooled).min().item<double>(), 0)
      << "the maximum exceeds the mean wherever a channel is not constant";
}

// `batch_norm_momentum` is the weight of the batch statistic in every
// BatchNorm's running update: from zero running means, one training pass
// leaves momentum × the batch mean, so 0.5 gives 50 times what 0.01 gives.
TEST(EfficientNetTest, BatchNormMomentumSetsRunningStatisticUpdate) {
  const at::Tensor input = TestTensor("efficientnet/input_batch");
  ASSERT_TRUE(input.defined());
  std::map<std::string, at::Tensor> means[2];
  const char* extra[2] = {"dropout_rate: 0 drop_connect_rate: 0",
                          "dropout_rate: 0 drop_connect_rate: 0 "
                          "batch_norm_momentum: 0.5"};
  for (int i = 0; i < 2; ++i) {
    EfficientNet net = LoadSmall(SmallConfig(260, extra[i]), true);
    for (auto& item : net->named_buffers()) {
      if (absl::EndsWith(item.key(), "running_mean")) item.value().zero_();
    }
    net->train();
    at::NoGradGuard no_grad;
    net->Forward(input);
    for (const auto& item : net->named_buffers()) {
      if (absl::EndsWith(item.key(), "running_mean")) {
        means[i][item.key()] = item.value().clone();
      }
    }
  }
  ASSERT_FALSE(means[0].empty());
  for (const char* key : {"_bn0.running_mean", "_blocks.0._bn1.running_mean",
                          "_bn1.running_mean"}) {
    ASSERT_TRUE(means[0].count(key) && means[1].count(key)) << key;
    EXPECT_GT(means[0][key].abs().max().item<double>(), 0) << key;
    EXPECT_TRUE(TensorsClose(means[1][key], means[0][key] * 50, 1e-4)) << key;
  }
}

// Spec table (mammoclip.md §1.3): (before, after) pads of the stride-2 convs.
TEST(EfficientNetTest, StaticPaddingTableOfMammoClipB2AndB5) {
  struct Expect {
    EfficientNetConfig::Variant variant;
    std::vector<std::pair<int64_t, int64_t>>
        pads;  // stages 2, 3, 4, 6 first blocks
  };
  const std::vector<Expect> table = {
      {EfficientNetConfig::B2, {{0, 1}, {2, 2}, {1, 1}, {2, 2}}},
      {EfficientNetConfig::B5, {{0, 1}, {1, 2}, {1, 1}, {2, 2}}},
  };
  for (const Expect& e : table) {
    EfficientNetConfig config;
    config.set_variant(e.variant);
    EfficientNet net(config, true);
    EXPECT_EQ(net->stem_padding(), (Padding2d{0, 1, 0, 1}));
    std::vector<std::pair<int64_t, int64_t>> pads;
    for (const MBConvSpec& s : net->block_specs()) {
      if (s.stride == 2) {
        EXPECT_EQ(s.depthwise_padding.top, s.depthwise_padding.left);
        EXPECT_EQ(s.depthwise_padding.bottom, s.depthwise_padding.right);
        pads.emplace_back(s.depthwise_padding.top, s.depthwise_padding.bottom);
      } else {
        EXPECT_EQ(s.depthwise_padding.top, (s.kernel - 1) / 2);
        EXPECT_TRUE(s.depthwise_padding.symmetric());
      }
    }
    EXPECT_EQ(pads, e.pads) << EfficientNetConfig::Variant_Name(e.variant);
  }
  // The detector copy pads every k3 stride-2 conv (0,1) and every k5 one (1,2).
  EfficientNetConfig config;
  config.set_variant(EfficientNetConfig::B2);
  config.set_padding(EfficientNetConfig::STATIC_GLOBAL);
  for (const MBConvSpec& s :
       EfficientNetBlockSpecs(ResolveEfficientNetConfig(config))) {
    if (s.stride != 2) continue;
    EXPECT_EQ(s.depthwise_padding, s.kernel == 3 ? (Padding2d{0, 1, 0, 1})
                                                 : (Padding2d{1, 2, 1, 2}));
  }
}

// Names, shapes and counts of the real networks against the reference's list.
TEST(EfficientNetTest, RealB2AndB5HaveReferenceNamesShapesAndCounts) {
  struct Case {
    EfficientNetConfig::Variant variant;
    std::string list;
    int64_t params;
    int64_t blocks;
    int64_t dim;
  };
  for (const Case& c :
       {Case{EfficientNetConfig::B2, "b2", 7700994, 23, 1408},
        Case{EfficientNetConfig::B5, "b5", 28340784, 39, 2048}}) {
    SCOPED_TRACE(c.list);
    EfficientNetConfig config;
    config.set_variant(c.variant);
    EfficientNet net(config, true);
    auto expected = testing::ReadParamList(
        TestData("efficientnet/" + c.list + ".params.txt"));
    ASSERT_THAT(expected, core::IsOk());
    NamedTensors state = ModuleStateDict(*net);
    ASSERT_EQ(state.size(), expected->size());
    // LibTorch lists parameters before buffers; compare as sets keyed by name.
    std::map<std::string, std::vector<int64_t>> ours;
    for (const auto& [key, t] : state) ours[key] = t.sizes().vec();
    for (const auto& e : *expected) {
      auto it = ours.find(e.key);
      ASSERT_NE(it, ours.end()) << "missing " << e.key;
      EXPECT_EQ(it->second, e.shape) << e.key;
    }
    int64_t count = 0;
    for (const auto& p : net->parameters()) count += p.numel();
    EXPECT_EQ(count, c.params);
    EXPECT_EQ(static_cast<int64_t>(net->block_specs().size()), c.blocks);
    EXPECT_EQ(net->feature_dim(), c.dim);
  }
}

TEST(EfficientNetTest, FullSizeMammogramGives48By29HeadMap) {
  // B2's padding and depth at 1/10 of its width (the arithmetic of the spatial
  // sizes does not depend on the width; the real width is checked above).
  EfficientNetConfig config = ParseConfig("variant: B2 width_coefficient: 0.1");
  EfficientNet net(config, true);
  net->eval();
  c10::InferenceMode guard;
  BackboneOutput out = net->Forward(at::randn({1, 3, 1520, 912}));
  EXPECT_EQ(out.head_map.sizes(), (std::vector<int64_t>{1, 128, 48, 29}));
  EXPECT_EQ(out.pooled.sizes(), (std::vector<int64_t>{1, 128}));
  // Stage maps at strides 2, 4, 8, 16, 16, 32, 32.
  const std::vector<std::vector<int64_t>> sizes = {
      {760, 456}, {380, 228}, {190, 114}, {95, 57},
      {95, 57},   {48, 29},   {48, 29}};
  ASSERT_EQ(out.maps.size(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(out.maps[i].size(2), sizes[i][0]) << i;
    EXPECT_EQ(out.maps[i].size(3), sizes[i][1]) << i;
  }
}

TEST(EfficientNetTest, ValidateRejectsBadFields) {
  EXPECT_THAT(ValidateEfficientNetConfig(ParseConfig("width_coefficient: 0")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("width_coefficient")));
  EXPECT_THAT(
      ValidateEfficientNetConfig(ParseConfig("dropout_rate: 1.5")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dropout_rate")));
  EXPECT_THAT(ValidateEfficientNetConfig(ParseConfig("tap_blocks: 23")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tap_blocks[0] = 23")));
  EXPECT_THAT(
      ValidateEfficientNetConfig(ParseConfig("variant: VARIANT_UNSPECIFIED")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("variant")));
  EXPECT_THAT(ValidateEfficientNetConfig(ParseConfig("nominal_image_size: -4")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nominal_image_size")));
  for (const char* bad : {"batch_norm_momentum: 0", "batch_norm_momentum: 1.5"}) {
    EXPECT_THAT(ValidateEfficientNetConfig(ParseConfig(bad)),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("batch_norm_momentum")));
  }
  MVL_EXPECT_OK(
      ValidateEfficientNetConfig(ParseConfig("variant: B5 tap_blocks: 38")));
}

TEST(EfficientNetTest, RejectsWrongInputShape) {
  EfficientNet net(SmallConfig(260), true);
  EXPECT_THROW(net->Forward(at::zeros({1, 1, 32, 32})), c10::Error);
  EXPECT_THROW(net->Forward(at::zeros({3, 32, 32})), c10::Error);
}

}  // namespace
}  // namespace mammovl::vision
