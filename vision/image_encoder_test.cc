#include "vision/image_encoder.h"

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
#include "vision/testing/fixtures.h"

namespace mammovl::vision {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::TensorsClose;
using testing::TestData;
using testing::TestTensor;

const auto Parse = &testing::ParseTextProto<VisionConfig>;

// The small B2-like EfficientNet inside the Mammo-CLIP-layout checkpoint,
// with its 192 → 16 linear projection.
// `efficientnet_extra` / `checkpoint_extra` are merged over the defaults.
VisionConfig MammoClipConfig(const std::string& efficientnet_extra = "",
                             const std::string& checkpoint_extra = "") {
  VisionConfig config = Parse(
      "efficientnet { width_coefficient: 0.15 depth_coefficient: 0.5 "
      "dropout_rate: 0.3 "
      "nominal_image_size: 260 } "
      "projection { linear { output_dim: 16 } } "
      "checkpoint { path: '" +
      TestData("checkpoints/mammoclip_b2s.tar") + "' }");
  EXPECT_TRUE(google::protobuf::TextFormat::MergeFromString(
      efficientnet_extra, config.mutable_efficientnet()));
  EXPECT_TRUE(google::protobuf::TextFormat::MergeFromString(
      checkpoint_extra, config.mutable_checkpoint()));
  return config;
}

EncoderOutput RunEncoder(ImageEncoder& encoder, const at::Tensor& x,
                         bool inference) {
  if (!inference) return encoder->forward(x);
  c10::InferenceMode guard;
  return encoder->forward(x);
}

TEST(ImageEncoderTest, LoadsMammoClipTarEndToEnd) {
  MVL_ASSERT_OK_AND_ASSIGN(ImageEncoder encoder,
                           BuildImageEncoder((MammoClipConfig())));
  encoder->eval();
  EXPECT_EQ(encoder->embedding_dim(), 16);
  const at::Tensor x = TestTensor("efficientnet/input_mammo");
  for (bool inference : {true, false}) {
    EncoderOutput out = RunEncoder(encoder, x, inference);
    EXPECT_TRUE(TensorsClose(
        out.embedding, TestTensor("checkpoints/mammoclip_b2s.embedding")));
    EXPECT_TRUE(TensorsClose(out.features.pooled,
                             TestTensor("efficientnet/b2pad_mammo.pooled")));
    EXPECT_TRUE(TensorsClose(out.features.head_map,
                             TestTensor("efficientnet/b2pad_mammo.head_map")));
  }
}

TEST(ImageEncoderTest, LoadsMamaLightningCheckpointEndToEnd) {
  const VisionConfig config = Parse(
      "vit { embed_dim: 32 depth: 2 num_heads: 2 pos_embed_grid: 5 } "
      "projection { linear { output_dim: 16 } } "
      "local_projection { hidden_dim: 24 output_dim: 16 } "
      "checkpoint { path: '" +
      TestData("checkpoints/mama_vits.ckpt") +
      "' "
      "backbone_prefix: 'img_encoder_q.model.' "
      "projection_prefix: 'img_encoder_q.global_embed.' "
      "local_projection_prefix: 'img_encoder_q.local_embed.' }");
  MVL_ASSERT_OK_AND_ASSIGN(ImageEncoder encoder, BuildImageEncoder(config));
  encoder->eval();
  const at::Tensor x = TestTensor("vit/input_mammo");
  for (bool inference : {true, false}) {
    EncoderOutput out = RunEncoder(encoder, x, inference);
    EXPECT_TRUE(TensorsClose(out.embedding,
                             TestTensor("checkpoints/mama_vits.embedding")));
    EXPECT_TRUE(
        TensorsClose(out.local_embedding,
                     TestTensor("checkpoints/mama_vits.local_embedding")));
    EXPECT_TRUE(TensorsClose(out.features.pooled,
                             TestTensor("vit/dinov2s_mammo.pooled")));
  }
}

// The Mammo-CLIP checkpoint's tensors, whole-model names.
NamedTensors MammoClipState() {
  auto state = core::LoadStateDict(TestData("checkpoints/mammoclip_b2s.tar"));
  EXPECT_THAT(state, core::IsOk());
  return state.ok() ? *state : NamedTensors();
}

ImageEncoder BuildUnloaded(VisionConfig config) {
  config.clear_checkpoint();
  auto encoder = BuildImageEncoder(config);
  EXPECT_THAT(encoder, core::IsOk());
  return *encoder;
}

TEST(ImageEncoderTest, WrongShapeNamesKeyFileAndBothShapes) {
  NamedTensors state = MammoClipState();
  for (auto& [key, t] : state) {
    if (key == "image_encoder._blocks.3._bn1.weight") t = at::ones({40});
  }
  const VisionConfig config = MammoClipConfig();
  ImageEncoder encoder = BuildUnloaded(config);
  EXPECT_THAT(
      LoadImageEncoderWeights(encoder, state, config.checkpoint(), "'b2.tar'"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("'b2.tar' (prefix 'image_encoder.')"),
                     HasSubstr("'_blocks.3._bn1.weight' has shape [40] in the "
                               "checkpoint, the model expects [48]"))));
  // The projection head too: 16-d in the file, 32-d here.
  VisionConfig wide = MammoClipConfig();
  wide.mutable_projection()->mutable_linear()->set_output_dim(32);
  EXPECT_THAT(
      BuildImageEncoder(wide),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          AllOf(
              HasSubstr(
                  "mammoclip_b2s.tar' (prefix 'image_projection.projection.')"),
              HasSubstr("'weight' has shape [16, 192] in the checkpoint, the "
                        "model expects [32, 192]"))));
}

TEST(ImageEncoderTest, StrictLoadingListsMissingAndUnexpectedKeys) {
  NamedTensors state;
  for (const auto& [key, t] : MammoClipState()) {
    if (key != "image_encoder._blocks.4._se_reduce.bias")
      state.emplace_back(key, t);
  }
  state.emplace_back("image_encoder._fc.weight", at::zeros({1, 192}));
  const VisionConfig config = MammoClipConfig();
  ImageEncoder encoder = BuildUnloaded(config);
  EXPECT_THAT(
      LoadImageEncoderWeights(encoder, state, config.checkpoint(), "'b2.tar'"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("1 missing key(s): _blocks.4._se_reduce.bias"),
                     HasSubstr("1 unexpected key(s): _fc.weight"))));
  // Non-strict: loads the rest and keeps the missing tensor's initial value.
  CheckpointConfig lenient = config.checkpoint();
  lenient.set_strict(false);
  MVL_EXPECT_OK(LoadImageEncoderWeights(encoder, state, lenient, "'b2.tar'"));
  // A headless network (FPN-MIL's copy) does not know the head tensors...
  EXPECT_THAT(BuildImageEncoder(MammoClipConfig("include_head: false")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("6 unexpected key(s)"),
                             HasSubstr("_conv_head.weight"),
                             HasSubstr("_bn1.running_mean"))));
  // ...unless they are declared ignorable (the embedding is then 48-d).
  const std::string headless =
      "efficientnet { width_coefficient: 0.15 depth_coefficient: 0.5 "
      "include_head: false } "
      "checkpoint { path: '" +
      TestData("checkpoints/mammoclip_b2s.tar") +
      "' ignore_unexpected: ['_conv_head.', '_bn1.'] }";
  MVL_ASSERT_OK_AND_ASSIGN(ImageEncoder headless_encoder,
                           BuildImageEncoder(Parse(headless)));
  EXPECT_EQ(headless_encoder->embedding_dim(), 48);
}

TEST(ImageEncoderTest, WrongPrefixShowsTheFilesKeys) {
  EXPECT_THAT(
      BuildImageEncoder((MammoClipConfig("", "backbone_prefix: 'visual.'"))),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          AllOf(HasSubstr("no tensors under the backbone prefix 'visual.'"),
                HasSubstr("image_encoder._conv_stem.weight"))));
  EXPECT_THAT(BuildImageEncoder(
                  (MammoClipConfig("", "projection_prefix: 'image_proj.'"))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no projection head tensors")));
  // Backbone only.
  MVL_EXPECT_OK(BuildImageEncoder((MammoClipConfig(
      "", "projection_prefix: 'image_proj.' load_projection: false"))));
}

TEST(ImageEncoderTest, MissingFileIsReported) {
  VisionConfig config = (MammoClipConfig());
  config.mutable_checkpoint()->set_path("/nonexistent/b2.tar");
  auto encoder = BuildImageEncoder(config);
  ASSERT_FALSE(encoder.ok());
  EXPECT_THAT(std::string(encoder.status().message()),
              HasSubstr("/nonexistent/b2.tar"));
}

TEST(ImageEncoderTest, WithoutHeadsTheEmbeddingIsThePooledFeature) {
  MVL_ASSERT_OK_AND_ASSIGN(
      ImageEncoder encoder,
      BuildImageEncoder(Parse(
          "resnet { depth: RESNET18 base_width: 8 } channels_last: false")));
  encoder->eval();
  c10::InferenceMode guard;
  EncoderOutput out = encoder->forward(at::randn({2, 3, 64, 64}));
  EXPECT_TRUE(out.embedding.is_same(out.features.pooled));
  EXPECT_FALSE(out.local_embedding.defined());
  EXPECT_EQ(encoder->embedding_dim(), 64);
}

TEST(ImageEncoderTest, LoadsTensorsFromMemoryWithCustomPrefixes) {
  // A torchvision-style file: backbone keys at the root, a classifier `fc.`
  // used as the projection (MedCLIP's ResNet fc without bias).
  MVL_ASSERT_OK_AND_ASSIGN(
      ImageEncoder source,
      BuildImageEncoder(
          Parse("resnet { depth: RESNET18 base_width: 8 } "
                "projection { linear { output_dim: 5 bias: false } }")));
  NamedTensors state;
  for (const auto& [k, t] : ModuleStateDict(source->backbone()))
    state.emplace_back(k, t * 0 + 0.5);
  state.emplace_back("fc.weight", at::full({5, 64}, 0.25));
  MVL_ASSERT_OK_AND_ASSIGN(
      ImageEncoder target,
      BuildImageEncoder(
          Parse("resnet { depth: RESNET18 base_width: 8 } "
                "projection { linear { output_dim: 5 bias: false } }")));
  CheckpointConfig checkpoint;
  checkpoint.set_backbone_prefix("");
  checkpoint.set_projection_prefix("fc.");
  MVL_ASSERT_OK(LoadImageEncoderWeights(target, state, checkpoint, "memory"));
  EXPECT_TRUE(
      at::allclose(target->projection()->weight, at::full({5, 64}, 0.25)));
  for (const auto& [k, t] : ModuleStateDict(target->backbone())) {
    if (t.is_floating_point())
      EXPECT_TRUE(at::allclose(t, at::full_like(t, 0.5))) << k;
  }
}

TEST(ImageEncoderTest, ValidateRejectsBadConfigs) {
  EXPECT_THAT(ValidateVisionConfig(VisionConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no backbone selected")));
  EXPECT_THAT(
      ValidateVisionConfig(Parse("efficientnet {} local_projection {}")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("local_projection")));
  EXPECT_THAT(ValidateVisionConfig(Parse("vit {} checkpoint { }")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("checkpoint.path")));
  EXPECT_THAT(
      ValidateVisionConfig(Parse("vit { num_heads: 5 }")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vit.embed_dim")));
  EXPECT_THAT(
      ValidateVisionConfig(Parse("resnet {} projection { }")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("projection")));
  MVL_EXPECT_OK(ValidateVisionConfig(
      Parse("resnet {} projection { bn_mlp {} } local_projection {}")));
}

}  // namespace
}  // namespace mammovl::vision
