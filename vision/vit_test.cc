#include "vision/vit.h"

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

const auto ParseConfig = &testing::ParseTextProto<VitConfig>;

// The fixtures' DINOv2: dim 32, 2 blocks, 2 heads, patch 14, 4 registers,
// position table for a 5×5 grid (70×70).
constexpr char kSmallDino[] =
    "embed_dim: 32 depth: 2 num_heads: 2 pos_embed_grid: 5 ";

// The small DINOv2 sits inside the MaMA-layout Lightning checkpoint.
constexpr char kDino[] = "checkpoints/mama_vits.ckpt";
constexpr char kDinoPrefix[] = "img_encoder_q.model.";

VisionTransformer Load(const VitConfig& config, const std::string& weights,
                       const std::string& prefix = kDinoPrefix) {
  EXPECT_THAT(ValidateVitConfig(config), core::IsOk());
  VisionTransformer vit(config);
  auto tensors = core::LoadStateDict(TestData(weights), prefix);
  EXPECT_THAT(tensors, core::IsOk());
  EXPECT_THAT(LoadModuleWeights(*vit, *tensors, {}), core::IsOk());
  vit->eval();
  return vit;
}

void ExpectCase(VisionTransformer& vit, const std::string& case_name,
                const std::string& input, bool registers, bool attention) {
  at::Tensor x = TestTensor("vit/input_" + input);
  for (bool inference : {true, false}) {
    SCOPED_TRACE(inference ? "InferenceMode" : "grad mode");
    BackboneOutput out;
    if (inference) {
      c10::InferenceMode guard;
      out = vit->Forward(x);
    } else {
      out = vit->Forward(x);
    }
    EXPECT_TRUE(TensorsClose(out.prenorm_tokens,
                             TestTensor("vit/" + case_name + ".prenorm")));
    EXPECT_TRUE(
        TensorsClose(out.cls_token, TestTensor("vit/" + case_name + ".cls")));
    EXPECT_TRUE(
        TensorsClose(out.local, TestTensor("vit/" + case_name + ".local")));
    EXPECT_TRUE(
        TensorsClose(out.pooled, TestTensor("vit/" + case_name + ".pooled")));
    if (registers)
      EXPECT_TRUE(TensorsClose(out.register_tokens,
                               TestTensor("vit/" + case_name + ".reg")));
    ASSERT_EQ(out.block_outputs.size(), 2u);
    for (int i = 0; i < 2; ++i) {
      EXPECT_TRUE(TensorsClose(
          out.block_outputs[i],
          TestTensor("vit/" + case_name + ".block" + std::to_string(i))))
          << "block " << i;
    }
    if (attention)
      EXPECT_TRUE(TensorsClose(out.last_attention,
                               TestTensor("vit/" + case_name + ".attention")));
    EXPECT_EQ(out.grid_rows * out.grid_cols, out.local.size(1));
    EXPECT_EQ(
        out.grid_rows *
                vit->PositionEmbedding(out.grid_rows, out.grid_cols).size(1) *
                0 +
            out.grid_rows,
        x.size(2) / (registers ? 14 : 16));
  }
}

TEST(VitTest, DinoV2WithRegistersOnTrainedGrid) {
  VisionTransformer vit =
      Load(ParseConfig(std::string(kSmallDino) + "return_block_outputs: true"),
           kDino);
  ExpectCase(vit, "dinov2s_square", "square", true, false);
}

TEST(VitTest, DinoV2InterpolatesPositionsForMammogramAspect) {
  // 140×84 = the 1520×912 aspect: a 10×6 grid from the 5×5 table (bicubic,
  // antialias).
  VisionTransformer vit =
      Load(ParseConfig(std::string(kSmallDino) + "return_block_outputs: true"),
           kDino);
  ExpectCase(vit, "dinov2s_mammo", "mammo", true, false);
  ExpectCase(vit, "dinov2s_tall", "tall", true, false);
}

TEST(VitTest, DinoV2HubInterpolationWithOffset) {
  VisionTransformer vit =
      Load(ParseConfig(std::string(kSmallDino) +
                       "return_block_outputs: true interpolate_antialias: "
                       "false interpolate_offset: 0.1"),
           kDino);
  ExpectCase(vit, "dinov2s_hub_mammo", "mammo", true, false);
}

TEST(VitTest, MgcaVitB16WithClsPoolingAndLastAttention) {
  VisionTransformer vit = Load(
      ParseConfig("patch_size: 16 embed_dim: 32 depth: 2 num_heads: 2 "
                  "pos_embed_grid: 4 "
                  "num_register_tokens: 0 layer_scale: false mask_token: false "
                  "pooling: CLS "
                  "return_last_attention: true return_block_outputs: true"),
      "vit/vit16s.pt", "");
  ExpectCase(vit, "vit16s", "vit16s", false, true);
}

TEST(VitTest, MeanPatchPoolingAveragesNormalisedPatchTokens) {
  VisionTransformer vit =
      Load(ParseConfig(std::string(kSmallDino) + "pooling: MEAN_PATCH"), kDino);
  c10::InferenceMode guard;
  BackboneOutput out = vit->Forward(TestTensor("vit/input_mammo"));
  EXPECT_TRUE(
      TensorsClose(out.pooled, TestTensor("vit/dinov2s_mammo.local").mean(1)));
}

// Gradients through the checkpointed segments equal the reference's.
TEST(VitTest, GradientCheckpointingGivesReferenceGradients) {
  for (int segments : {0, 2}) {
    SCOPED_TRACE("segments " + std::to_string(segments));
    VitConfig config = ParseConfig(
        std::string(kSmallDino) +
        "gradient_checkpointing_segments: " + std::to_string(segments));
    VisionTransformer vit = Load(config, kDino);
    vit->train();
    at::Tensor x = TestTensor("vit/input_mammo").requires_grad_(true);
    vit->Forward(x).pooled.sum().backward();
    EXPECT_TRUE(TensorsClose(x.grad(),
                             TestTensor("vit/dinov2s_grad.grad_input"), 1e-4));
    EXPECT_TRUE(TensorsClose(vit->pos_embed.grad(),
                             TestTensor("vit/dinov2s_grad.grad_pos_embed"),
                             1e-4));
    for (const auto& item : vit->named_parameters()) {
      if (item.key() == "blocks.0.attn.qkv.weight") {
        EXPECT_TRUE(TensorsClose(item.value().grad(),
                                 TestTensor("vit/dinov2s_grad.grad_qkv0"),
                                 1e-4));
      }
    }
  }
}

TEST(VitTest, CheckpointedParametersGetGradientsWhenInputNeedsNone) {
  // A frozen patch embedding and a plain input: blocks inside checkpointed
  // segments must still receive gradients.
  VitConfig config = ParseConfig(std::string(kSmallDino) +
                                 "gradient_checkpointing_segments: 2");
  VisionTransformer vit = Load(config, kDino);
  vit->train();
  vit->cls_token.requires_grad_(false);
  vit->pos_embed.requires_grad_(false);
  vit->register_tokens.requires_grad_(false);
  for (auto& p : vit->named_parameters()) {
    if (p.key().rfind("patch_embed.", 0) == 0) p.value().requires_grad_(false);
  }
  vit->Forward(TestTensor("vit/input_square")).pooled.sum().backward();
  for (const auto& item : vit->named_parameters()) {
    if (item.key() == "blocks.0.mlp.fc1.weight") {
      ASSERT_TRUE(item.value().grad().defined());
      EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0);
    }
  }
}

TEST(VitTest, RealVitsHaveReferenceNamesShapesAndCounts) {
  struct Case {
    std::string config, list;
    int64_t params;
  };
  for (const Case& c : {Case{"", "dinov2_vitb14_reg4", 86583552},
                        Case{"patch_size: 16 pos_embed_grid: 14 "
                             "num_register_tokens: 0 layer_scale: false "
                             "mask_token: false",
                             "vit_b16", 0}}) {
    SCOPED_TRACE(c.list);
    VisionTransformer vit(ParseConfig(c.config));
    auto expected =
        testing::ReadParamList(TestData("vit/" + c.list + ".params.txt"));
    ASSERT_THAT(expected, core::IsOk());
    std::map<std::string, std::vector<int64_t>> ours;
    for (const auto& [key, t] : ModuleStateDict(*vit))
      ours[key] = t.sizes().vec();
    EXPECT_EQ(ours.size(), expected->size());
    int64_t reference_count = 0;
    for (const auto& e : *expected) {
      auto it = ours.find(e.key);
      ASSERT_NE(it, ours.end()) << "missing " << e.key;
      EXPECT_EQ(it->second, e.shape) << e.key;
      int64_t n = 1;
      for (int64_t s : e.shape) n *= s;
      reference_count += n;
    }
    int64_t count = 0;
    for (const auto& [key, t] : ModuleStateDict(*vit)) count += t.numel();
    EXPECT_EQ(count, reference_count);
    if (c.params > 0) EXPECT_EQ(count, c.params);
  }
}

TEST(VitTest, Dinov2At518Gives1374Tokens) {
  VitConfig config = ParseConfig("embed_dim: 24 depth: 1 num_heads: 2");
  VisionTransformer vit(config);
  vit->eval();
  c10::InferenceMode guard;
  BackboneOutput out = vit->Forward(at::randn({1, 3, 518, 518}));
  EXPECT_EQ(out.prenorm_tokens.sizes(), (std::vector<int64_t>{1, 1374, 24}));
  EXPECT_EQ(out.local.sizes(), (std::vector<int64_t>{1, 1369, 24}));
  EXPECT_EQ(out.register_tokens.sizes(), (std::vector<int64_t>{1, 4, 24}));
}

TEST(VitTest, RejectsInputsThatAreNotPatchMultiples) {
  VisionTransformer vit(ParseConfig(kSmallDino));
  EXPECT_THROW(vit->Forward(at::zeros({1, 3, 100, 60})), c10::Error);
  EXPECT_THROW(vit->Forward(at::zeros({1, 1, 70, 70})), c10::Error);
}

TEST(VitTest, ValidateRejectsBadFields) {
  EXPECT_THAT(
      ValidateVitConfig(ParseConfig("embed_dim: 30 num_heads: 4")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("divisible")));
  EXPECT_THAT(ValidateVitConfig(ParseConfig("patch_size: 0")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("vit.patch_size")));
  EXPECT_THAT(
      ValidateVitConfig(ParseConfig("gradient_checkpointing_segments: 13")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("gradient_checkpointing")));
  EXPECT_THAT(
      ValidateVitConfig(ParseConfig("gradient_checkpointing_segments: 4 "
                                    "return_block_outputs: true")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("return_block_outputs")));
  EXPECT_THAT(
      ValidateVitConfig(ParseConfig("pooling: POOLING_UNSPECIFIED")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pooling")));
  MVL_EXPECT_OK(ValidateVitConfig(VitConfig()));
}

}  // namespace
}  // namespace mammovl::vision
