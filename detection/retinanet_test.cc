#include "detection/retinanet.h"

#include <torch/torch.h>

#include <google/protobuf/text_format.h>

#include "absl/strings/str_cat.h"

#include "core/proto_config.h"
#include "core/status_matchers.h"
#include "detection/detector_config.pb.h"
#include "detection/retinanet_loss.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::detection {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

RetinaNetConfig SmallConfig() {
  RetinaNetConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    encoder { resnet { depth: RESNET18 base_width: 8 } }
    feature_maps: [ 1, 2, 3 ]
    fpn { out_channels: 16 extra_levels: CONV_P6P7 }
    head { feature_size: 16 num_convs: 1 }
    classes: "Mass"
    classes: "Suspicious Calcification"
  )pb", &config));
  return config;
}

TEST(RetinaNetTest, ShapesMatchTheAnchorsOfThePyramid) {
  torch::manual_seed(0);
  MVL_ASSERT_OK_AND_ASSIGN(RetinaNet model, BuildRetinaNet(SmallConfig()));
  model->SetTraining(false);
  torch::NoGradGuard no_grad;
  // 96 x 64: levels 3..7 have 12x8, 6x4, 3x2, 2x1, 1x1 locations, 9 anchors each.
  RetinaNetOutput out = model->forward(torch::randn({2, 3, 96, 64}));
  const int64_t anchors = 9 * (96 + 24 + 6 + 2 + 1);
  EXPECT_EQ(out.anchors.sizes(), (std::vector<int64_t>{anchors, 4}));
  EXPECT_EQ(out.classification.sizes(), (std::vector<int64_t>{2, anchors, 2}));
  EXPECT_EQ(out.regression.sizes(), (std::vector<int64_t>{2, anchors, 4}));
  // Heads start at the prior probability and zero deltas.
  EXPECT_TRUE(torch::allclose(out.classification, torch::full_like(out.classification, 0.01),
                              1e-5, 1e-6));
  EXPECT_EQ(out.regression.abs().max().item<float>(), 0.0f);
  // Nothing scores above the default 0.05 threshold: no detections, no error.
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ImageDetections> d, model->Detect(out, 96, 64));
  ASSERT_EQ(d.size(), 2u);
  EXPECT_TRUE(d[0].boxes.empty());
}

TEST(RetinaNetTest, FrozenBackboneAndFrozenBatchNorm) {
  RetinaNetConfig config = SmallConfig();
  config.set_backbone_mode(RetinaNetConfig::FROZEN);
  config.set_backbone_batch_norm(RetinaNetConfig::BATCH_NORM_FROZEN);
  MVL_ASSERT_OK_AND_ASSIGN(RetinaNet model, BuildRetinaNet(config));
  for (const auto& p : model->named_parameters()) {
    EXPECT_EQ(p.value().requires_grad(), p.key().rfind("encoder.", 0) != 0) << p.key();
  }
  at::Tensor running_mean;
  for (const auto& b : model->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) {
      running_mean = b.value();
      break;
    }
  }
  ASSERT_TRUE(running_mean.defined());
  const at::Tensor before = running_mean.clone();
  model->SetTraining(true);
  RetinaNetOutput out = model->forward(torch::randn({2, 3, 64, 64}) * 3 + 1);
  EXPECT_TRUE(torch::equal(before, running_mean));

  // The loss trains the heads and FPN only.
  ImageTargets t;
  t.boxes = torch::tensor({{8.f, 8.f, 40.f, 40.f}});
  t.labels = torch::tensor({int64_t{0}});
  ImageTargets empty{torch::zeros({0, 4}), torch::zeros({0}, torch::kInt64)};
  MVL_ASSERT_OK_AND_ASSIGN(RetinaLoss loss,
                           ComputeRetinaLoss(out.classification, out.regression, out.anchors,
                                             {t, empty}, config.loss(), config.assigner(),
                                             config.box_coder()));
  EXPECT_TRUE(std::isfinite(loss.total.item<double>()));
  loss.total.backward();
  for (const auto& p : model->named_parameters()) {
    if (p.key().rfind("classificationModel.", 0) == 0) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
    }
    if (p.key().rfind("encoder.", 0) == 0) {
      EXPECT_FALSE(p.value().grad().defined()) << p.key();
    }
  }

  // BATCH_NORM_TRAIN updates the statistics (the reference's behaviour).
  config.set_backbone_batch_norm(RetinaNetConfig::BATCH_NORM_TRAIN);
  MVL_ASSERT_OK_AND_ASSIGN(RetinaNet trained_bn, BuildRetinaNet(config));
  at::Tensor mean2;
  for (const auto& b : trained_bn->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) {
      mean2 = b.value();
      break;
    }
  }
  const at::Tensor before2 = mean2.clone();
  trained_bn->SetTraining(true);
  trained_bn->forward(torch::randn({2, 3, 64, 64}) * 3 + 1);
  EXPECT_FALSE(torch::equal(before2, mean2));
}

// The reference configs' Mammo-CLIP architectures (EfficientNet taps, head
// map, RetinaNet FPN with upsampled laterals) build and give the pyramid
// the anchors expect: strides 8..128.
TEST(RetinaNetTest, ReferenceArchitecturesBuild) {
  for (const char* name : {"vindr_mass_b2_finetune", "vindr_mass_b5_frozen"}) {
    SCOPED_TRACE(name);
    DetectorPipelineConfig pipeline;
    MVL_ASSERT_OK(core::LoadConfig(absl::StrCat("configs/detector/", name, ".pbtxt"), {},
                                   &pipeline));
    RetinaNetConfig config = pipeline.model();
    config.mutable_encoder()->clear_checkpoint();  // random weights
    MVL_ASSERT_OK_AND_ASSIGN(RetinaNet model, BuildRetinaNet(config));
    model->SetTraining(false);
    torch::NoGradGuard no_grad;
    RetinaNetOutput out = model->forward(torch::randn({1, 3, 128, 128}));
    // Levels 3..7 on 128 x 128: 16², 8², 4², 2², 1² locations x 9 anchors.
    EXPECT_EQ(out.anchors.size(0), 9 * (256 + 64 + 16 + 4 + 1));
    EXPECT_EQ(out.classification.sizes(), (std::vector<int64_t>{1, out.anchors.size(0), 1}));
    EXPECT_EQ(model->encoder()->parameters()[0].requires_grad(),
              config.backbone_mode() == RetinaNetConfig::FINE_TUNE);
  }
}

TEST(RetinaNetTest, ValidationNamesTheField) {
  RetinaNetConfig config = SmallConfig();
  config.clear_encoder();
  EXPECT_THAT(BuildRetinaNet(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model.encoder")));
  config = SmallConfig();
  config.mutable_fpn()->set_extra_levels(mammovl::vision::FpnConfig::NONE);
  EXPECT_THAT(BuildRetinaNet(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pyramid_levels")));
  config = SmallConfig();
  config.clear_feature_maps();
  EXPECT_THAT(BuildRetinaNet(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("feature_maps")));
  config = SmallConfig();
  config.mutable_encoder()->clear_resnet();
  config.mutable_encoder()->mutable_vit();
  EXPECT_THAT(BuildRetinaNet(config), StatusIs(absl::StatusCode::kUnimplemented));
}

}  // namespace
}  // namespace mammovl::detection
