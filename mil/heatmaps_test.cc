#include "mil/heatmaps.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/npy_tensor.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/imgcodecs.hpp"

namespace mammovl::mil {
namespace {

using ::mammovl::core::StatusIs;

at::Tensor Golden(const std::string& name) {
  absl::StatusOr<at::Tensor> t =
      core::ReadNpyTensor("mil/testdata/detection/" + name + ".npy");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : at::zeros({0});
}

std::vector<PatchCoord> CoordsOf(const at::Tensor& t) {
  std::vector<PatchCoord> out;
  const at::Tensor c = t.to(at::kLong);
  for (int64_t i = 0; i < c.size(0); ++i) {
    out.push_back({c[i][0].item<int64_t>(), c[i][1].item<int64_t>()});
  }
  return out;
}

cv::Mat U8(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kByte).contiguous();
  return cv::Mat(static_cast<int>(c.size(0)), static_cast<int>(c.size(1)), CV_8UC1,
                 const_cast<uint8_t*>(c.data_ptr<uint8_t>()))
      .clone();
}

double MaxAbsDiff(const cv::Mat& a, const at::Tensor& b) {
  return (MatToTensor(a).to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

TEST(HeatmapsTest, SpecificationPatchMapValues) {
  // fpn_mil.md §8.14: 4×4 grid (0..15)/96 + offset, align_corners upsample to
  // 512 and min–max with eps 2^-10.
  const at::Tensor grid = (at::arange(16, at::kFloat) / 96.0 + 0.3).view({1, 4, 4});
  const at::Tensor m = UpsamplePatchMaps(grid, 512, HeatmapConfig())[0];
  EXPECT_NEAR(m[0][0].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(m[0][511].item<double>(), 0.1987578, 1e-5);
  EXPECT_NEAR(m[511][0].item<double>(), 0.7950311, 1e-5);
  EXPECT_NEAR(m[511][511].item<double>(), 0.9937888, 1e-5);
  EXPECT_NEAR(m[255][255].item<double>(), 0.4959220, 1e-5);
}

// Per-pixel evaluation of the heatmap definition: average, over the patches
// covering the pixel, of the patch's bilinear (corner-aligned) value,
// min–max normalised over its patch.
at::Tensor BruteForce(const at::Tensor& grids, const std::vector<PatchCoord>& coords,
                      int64_t p, int64_t h, int64_t w, double eps) {
  const int64_t g = grids.size(1);
  auto value = [&](int64_t i, int64_t u, int64_t v) {
    const double sy = g > 1 ? u * double(g - 1) / double(p - 1) : 0.0;
    const double sx = g > 1 ? v * double(g - 1) / double(p - 1) : 0.0;
    const int64_t y0 = std::min<int64_t>(static_cast<int64_t>(sy), g - 1);
    const int64_t x0 = std::min<int64_t>(static_cast<int64_t>(sx), g - 1);
    const int64_t y1 = std::min<int64_t>(y0 + 1, g - 1), x1 = std::min<int64_t>(x0 + 1, g - 1);
    const double fy = sy - y0, fx = sx - x0;
    auto at_ = [&](int64_t y, int64_t x) { return grids[i][y][x].item<double>(); };
    return (1 - fy) * ((1 - fx) * at_(y0, x0) + fx * at_(y0, x1)) +
           fy * ((1 - fx) * at_(y1, x0) + fx * at_(y1, x1));
  };
  std::vector<double> lo(coords.size(), 1e30), hi(coords.size(), -1e30);
  for (size_t i = 0; i < coords.size(); ++i) {
    for (int64_t u = 0; u < p; ++u) {
      for (int64_t v = 0; v < p; ++v) {
        const double x = value(i, u, v);
        lo[i] = std::min(lo[i], x);
        hi[i] = std::max(hi[i], x);
      }
    }
  }
  at::Tensor out = at::zeros({h, w}, at::kDouble);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      double sum = 0;
      int n = 0;
      for (size_t i = 0; i < coords.size(); ++i) {
        const int64_t u = y - coords[i].y, v = x - coords[i].x;
        if (u < 0 || v < 0 || u >= p || v >= p) continue;
        sum += (value(i, u, v) - lo[i]) / (hi[i] - lo[i] + eps);
        ++n;
      }
      out[y][x] = n > 0 ? sum / n : 0.0;
    }
  }
  return out;
}

TEST(HeatmapsTest, AccumulationEqualsBruteForceOnASmallCase) {
  // Patches of 12 overlapping unevenly (and one hanging over the edge) on a
  // 20×30 frame; grids of 3×3 values.
  const std::vector<PatchCoord> coords = {{0, 0}, {9, 0}, {18, 0}, {0, 5}, {9, 8}, {22, 10}};
  const int64_t p = 12, h = 20, w = 30;
  const at::Tensor grids = at::sin(at::arange(6 * 9, at::kFloat) * 0.7).view({6, 3, 3});
  const at::Tensor fast =
      AccumulatePatchMaps(UpsamplePatchMaps(grids, p, HeatmapConfig()), coords, h, w);
  const at::Tensor slow = BruteForce(grids, coords, p, h, w, 0.0009765625);
  EXPECT_LT((fast.to(at::kDouble) - slow).abs().max().item<double>(), 1e-5);
  // Pixels covered by no patch stay 0; covered ones are in [0, 1].
  EXPECT_GE(fast.min().item<double>(), 0.0);
  EXPECT_LE(fast.max().item<double>(), 1.0);
}

TEST(HeatmapsTest, TwoPatchesOverlappingBy128GiveTheMeanInTheOverlap) {
  const at::Tensor maps = at::stack({at::full({512, 512}, 0.2), at::full({512, 512}, 0.6)});
  const at::Tensor acc = AccumulatePatchMaps(maps, {{0, 0}, {384, 0}}, 512, 896);
  EXPECT_NEAR(acc[10][100].item<double>(), 0.2, 1e-7);
  EXPECT_NEAR(acc[10][400].item<double>(), 0.4, 1e-7);
  EXPECT_NEAR(acc[10][890].item<double>(), 0.6, 1e-7);
}

TEST(HeatmapsTest, GaussianSmoothingMatchesSciPyIncludingMultipleReflections) {
  const cv::Mat delta = TensorToMat(Golden("delta"));
  EXPECT_LT(MaxAbsDiff(GaussianSmooth(delta, 10), Golden("delta_sigma10")), 1e-8);
  EXPECT_LT(MaxAbsDiff(GaussianSmooth(delta, 2.5), Golden("delta_sigma2_5")), 1e-8);
  EXPECT_LT(MaxAbsDiff(GaussianSmooth(delta, 0), Golden("delta")), 0.0 + 1e-12);
}

TEST(HeatmapsTest, TissueMaskMatchesOpenCvReference) {
  const cv::Mat grey = U8(Golden("grey"));
  MVL_ASSERT_OK_AND_ASSIGN(cv::Mat mask, TissueMask(grey, TissueMaskConfig()));
  const at::Tensor expected = Golden("tissue_mask").to(at::kFloat);
  EXPECT_EQ(MaxAbsDiff(mask, expected), 0.0);
  TissueMaskConfig off;
  off.set_enabled(false);
  MVL_ASSERT_OK_AND_ASSIGN(cv::Mat all, TissueMask(grey, off));
  EXPECT_EQ(cv::countNonZero(all), grey.rows * grey.cols);
  EXPECT_THAT(TissueMask(cv::Mat::zeros(4, 4, CV_32F), TissueMaskConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(HeatmapsTest, BagHeatmapsAndTheirBoxesMatchTheReferencePipeline) {
  const std::vector<PatchCoord> coords = CoordsOf(Golden("bag_coords"));
  const cv::Mat mask = U8(Golden("bag_mask"));
  std::vector<at::Tensor> attention;
  for (int k = 0; k < 3; ++k) attention.push_back(Golden("bag_attention_" + std::to_string(k)));
  HeatmapConfig config;
  config.set_sigma(3.0);
  MVL_ASSERT_OK_AND_ASSIGN(
      ImageHeatmaps maps,
      BuildHeatmaps(attention, {8, 4, 2}, coords, 32, 80, 64, mask, {0.5, 0.3, 0.2}, config));
  BoxExtractionConfig boxes;
  boxes.set_quantile(0.8);
  boxes.set_min_area(16);
  for (int k = 0; k < 3; ++k) {
    SCOPED_TRACE(k);
    EXPECT_LT(MaxAbsDiff(maps.per_scale[k], Golden("bag_heatmap_" + std::to_string(k))), 1e-5);
    MVL_ASSERT_OK_AND_ASSIGN(std::vector<ScoredBox> found,
                             BoxesFromHeatmap(maps.per_scale[k], boxes));
    const at::Tensor expected = Golden("bag_boxes_" + std::to_string(k)).to(at::kDouble);
    ASSERT_EQ(static_cast<int64_t>(found.size()), expected.size(0));
    for (size_t i = 0; i < found.size(); ++i) {
      EXPECT_EQ(found[i].x0, expected[i][0].item<double>());
      EXPECT_EQ(found[i].y1, expected[i][3].item<double>());
      EXPECT_NEAR(found[i].score, expected[i][4].item<double>(), 1e-3);
    }
  }
  EXPECT_LT(MaxAbsDiff(maps.aggregated, Golden("bag_heatmap_agg")), 1e-5);
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ScoredBox> agg_boxes,
                           BoxesFromHeatmap(maps.aggregated, boxes));
  EXPECT_EQ(static_cast<int64_t>(agg_boxes.size()), Golden("bag_boxes_agg").size(0));
  // Outside the tissue mask every per-scale map is 0.
  for (const cv::Mat& m : maps.per_scale) {
    cv::Mat outside;
    cv::compare(mask, 0, outside, cv::CMP_EQ);
    double hi = 0;
    cv::minMaxLoc(m, nullptr, &hi, nullptr, nullptr, outside);
    EXPECT_EQ(hi, 0.0);
  }
}

TEST(HeatmapsTest, RejectsMismatchedInputs) {
  const std::vector<PatchCoord> coords = {{0, 0}};
  EXPECT_THAT(BuildHeatmaps({at::zeros({16})}, {4, 2}, coords, 8, 8, 8, cv::Mat(), {1.0},
                            HeatmapConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildHeatmaps({at::zeros({15})}, {4}, coords, 8, 8, 8, cv::Mat(), {1.0},
                            HeatmapConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildHeatmaps({at::zeros({16})}, {4}, coords, 8, 8, 8,
                            cv::Mat::zeros(3, 3, CV_8UC1), {1.0}, HeatmapConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  HeatmapConfig bad;
  bad.set_sigma(-1);
  EXPECT_THAT(BuildHeatmaps({at::zeros({16})}, {4}, coords, 8, 8, 8, cv::Mat(), {1.0}, bad),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(HeatmapsTest, OverlayAndPanelsAreWrittenAsPng) {
  cv::Mat grey(40, 30, CV_8UC1, cv::Scalar(100));
  cv::Mat heat = cv::Mat::zeros(40, 30, CV_32F);
  heat(cv::Rect(5, 5, 10, 10)).setTo(1.0);
  const cv::Mat vis = RenderOverlay(grey, heat, {{5, 5, 15, 15, 3.0}}, {{4, 4, 16, 16}});
  ASSERT_EQ(vis.type(), CV_8UC3);
  // The hot region is red in JET, the cold one blue.
  const cv::Vec3b hot = vis.at<cv::Vec3b>(10, 10), cold = vis.at<cv::Vec3b>(30, 25);
  EXPECT_GT(hot[2], hot[0]);
  EXPECT_GT(cold[0], cold[2]);
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/panels.png";
  MVL_ASSERT_OK(WritePanels(path, {grey, vis}, {"image", "heatmap"}));
  const cv::Mat back = cv::imread(path);
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(back.cols, 30 + 30 + 3 * 6);
  EXPECT_THAT(WritePanels(path, {grey}, {}), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mammovl::mil
