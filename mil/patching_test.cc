#include "mil/patching.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/npy_tensor.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::mil {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

constexpr double kMean = 0.3089279;
constexpr double kStd = 0.25053555408335154;

at::Tensor Golden(const std::string& name) {
  absl::StatusOr<at::Tensor> t =
      core::ReadNpyTensor("mil/testdata/patching/" + name + ".npy");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : at::Tensor();
}

std::vector<PatchCoord> CoordsOf(const at::Tensor& t) {
  std::vector<PatchCoord> out;
  const at::Tensor c = t.to(at::kLong).contiguous();
  for (int64_t i = 0; i < c.size(0); ++i) {
    out.push_back({c[i][0].item<int64_t>(), c[i][1].item<int64_t>()});
  }
  return out;
}

PatchingConfig Config(int patch, double overlap) {
  PatchingConfig config;
  config.set_patch_size(patch);
  config.set_overlap(overlap);
  return config;
}

TEST(PatchingTest, ReferenceMammogramGivesSixPatchesAndPadsTheBackgroundSide) {
  // fpn_mil.md §8.3: 1520×912 with a bright left half.
  at::Tensor image = at::zeros({1520, 912});
  image.slice(1, 0, 456).fill_(1.0);
  MVL_ASSERT_OK_AND_ASSIGN(PatchBag bag, MakePatchBag(image, Config(512, 0)));
  EXPECT_EQ(bag.padding, (Padding{0, 112, 0, 16}));
  EXPECT_EQ(bag.padded_height, 1536);
  EXPECT_EQ(bag.padded_width, 1024);
  ASSERT_EQ(bag.patches.sizes(), (std::vector<int64_t>{6, 1, 512, 512}));
  // The padding value is the normalised black, -1.2330701.
  EXPECT_NEAR(bag.patches[5][0][511][511].item<float>(), -1.2330701, 1e-6);
  EXPECT_NEAR(bag.patches[0][0][0][0].item<float>(), (1.0 - kMean) / kStd,
              1e-6);
  EXPECT_EQ(PatchGrid(1536, 1024, 512, 0.5).size(), 15u);
  const std::vector<PatchCoord> dense = PatchGrid(1536, 1024, 512, 0.75);
  ASSERT_EQ(dense.size(), 45u);
  EXPECT_EQ(dense[0], (PatchCoord{0, 0}));
  EXPECT_EQ(dense[1], (PatchCoord{128, 0}));
  EXPECT_EQ(dense[4], (PatchCoord{512, 0}));
  EXPECT_EQ(dense[5], (PatchCoord{0, 128}));
  EXPECT_EQ(dense.back(), (PatchCoord{512, 1024}));
}

TEST(PatchingTest, ExactMultipleGetsAWholeExtraPatchUnlessMinimal) {
  EXPECT_EQ(PaddedLength(1024, 512, PatchingConfig::REFERENCE), 1536);
  EXPECT_EQ(PaddedLength(512, 512, PatchingConfig::REFERENCE), 1024);
  EXPECT_EQ(PaddedLength(1024, 512, PatchingConfig::MINIMAL), 1024);
  EXPECT_EQ(PaddedLength(1025, 512, PatchingConfig::MINIMAL), 1536);
  MVL_ASSERT_OK_AND_ASSIGN(PatchBag bag,
                           MakePatchBag(at::zeros({3, 1024, 512}), Config(512, 0)));
  EXPECT_EQ(bag.padded_height, 1536);
  EXPECT_EQ(bag.padded_width, 1024);
}

class PatchingGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PatchingGoldenTest, MatchesTheReferencePaddingGridAndCoverage) {
  const std::string name = GetParam();
  const at::Tensor image = Golden(name + "_image");
  const at::Tensor meta = Golden(name + "_meta").to(at::kLong);
  const int patch = meta[0].item<int64_t>();
  const Padding expected_padding{meta[1].item<int64_t>(), meta[2].item<int64_t>(),
                                 meta[3].item<int64_t>(), meta[4].item<int64_t>()};
  const int64_t h = image.size(1), w = image.size(2);

  for (const auto& [overlap, tag] :
       std::vector<std::pair<double, std::string>>{
           {0.0, "ov00"}, {0.5, "ov50"}, {0.75, "ov75"}, {0.3, "ov30"}}) {
    SCOPED_TRACE(name + " " + tag);
    MVL_ASSERT_OK_AND_ASSIGN(PatchBag bag, MakePatchBag(image, Config(patch, overlap)));
    EXPECT_EQ(bag.padding, expected_padding);
    const at::Tensor padded = Golden(name + "_padded");
    ASSERT_EQ(bag.padded_height, padded.size(1));
    ASSERT_EQ(bag.padded_width, padded.size(2));
    const std::vector<PatchCoord> coords = CoordsOf(Golden(name + "_" + tag + "_coords"));
    ASSERT_EQ(bag.coords, coords);
    // Every patch is the plain slice of the reference's padded image.
    ASSERT_EQ(bag.patches.size(0), static_cast<int64_t>(coords.size()));
    for (size_t i = 0; i < coords.size(); ++i) {
      const at::Tensor expected = padded.slice(1, coords[i].y, coords[i].y + patch)
                                      .slice(2, coords[i].x, coords[i].x + patch);
      ASSERT_TRUE(at::allclose(bag.patches[i], expected, 1e-6, 1e-6)) << "patch " << i;
    }
    // Coverage equals the brute-force count of the reference grid ...
    const at::Tensor coverage =
        CoverageCount(bag.padded_height, bag.padded_width, bag.coords, patch);
    ASSERT_TRUE(at::equal(coverage, Golden(name + "_" + tag + "_coverage").to(at::kInt)));
    // ... and covers every pixel of the image (breast and background) for
    // the overlaps whose step divides the padded size.
    const at::Tensor inside =
        coverage.slice(0, bag.padding.top, bag.padding.top + h)
            .slice(1, bag.padding.left, bag.padding.left + w);
    const int64_t uncovered = (inside == 0).sum().item<int64_t>();
    const bool step_divides =
        (bag.padded_width - patch) % (patch - static_cast<int64_t>(patch * overlap)) == 0 &&
        (bag.padded_height - patch) % (patch - static_cast<int64_t>(patch * overlap)) == 0;
    if (step_divides) {
      EXPECT_EQ(uncovered, 0);
    }
    // With cover_edges every pixel is covered whatever the overlap.
    PatchingConfig edges = Config(patch, overlap);
    edges.set_cover_edges(true);
    MVL_ASSERT_OK_AND_ASSIGN(PatchBag covered, MakePatchBag(image, edges));
    EXPECT_EQ((CoverageCount(covered.padded_height, covered.padded_width,
                             covered.coords, patch) == 0)
                  .sum()
                  .item<int64_t>(),
              0);
    EXPECT_GE(covered.coords.size(), bag.coords.size());
  }
}

INSTANTIATE_TEST_SUITE_P(OddSizes, PatchingGoldenTest,
                         ::testing::Values("odd_right", "odd_top", "multiple_left",
                                           "odd_bottom"));

TEST(PatchingTest, OverlapWhoseStepDoesNotDivideLeavesAStripThatCoverEdgesFills) {
  // 48 wide, patch 16, overlap 0.3: step 12, x = 0, 12, 24 -> columns 40..47
  // stay uncovered in the reference grid.
  const std::vector<PatchCoord> grid = PatchGrid(16, 48, 16, 0.3);
  const at::Tensor count = CoverageCount(16, 48, grid, 16);
  EXPECT_EQ((count.slice(1, 40, 48) == 0).all().item<bool>(), true);
  const std::vector<PatchCoord> edges = PatchGrid(16, 48, 16, 0.3, true);
  EXPECT_EQ(edges.back(), (PatchCoord{32, 0}));
  EXPECT_EQ((CoverageCount(16, 48, edges, 16) == 0).sum().item<int64_t>(), 0);
}

TEST(PatchingTest, InstanceIndexIsPatchMajorThenRowThenColumn) {
  const int64_t grid = 4;
  for (int64_t index = 0; index < 3 * grid * grid; ++index) {
    const InstanceLocation loc = LocateInstance(index, grid);
    EXPECT_EQ(index, loc.patch * 16 + loc.row * 4 + loc.col);
    EXPECT_EQ(InstanceIndex(loc, grid), index);
  }
  const InstanceLocation loc = LocateInstance(16 + 2 * 4 + 3, grid);
  EXPECT_EQ(loc.patch, 1);
  EXPECT_EQ(loc.row, 2);
  EXPECT_EQ(loc.col, 3);
  const BoxF cell = InstanceCell(loc, PatchCoord{512, 128}, 512, grid);
  EXPECT_DOUBLE_EQ(cell.x0, 512 + 3 * 128);
  EXPECT_DOUBLE_EQ(cell.y0, 128 + 2 * 128);
  EXPECT_DOUBLE_EQ(cell.x1, 512 + 4 * 128);
  const Padding pads{3, 0, 7, 0};
  const BoxF image_box = ToImageFrame(cell, pads);
  EXPECT_DOUBLE_EQ(image_box.x0, cell.x0 - 3);
  EXPECT_DOUBLE_EQ(image_box.y1, cell.y1 - 7);
  const BoxF back = ToPaddedFrame(image_box, pads);
  EXPECT_DOUBLE_EQ(back.y0, cell.y0);
}

TEST(PatchingTest, RejectsBadConfigsAndImages) {
  EXPECT_THAT(MakePatchBag(at::zeros({10, 10}), Config(0, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("patch_size")));
  EXPECT_THAT(MakePatchBag(at::zeros({10, 10}), Config(8, 1.0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("overlap")));
  PatchingConfig bad_std = Config(8, 0);
  bad_std.set_std(0);
  EXPECT_THAT(MakePatchBag(at::zeros({10, 10}), bad_std),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("std")));
  EXPECT_THAT(MakePatchBag(at::zeros({2, 2, 10, 10}), Config(8, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MakePatchBag(at::zeros({10, 10}, at::kInt), Config(8, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MakePatchBag(at::Tensor(), Config(8, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mammovl::mil
