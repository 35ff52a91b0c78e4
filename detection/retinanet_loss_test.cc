#include "detection/retinanet_loss.h"

#include <vector>

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "absl/status/status.h"
#include "core/status_matchers.h"
#include "detection/testing/fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::detection {
namespace {

using ::mammovl::core::StatusIs;
using ::mammovl::detection::testing::Fixture;
using ::mammovl::detection::testing::TensorsNear;
using ::testing::HasSubstr;

// The fixture's padded [B, 3, 5] targets (label -1 = padding).
std::vector<ImageTargets> FixtureTargets() {
  const at::Tensor padded = Fixture("loss_targets");
  std::vector<ImageTargets> out;
  for (int64_t i = 0; i < padded.size(0); ++i) {
    const at::Tensor rows = padded[i];
    const at::Tensor keep = rows.select(1, 4).ne(-1).nonzero().squeeze(1);
    const at::Tensor r = rows.index_select(0, keep);
    out.push_back({r.slice(1, 0, 4).contiguous(), r.select(1, 4).to(at::kLong)});
  }
  return out;
}

struct LossRun {
  double cls = 0, reg = 0;
  at::Tensor cls_grad, reg_grad;
};

LossRun RunLoss(const RetinaLossConfig& config) {
  const at::Tensor cls = Fixture("loss_cls").clone().set_requires_grad(true);
  const at::Tensor reg = Fixture("loss_reg").clone().set_requires_grad(true);
  absl::StatusOr<RetinaLoss> loss =
      ComputeRetinaLoss(cls, reg, Fixture("loss_anchors"), FixtureTargets(), config,
                        AssignerConfig(), BoxCoderConfig());
  EXPECT_TRUE(loss.ok()) << loss.status();
  if (!loss.ok()) return {};
  loss->total.backward();
  return {loss->classification.item<double>(), loss->regression.item<double>(),
          cls.grad(), reg.grad()};
}

TEST(RetinaLossTest, MatchesReferenceValuesAndGradients) {
  const at::Tensor expected = Fixture("loss_values");
  const LossRun run = RunLoss(RetinaLossConfig());
  EXPECT_NEAR(run.cls, expected[0][0].item<double>(), 1e-6);
  EXPECT_NEAR(run.reg, expected[0][1].item<double>(), 1e-6);
  EXPECT_TRUE(TensorsNear(run.cls_grad, Fixture("loss_cls_grad"), 1e-6));
  EXPECT_TRUE(TensorsNear(run.reg_grad, Fixture("loss_reg_grad"), 1e-6));
}

TEST(RetinaLossTest, OtherAlphaGammaAndFocalOnNegativeImages) {
  RetinaLossConfig config;
  config.set_alpha(0.6);
  config.set_gamma(1.5);
  config.set_negative_image_loss(RetinaLossConfig::NEGATIVE_IMAGE_FOCAL);
  const at::Tensor expected = Fixture("loss_values");
  const LossRun run = RunLoss(config);
  EXPECT_NEAR(run.cls, expected[1][0].item<double>(), 1e-6);
  EXPECT_NEAR(run.reg, expected[1][1].item<double>(), 1e-6);
  EXPECT_TRUE(TensorsNear(run.cls_grad, Fixture("loss_cls_grad_alt"), 1e-6));
}

TEST(RetinaLossTest, AssignmentMatchesReference) {
  const at::Tensor anchors = Fixture("loss_anchors");
  const std::vector<ImageTargets> targets = FixtureTargets();
  const at::Tensor expected = Fixture("loss_assignment");
  const int images[] = {0, 2, 3};
  for (int k = 0; k < 3; ++k) {
    const AnchorAssignment a =
        AssignAnchors(anchors, targets[images[k]].boxes, AssignerConfig());
    EXPECT_TRUE(at::equal(a.matched, expected[k])) << "image " << images[k];
    EXPECT_EQ(a.num_positive, expected[k].ge(0).sum().item<int64_t>());
  }
  // The 2x1 box of image 3 reaches IoU 0.5 with no anchor.
  EXPECT_EQ(AssignAnchors(anchors, targets[3].boxes, AssignerConfig()).num_positive, 0);
}

TEST(RetinaLossTest, EmptyImagesAndDegenerateBoxes) {
  const at::Tensor anchors = Fixture("loss_anchors");
  const int64_t a = anchors.size(0);
  const at::Tensor cls = at::full({2, a, 1}, 0.3f).set_requires_grad(true);
  const at::Tensor reg = at::zeros({2, a, 4}).set_requires_grad(true);
  std::vector<ImageTargets> empty = {{at::zeros({0, 4}), at::zeros({0}, at::kLong)},
                                     {at::zeros({0, 4}), at::zeros({0}, at::kLong)}};
  MVL_ASSERT_OK_AND_ASSIGN(
      RetinaLoss zero, ComputeRetinaLoss(cls, reg, anchors, empty, RetinaLossConfig(),
                                         AssignerConfig(), BoxCoderConfig()));
  EXPECT_EQ(zero.total.item<float>(), 0.0f);
  EXPECT_EQ(zero.num_positive_anchors, 0);
  // A zero-width box has no positive anchor: only the focal loss over the
  // negatives remains, divided by 1, and no regression loss.
  std::vector<ImageTargets> degenerate = {
      {at::tensor({5.f, 5.f, 5.f, 30.f}).reshape({1, 4}), at::zeros({1}, at::kLong)},
      empty[0]};
  MVL_ASSERT_OK_AND_ASSIGN(
      RetinaLoss d, ComputeRetinaLoss(cls, reg, anchors, degenerate, RetinaLossConfig(),
                                      AssignerConfig(), BoxCoderConfig()));
  EXPECT_EQ(d.regression.item<float>(), 0.0f);
  const double per_anchor = 0.75 * 0.3 * 0.3 * -std::log(0.7);
  EXPECT_NEAR(d.classification.item<double>(), per_anchor * a / 2, 1e-3);
  d.total.backward();
  EXPECT_TRUE(at::isfinite(cls.grad()).all().item<bool>());
}

TEST(RetinaLossTest, RefusesBadInput) {
  const at::Tensor anchors = Fixture("loss_anchors");
  const int64_t a = anchors.size(0);
  const at::Tensor cls = at::full({1, a, 2}, 0.3f);
  const at::Tensor reg = at::zeros({1, a, 4});
  const ImageTargets good = {at::tensor({0.f, 0.f, 20.f, 20.f}).reshape({1, 4}),
                             at::zeros({1}, at::kLong)};
  const RetinaLossConfig lc;
  const AssignerConfig ac;
  const BoxCoderConfig bc;
  EXPECT_THAT(ComputeRetinaLoss(cls, reg, anchors, {good, good}, lc, ac, bc).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 targets")));
  EXPECT_THAT(ComputeRetinaLoss(cls, reg.slice(1, 1), anchors, {good}, lc, ac, bc).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("differ")));
  const ImageTargets bad_label = {good.boxes, at::full({1}, 2, at::kLong)};
  EXPECT_THAT(ComputeRetinaLoss(cls, reg, anchors, {bad_label}, lc, ac, bc).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("label 2")));
  const ImageTargets nan_box = {at::full({1, 4}, NAN), at::zeros({1}, at::kLong)};
  EXPECT_THAT(ComputeRetinaLoss(cls, reg, anchors, {nan_box}, lc, ac, bc).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-finite")));
  RetinaLossConfig bad = lc;
  bad.set_prob_clamp(0);
  EXPECT_THAT(ComputeRetinaLoss(cls, reg, anchors, {good}, bad, ac, bc).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prob_clamp")));
  AssignerConfig bad_assigner;
  bad_assigner.set_negative_iou(0.6);
  EXPECT_THAT(ComputeRetinaLoss(cls, reg, anchors, {good}, lc, bad_assigner, bc).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative_iou")));
}

}  // namespace
}  // namespace mammovl::detection
