#include "detection/postprocess.h"

#include <vector>

#include <ATen/ATen.h>

#include "absl/status/status.h"
#include "core/status_matchers.h"
#include "detection/anchors.h"
#include "detection/testing/fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::detection {
namespace {

using ::mammovl::core::StatusIs;
using ::mammovl::detection::testing::Fixture;
using ::mammovl::detection::testing::TensorsNear;
using ::testing::HasSubstr;

at::Tensor Anchors64x48() {
  absl::StatusOr<AnchorGenerator> gen = AnchorGenerator::Create(AnchorConfig());
  EXPECT_TRUE(gen.ok());
  absl::StatusOr<at::Tensor> a = gen->ForImage(64, 48);
  EXPECT_TRUE(a.ok());
  return *a;
}

void ExpectMatches(const ImageDetections& d, const std::string& name) {
  const at::Tensor scores = Fixture("post_" + name + "_scores");
  const at::Tensor labels = Fixture("post_" + name + "_labels");
  const at::Tensor boxes = Fixture("post_" + name + "_boxes");
  ASSERT_EQ(static_cast<int64_t>(d.scores.size()), scores.size(0)) << name;
  ASSERT_GT(d.scores.size(), 3u);
  at::Tensor b = at::empty({scores.size(0), 4});
  for (size_t i = 0; i < d.boxes.size(); ++i) {
    b[i][0] = d.boxes[i].x1;
    b[i][1] = d.boxes[i].y1;
    b[i][2] = d.boxes[i].x2;
    b[i][3] = d.boxes[i].y2;
    EXPECT_EQ(d.labels[i], labels[i].item<int64_t>()) << name << " " << i;
    EXPECT_EQ(d.scores[i], scores[i].item<float>()) << name << " " << i;
  }
  EXPECT_TRUE(TensorsNear(b, boxes, 1e-6)) << name;
}

TEST(PostprocessTest, MatchesReferenceBothNmsModes) {
  PostprocessConfig config;
  MVL_ASSERT_OK_AND_ASSIGN(
      ImageDetections agnostic,
      PostprocessDetections(Fixture("post_cls"), Fixture("post_reg"), Anchors64x48(),
                            64, 48, BoxCoderConfig(), config));
  ExpectMatches(agnostic, "agnostic");
  config.set_nms_mode(PostprocessConfig::PER_CLASS);
  MVL_ASSERT_OK_AND_ASSIGN(
      ImageDetections per_class,
      PostprocessDetections(Fixture("post_cls"), Fixture("post_reg"), Anchors64x48(),
                            64, 48, BoxCoderConfig(), config));
  ExpectMatches(per_class, "per_class");
  for (const Box& b : per_class.boxes) {  // clipped to the image
    EXPECT_GE(b.x1, 0);
    EXPECT_LE(b.x2, 48);
    EXPECT_LE(b.y2, 64);
  }
}

TEST(PostprocessTest, NothingAboveThresholdGivesNoDetections) {
  const at::Tensor anchors = Anchors64x48();
  const at::Tensor cls = at::full({anchors.size(0), 2}, 0.01f);
  MVL_ASSERT_OK_AND_ASSIGN(
      ImageDetections d,
      PostprocessDetections(cls, at::zeros({anchors.size(0), 4}), anchors, 64, 48,
                            BoxCoderConfig(), PostprocessConfig()));
  EXPECT_TRUE(d.boxes.empty());
  EXPECT_TRUE(d.scores.empty());
  PostprocessConfig per_class;
  per_class.set_nms_mode(PostprocessConfig::PER_CLASS);
  MVL_ASSERT_OK_AND_ASSIGN(
      ImageDetections e,
      PostprocessDetections(cls, at::zeros({anchors.size(0), 4}), anchors, 64, 48,
                            BoxCoderConfig(), per_class));
  EXPECT_TRUE(e.boxes.empty());
}

TEST(PostprocessTest, TopKAndMaxDetections) {
  PostprocessConfig config;
  config.set_max_detections(2);
  MVL_ASSERT_OK_AND_ASSIGN(
      ImageDetections d,
      PostprocessDetections(Fixture("post_cls"), Fixture("post_reg"), Anchors64x48(),
                            64, 48, BoxCoderConfig(), config));
  ASSERT_EQ(d.scores.size(), 2u);
  EXPECT_EQ(d.scores[0], Fixture("post_agnostic_scores")[0].item<float>());
  config.set_max_detections(0);
  config.set_pre_nms_top_k(1);
  MVL_ASSERT_OK_AND_ASSIGN(
      ImageDetections one,
      PostprocessDetections(Fixture("post_cls"), Fixture("post_reg"), Anchors64x48(),
                            64, 48, BoxCoderConfig(), config));
  ASSERT_EQ(one.scores.size(), 1u);
  EXPECT_EQ(one.scores[0], d.scores[0]);
}

TEST(PostprocessTest, RefusesBadInput) {
  const at::Tensor anchors = Anchors64x48();
  const int64_t a = anchors.size(0);
  EXPECT_THAT(PostprocessDetections(at::zeros({a, 2}), at::zeros({a - 1, 4}), anchors,
                                    64, 48, BoxCoderConfig(), PostprocessConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected")));
  EXPECT_THAT(PostprocessDetections(at::zeros({a, 2}), at::zeros({a, 4}), anchors, 0,
                                    48, BoxCoderConfig(), PostprocessConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("image size")));
  PostprocessConfig bad;
  bad.set_nms_iou_threshold(0);
  EXPECT_THAT(ValidatePostprocessConfig(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nms_iou")));
}

}  // namespace
}  // namespace mammovl::detection
