// GPU parity of the image encoders: EfficientNet (Mammo-CLIP), ResNet (MGCA)
// and ViT (MaMA) in small configurations with the same random weights on the
// CPU and on the first CUDA device, float32 with TF32 off. The embedding,
// pooled feature and local tokens of a forward pass in eval mode, and the
// gradients of every parameter of a training-mode backward (dropout off),
// agree within kRel of each tensor's scale (reduction order and cuDNN
// algorithms differ, arithmetic does not).
//
// Runs on the GPU machine (tag "gpu"); without a CUDA device each test fails
// saying so. //tools/device:gpu_tests_build_test builds and lists it in the
// CPU suite.
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "core/status_matchers.h"
#include "gtest/gtest.h"
#include "tools/device/gpu_testing.h"
#include "vision/image_encoder.h"
#include "vision/testing/fixtures.h"

namespace mammovl::vision {
namespace {

constexpr double kRel = 1e-4;

struct Case {
  std::string name;
  std::string config;  // VisionConfig text proto
  int64_t image_size;
};

std::vector<Case> Cases() {
  return {
      {"efficientnet",
       "efficientnet { width_coefficient: 0.15 depth_coefficient: 0.5 "
       "nominal_image_size: 64 dropout_rate: 0 drop_connect_rate: 0 } "
       "projection { linear { output_dim: 16 } }",
       64},
      {"resnet",
       "resnet { depth: RESNET18 base_width: 8 } "
       "projection { linear { output_dim: 16 } } channels_last: false",
       64},
      {"vit",
       "vit { embed_dim: 32 depth: 2 num_heads: 2 pos_embed_grid: 5 } "
       "projection { linear { output_dim: 16 } } "
       "local_projection { hidden_dim: 24 output_dim: 16 }",
       70},
  };
}

class VisionGpuParityTest : public ::testing::TestWithParam<Case> {};

TEST_P(VisionGpuParityTest, CpuAndGpuAgree) {
  ASSERT_TRUE(device::PrepareGpuForParity());
  const VisionConfig config =
      testing::ParseTextProto<VisionConfig>(GetParam().config);
  at::manual_seed(7);
  MVL_ASSERT_OK_AND_ASSIGN(ImageEncoder cpu, BuildImageEncoder(config));
  MVL_ASSERT_OK_AND_ASSIGN(ImageEncoder gpu, BuildImageEncoder(config));
  // Same weights and buffers on both.
  {
    at::NoGradGuard no_grad;
    auto src = cpu->named_parameters();
    auto dst = gpu->named_parameters();
    for (const auto& item : src) dst[item.key()].copy_(item.value());
    auto src_b = cpu->named_buffers();
    auto dst_b = gpu->named_buffers();
    for (const auto& item : src_b) dst_b[item.key()].copy_(item.value());
  }
  gpu->to(at::Device(at::kCUDA, 0));
  const int64_t s = GetParam().image_size;
  const at::Tensor images = at::randn({2, 3, s, s});

  cpu->eval();
  gpu->eval();
  {
    at::NoGradGuard no_grad;
    EncoderOutput a = cpu->forward(images);
    EncoderOutput b = gpu->forward(images.cuda());
    EXPECT_TRUE(b.embedding.is_cuda());
    EXPECT_TRUE(testing::TensorsClose(b.embedding.cpu(), a.embedding, kRel))
        << "embedding";
    EXPECT_TRUE(
        testing::TensorsClose(b.features.pooled.cpu(), a.features.pooled, kRel))
        << "pooled";
    if (a.local_embedding.defined()) {
      EXPECT_TRUE(testing::TensorsClose(b.local_embedding.cpu(),
                                        a.local_embedding, kRel))
          << "local_embedding";
    }
  }

  // Training mode: batch-norm statistics from the batch; the configs turn
  // dropout and drop-connect off, so both devices compute the same function.
  cpu->train();
  gpu->train();
  for (auto& p : cpu->parameters()) p.mutable_grad() = at::Tensor();
  for (auto& p : gpu->parameters()) p.mutable_grad() = at::Tensor();
  cpu->forward(images).features.pooled.square().sum().backward();
  gpu->forward(images.cuda()).features.pooled.square().sum().backward();
  auto gpu_params = gpu->named_parameters();
  int compared = 0;
  for (const auto& item : cpu->named_parameters()) {
    const at::Tensor& ga = item.value().grad();
    const at::Tensor& gb = gpu_params[item.key()].grad();
    ASSERT_EQ(ga.defined(), gb.defined()) << item.key();
    if (!ga.defined()) continue;
    EXPECT_TRUE(testing::TensorsClose(gb.cpu(), ga, kRel))
        << "d/d " << item.key();
    ++compared;
  }
  EXPECT_GT(compared, 0);
}

INSTANTIATE_TEST_SUITE_P(AllEncoders, VisionGpuParityTest,
                         ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace mammovl::vision
