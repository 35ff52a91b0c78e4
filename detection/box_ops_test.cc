#include "detection/box_ops.h"

#include <cmath>
#include <vector>

#include <ATen/ATen.h>

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

TEST(BoxIouMatrixTest, MatchesTorchvision) {
  EXPECT_TRUE(TensorsNear(BoxIouMatrix(Fixture("iou_a"), Fixture("iou_b")),
                          Fixture("iou_torchvision"), 1e-6));
}

TEST(BoxIouMatrixTest, DegenerateBoxesGiveZeroNotNan) {
  const at::Tensor d = Fixture("iou_degenerate");
  const at::Tensor iou = BoxIouMatrix(d, d);
  EXPECT_TRUE(TensorsNear(iou, Fixture("iou_degenerate_expected"), 0));
  EXPECT_FALSE(at::isnan(iou).any().item<bool>());
  EXPECT_EQ(iou[2][2].item<float>(), 1.0f);
  // No boxes on either side.
  EXPECT_EQ(BoxIouMatrix(at::zeros({0, 4}), d).sizes(), (at::IntArrayRef{0, 3}));
  EXPECT_EQ(BoxIouMatrix(d, at::zeros({0, 4})).sizes(), (at::IntArrayRef{3, 0}));
}

TEST(BoxCoderTest, EncodeDecodeClipMatchReference) {
  const BoxCoderConfig config;
  const at::Tensor anchors = Fixture("coder_anchors");
  EXPECT_TRUE(TensorsNear(EncodeBoxes(anchors, Fixture("coder_gt"), config),
                          Fixture("coder_targets"), 1e-6));
  const at::Tensor decoded = DecodeBoxes(anchors, Fixture("coder_deltas"), config);
  EXPECT_TRUE(TensorsNear(decoded, Fixture("coder_decoded"), 1e-6));
  EXPECT_TRUE(TensorsNear(ClipBoxes(decoded, 64, 48), Fixture("coder_clipped"), 1e-6));
}

TEST(BoxCoderTest, RoundTripAndBatchedDeltas) {
  const BoxCoderConfig config;
  const at::Tensor anchors = Fixture("coder_anchors");
  // Boxes at least 1 pixel wide survive encode -> decode.
  const at::Tensor gt = Fixture("coder_gt").slice(0, 8);
  const at::Tensor a = anchors.slice(0, 8);
  EXPECT_TRUE(TensorsNear(DecodeBoxes(a, EncodeBoxes(a, gt, config), config), gt,
                          1e-3));
  // Leading batch dimensions broadcast over the anchors.
  const at::Tensor deltas = Fixture("coder_deltas");
  const at::Tensor batched =
      DecodeBoxes(anchors, at::stack({deltas, deltas * 0.5}), config);
  ASSERT_EQ(batched.sizes(), (at::IntArrayRef{2, 40, 4}));
  EXPECT_TRUE(TensorsNear(batched[0], Fixture("coder_decoded"), 1e-6));
}

TEST(BoxCoderTest, DecodeClampsScaleSoNothingOverflows) {
  BoxCoderConfig config;
  const at::Tensor anchors = at::tensor({0.f, 0.f, 10.f, 10.f}).reshape({1, 4});
  const at::Tensor deltas = at::tensor({0.f, 0.f, 1e4f, 1e4f}).reshape({1, 4});
  const at::Tensor clamped = DecodeBoxes(anchors, deltas, config);
  EXPECT_TRUE(at::isfinite(clamped).all().item<bool>());
  EXPECT_NEAR(clamped[0][2].item<float>() - clamped[0][0].item<float>(), 10 * 1000.0 / 16,
              1e-2);
  config.set_max_log_scale(0);  // the reference: no clamp
  EXPECT_FALSE(at::isfinite(DecodeBoxes(anchors, deltas, config)).all().item<bool>());
}

TEST(BoxCoderTest, ValidatesConfig) {
  BoxCoderConfig c;
  c.add_std(0.1);
  EXPECT_THAT(ValidateBoxCoderConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("4 values")));
  c.clear_std();
  for (double s : {0.1, 0.1, 0.0, 0.2}) c.add_std(s);
  EXPECT_THAT(ValidateBoxCoderConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("std[2]")));
  EXPECT_THROW(EncodeBoxes(at::zeros({3, 3}), at::zeros({3, 4}), BoxCoderConfig()),
               c10::Error);
}

TEST(NmsTest, MatchesTorchvision) {
  const at::Tensor boxes = Fixture("nms_boxes");
  const at::Tensor scores = Fixture("nms_scores");
  const at::Tensor labels = Fixture("nms_labels");
  const at::Tensor offsets = Fixture("nms_offsets");
  const at::Tensor thresholds = Fixture("nms_thresholds");
  const at::Tensor keep = Fixture("nms_keep");
  const at::Tensor keep_offsets = Fixture("nms_keep_offsets");
  const at::Tensor bkeep = Fixture("nms_batched_keep");
  const at::Tensor bkeep_offsets = Fixture("nms_batched_keep_offsets");
  ASSERT_EQ(offsets.size(0), 13);
  for (int64_t c = 0; c + 1 < offsets.size(0); ++c) {
    const int64_t lo = offsets[c].item<int64_t>(), hi = offsets[c + 1].item<int64_t>();
    const double thr = thresholds[c].item<float>();
    const at::Tensor b = boxes.slice(0, lo, hi), s = scores.slice(0, lo, hi);
    EXPECT_TRUE(at::equal(Nms(b, s, thr),
                          keep.slice(0, keep_offsets[c].item<int64_t>(),
                                     keep_offsets[c + 1].item<int64_t>())))
        << "case " << c;
    EXPECT_TRUE(at::equal(BatchedNms(b, s, labels.slice(0, lo, hi), thr),
                          bkeep.slice(0, bkeep_offsets[c].item<int64_t>(),
                                      bkeep_offsets[c + 1].item<int64_t>())))
        << "case " << c;
  }
}

TEST(NmsTest, EdgeCases) {
  EXPECT_EQ(Nms(at::zeros({0, 4}), at::zeros({0}), 0.5).numel(), 0);
  // Identical boxes: only the best survives; ties keep the lower index.
  const at::Tensor same = at::tensor({0.f, 0.f, 5.f, 5.f}).repeat({3, 1});
  EXPECT_TRUE(at::equal(Nms(same, at::tensor({0.5f, 0.9f, 0.9f}), 0.5),
                        at::tensor({int64_t{1}})));
  // Zero-area boxes never suppress each other (IoU is 0/0).
  const at::Tensor flat = at::tensor({2.f, 2.f, 2.f, 8.f}).repeat({2, 1});
  EXPECT_EQ(Nms(flat, at::tensor({0.5f, 0.4f}), 0.1).numel(), 2);
  // Different labels do not suppress each other in BatchedNms.
  EXPECT_EQ(BatchedNms(same, at::tensor({0.5f, 0.9f, 0.8f}),
                       at::tensor(std::vector<int64_t>{0, 1, 0}), 0.5)
                .numel(),
            2);
  EXPECT_THROW(Nms(at::zeros({2, 4}), at::zeros({3}), 0.5), c10::Error);
}

}  // namespace
}  // namespace mammovl::detection
