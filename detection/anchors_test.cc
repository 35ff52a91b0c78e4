#include "detection/anchors.h"

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

TEST(AnchorGeneratorTest, MatchesReferenceBitForBit) {
  MVL_ASSERT_OK_AND_ASSIGN(AnchorGenerator gen, AnchorGenerator::Create(AnchorConfig()));
  EXPECT_EQ(gen.anchors_per_location(), 9);
  EXPECT_THAT(gen.levels(), ::testing::ElementsAre(3, 4, 5, 6, 7));
  for (auto [h, w, name] : std::vector<std::tuple<int, int, const char*>>{
           {64, 48, "anchors_64x48"}, {100, 75, "anchors_100x75"}}) {
    MVL_ASSERT_OK_AND_ASSIGN(at::Tensor a, gen.ForImage(h, w));
    EXPECT_TRUE(TensorsNear(a, Fixture(name), /*atol=*/0)) << name;
  }
}

TEST(AnchorGeneratorTest, Full512Grid) {
  MVL_ASSERT_OK_AND_ASSIGN(AnchorGenerator gen, AnchorGenerator::Create(AnchorConfig()));
  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor a, gen.ForImage(512, 512));
  ASSERT_EQ(a.size(0), 49104);  // 5,456 locations x 9
  // First and last 9 anchors of every level.
  std::vector<at::Tensor> rows;
  int64_t start = 0;
  for (int level = 3; level <= 7; ++level) {
    const int64_t side = (512 + (1 << level) - 1) >> level;
    const int64_t n = side * side * 9;
    rows.push_back(a.slice(0, start, start + 9));
    rows.push_back(a.slice(0, start + n - 9, start + n));
    start += n;
  }
  EXPECT_TRUE(TensorsNear(at::cat(rows), Fixture("anchors_512_rows"), 0));
  EXPECT_TRUE(TensorsNear(a.to(at::kDouble).sum(0), Fixture("anchors_512_colsum"),
                          /*atol=*/1e-6));
  // Base 32 at stride 8, ratio 0.5 scale 1: w = sqrt(2) * 32, h = w / 2.
  EXPECT_FLOAT_EQ(a[0][2].item<float>() - a[0][0].item<float>(), 45.254834f);
}

TEST(AnchorGeneratorTest, CustomConfigAndFeatureGrids) {
  AnchorConfig config;
  config.add_pyramid_levels(2);
  config.add_pyramid_levels(4);
  config.add_sizes(10);
  config.add_sizes(20);
  config.add_ratios(1.0);
  config.add_scales(1.0);
  MVL_ASSERT_OK_AND_ASSIGN(AnchorGenerator gen, AnchorGenerator::Create(config));
  EXPECT_EQ(gen.anchors_per_location(), 1);
  // Grids from feature maps need not be ceil(dim / stride).
  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor a, gen.Generate({{1, 2}, {1, 1}}));
  const at::Tensor expected = at::tensor(
      {-3.f, -3.f, 7.f, 7.f, 1.f, -3.f, 11.f, 7.f, -2.f, -2.f, 18.f, 18.f})
                                  .reshape({3, 4});
  EXPECT_TRUE(TensorsNear(a, expected, 0));
  // An empty level contributes nothing.
  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor b, gen.Generate({{0, 5}, {1, 1}}));
  EXPECT_EQ(b.size(0), 1);
}

TEST(AnchorGeneratorTest, RefusesBadConfigAndGrids) {
  AnchorConfig c;
  c.add_pyramid_levels(0);
  EXPECT_THAT(AnchorGenerator::Create(c).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pyramid_levels[0]")));
  c.Clear();
  c.add_pyramid_levels(4);
  c.add_pyramid_levels(3);
  EXPECT_THAT(ValidateAnchorConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("increasing")));
  c.Clear();
  c.add_sizes(32);
  EXPECT_THAT(ValidateAnchorConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("anchors.sizes")));
  c.Clear();
  c.add_ratios(0);
  EXPECT_THAT(ValidateAnchorConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ratios[0]")));
  c.Clear();
  c.add_scales(-1);
  EXPECT_THAT(ValidateAnchorConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scales[0]")));
  MVL_ASSERT_OK_AND_ASSIGN(AnchorGenerator gen, AnchorGenerator::Create(AnchorConfig()));
  EXPECT_THAT(gen.Generate({{1, 1}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("levels")));
  EXPECT_THAT(gen.ForImage(0, 10).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("positive")));
}

}  // namespace
}  // namespace mammovl::detection
