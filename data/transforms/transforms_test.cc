// Golden tests against the reference libraries (arrays written by
// tools/fixtures/make_transform_fixtures.py) and property tests of the
// pipelines.
#include <cmath>
#include <algorithm>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "core/npy.h"
#include "core/status_matchers.h"
#include "data/transforms/geometric.h"
#include "data/transforms/photometric.h"
#include "data/transforms/pipelines.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

constexpr char kDir[] = "data/transforms/testdata/";

cv::Mat Load(const std::string& name) {
  absl::StatusOr<core::NpyArray> a = core::ReadNpy(std::string(kDir) + name + ".npy");
  EXPECT_TRUE(a.ok()) << a.status();
  const int rows = static_cast<int>(a->shape[0]);
  const int cols = a->shape.size() > 1 ? static_cast<int>(a->shape[1]) : 1;
  const int ch = a->shape.size() > 2 ? static_cast<int>(a->shape[2]) : 1;
  if (a->descr == "|u1") {
    return cv::Mat(rows, cols, CV_8UC(ch), const_cast<char*>(a->data.data())).clone();
  }
  if (a->descr == "<f4") {
    return cv::Mat(rows, cols, CV_32FC(ch), const_cast<char*>(a->data.data())).clone();
  }
  EXPECT_EQ(a->descr, "<f8") << name;
  return cv::Mat(rows, cols, CV_64FC(ch), const_cast<char*>(a->data.data())).clone();
}

double MaxAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  EXPECT_EQ(a.size(), b.size());
  EXPECT_EQ(a.type(), b.type());
  return cv::norm(a, b, cv::NORM_INF);
}

TransformConfig Config(const std::string& text) {
  TransformConfig c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &c)) << text;
  return c;
}

TEST(GoldenTest, AlbumentationsAffineMatrixAndWarp) {
  const cv::Mat img = Load("input");
  AffineParams p;
  p.rotate_deg = -20;
  p.shear_x_deg = p.shear_y_deg = -20;
  p.scale_x = 0.9;
  p.scale_y = 1.15;
  p.translate_x_px = 0.1 * img.cols;
  p.translate_y_px = 0.1 * img.rows;
  const cv::Matx33d m = AlbumentationsAffineMatrix(p, img.cols, img.rows);
  const cv::Mat ref = Load("affine_matrix");
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(m(r, c), ref.at<double>(r, c), 1e-12);
  }
  EXPECT_EQ(MaxAbsDiff(WarpAffineLinear(img, m, cv::BORDER_CONSTANT), Load("affine_out")), 0);
}

TEST(GoldenTest, MammoClipAffineDrawsFixedValuesAndRandomScales) {
  Rng rng(4);
  for (int i = 0; i < 100; ++i) {
    const AffineParams p = SampleMammoClipAffine(rng, 20, 0.1, 0.8, 1.2, 20, 912, 1520);
    EXPECT_EQ(p.rotate_deg, -20);
    EXPECT_EQ(p.shear_x_deg, -20);
    EXPECT_EQ(p.shear_y_deg, -20);
    EXPECT_DOUBLE_EQ(p.translate_x_px, 91.2);
    EXPECT_DOUBLE_EQ(p.translate_y_px, 152.0);
    EXPECT_GE(p.scale_x, 0.8);
    EXPECT_LT(p.scale_y, 1.2);
  }
}

TEST(GoldenTest, ElasticTransformMatchesTheLibrary) {
  const cv::Mat img = Load("input");
  // The control-point affine, with the library's (h, w) mix-up.
  const cv::Mat pts2 = Load("elastic_pts2");
  const float c0 = static_cast<float>(img.rows / 2), c1 = static_cast<float>(img.cols / 2);
  const float s = static_cast<float>(std::min(img.rows, img.cols) / 3);
  const cv::Point2f pts1[3] = {{c0 + s, c1 + s}, {c0 + s, c1 - s}, {c0 - s, c1 - s}};
  const cv::Point2f to[3] = {{pts2.at<float>(0, 0), pts2.at<float>(0, 1)},
                             {pts2.at<float>(1, 0), pts2.at<float>(1, 1)},
                             {pts2.at<float>(2, 0), pts2.at<float>(2, 1)}};
  const cv::Mat affine = cv::getAffineTransform(pts1, to);
  EXPECT_LT(MaxAbsDiff(affine, Load("elastic_matrix")), 1e-9);
  // The smoothing of the noise, like scipy's gaussian_filter.
  cv::Mat1f noise_x;
  Load("elastic_noise_x").convertTo(noise_x, CV_32F);
  cv::Mat1f dx = GaussianFilterLikeScipy(noise_x, 4.0) * 10.0;
  EXPECT_LT(MaxAbsDiff(dx, Load("elastic_dx")), 2e-5);
  // With the same field, the warp is bit-exact.
  ElasticParams p;
  p.affine = cv::Matx23d(affine.ptr<double>(0)[0], affine.ptr<double>(0)[1], affine.ptr<double>(0)[2],
                         affine.ptr<double>(1)[0], affine.ptr<double>(1)[1], affine.ptr<double>(1)[2]);
  p.dx = Load("elastic_dx");
  p.dy = Load("elastic_dy");
  EXPECT_EQ(MaxAbsDiff(ApplyElastic(img, p), Load("elastic_out")), 0);
}

TEST(GoldenTest, NormalisationsMatchNumpyAndTorchvision) {
  const cv::Mat img = Load("input");
  EXPECT_EQ(MaxAbsDiff(MinMaxNormalize(img, 0.3089279, 0.25053555408335154), Load("minmax_out")), 0);
  EXPECT_LT(MaxAbsDiff(NormalizeUnit(img, kImageNetMean, kImageNetStd, 3), Load("imagenet_norm")),
            1e-6);
  // A constant image does not divide by zero.
  const cv::Mat flat(4, 4, CV_8UC1, cv::Scalar(9));
  const cv::Mat out = MinMaxNormalize(flat, 0.5, 0.25);
  EXPECT_FLOAT_EQ(out.at<float>(2, 2), -2.0f);
}

TEST(GoldenTest, PillowBrightnessContrastAndTorchvisionBlur) {
  const cv::Mat img = Load("input");
  struct Case {
    const char* golden;
    bool brightness;
    double factor;
  } cases[] = {{"brightness_137", true, 1.37},
               {"brightness_055", true, 0.55},
               {"contrast_160", false, 1.6},
               {"contrast_030", false, 0.3}};
  for (const Case& c : cases) {
    cv::Mat x = img.clone();
    if (c.brightness) {
      AdjustBrightness(x, c.factor);
    } else {
      AdjustContrast(x, c.factor);
    }
    EXPECT_EQ(MaxAbsDiff(x, Load(c.golden)), 0) << c.golden;
  }
  cv::Mat blurred = img.clone();
  GaussianBlurLikeTorchvision(blurred, 7, 1.3);
  const cv::Mat ref = Load("blur_k7_s13");
  EXPECT_LE(MaxAbsDiff(blurred, ref), 1);  // float summation order
  EXPECT_LT(cv::countNonZero(blurred != ref), img.total() / 100 + 1);
}

TEST(GoldenTest, MamaOtsuCutAndLongSideResize) {
  const cv::Mat img = Load("input");
  EXPECT_EQ(MaxAbsDiff(OtsuCut(img), Load("otsu_out")), 0);
  EXPECT_EQ(MaxAbsDiff(ResizeLongSide(img, 32, true), Load("resize_pad_32")), 0);
  const cv::Mat empty = cv::Mat::zeros(5, 5, CV_8UC1);
  EXPECT_EQ(OtsuCut(empty).size(), empty.size());
}

TEST(GeometryTest, FusedWarpIsCloseToTheTwoStepWarp) {
  cv::Mat img(96, 64, CV_8UC1);
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) img.at<uint8_t>(y, x) = static_cast<uint8_t>(100 + 80 * std::sin(x / 7.0) * std::cos(y / 9.0));
  }
  Rng rng(1);
  const cv::Matx33d affine = AlbumentationsAffineMatrix(
      SampleMammoClipAffine(rng, 5, 0.02, 0.95, 1.05, 5, img.cols, img.rows), img.cols, img.rows);
  const ElasticParams e = SampleElastic(rng, img.cols, img.rows, 10, 15, 4, 1);
  const cv::Mat two = ApplyElastic(WarpAffineLinear(img, affine, cv::BORDER_CONSTANT), e);
  const cv::Mat one = FusedWarp(img, &affine, &e);
  // Compare the interior, away from borders that the two forms treat differently.
  const cv::Rect inner(16, 16, img.cols - 32, img.rows - 32);
  cv::Mat diff;
  cv::absdiff(two(inner), one(inner), diff);
  EXPECT_LT(cv::mean(diff)[0], 1.5);
  EXPECT_EQ(MaxAbsDiff(FusedWarp(img, &affine, nullptr), WarpAffineLinear(img, affine, cv::BORDER_CONSTANT)), 0);
}

TEST(GeometryTest, CoarseElasticFieldHasTheSameStatistics) {
  Rng a(5), b(6);
  const ElasticParams exact = SampleElastic(a, 400, 600, 10, 15, 50, 1);
  const ElasticParams coarse = SampleElastic(b, 400, 600, 10, 15, 50, 4);
  cv::Scalar m1, s1, m2, s2;
  cv::meanStdDev(exact.dx, m1, s1);
  cv::meanStdDev(coarse.dx, m2, s2);
  // σ = 15, α = 10: std ≈ 10 · 0.577 / (2 √π · 15) ≈ 0.11 px.
  EXPECT_NEAR(s1[0], 0.11, 0.03);
  EXPECT_NEAR(s2[0] / s1[0], 1.0, 0.3);
}

TEST(GeometryTest, RandomResizedCropStaysInsideAndFallsBack) {
  Rng rng(2);
  for (int i = 0; i < 500; ++i) {
    const cv::Rect r = RandomResizedCropRect(rng, 300, 200, 0.1, 1.0, 0.75, 4.0 / 3);
    ASSERT_GE(r.x, 0);
    ASSERT_GE(r.y, 0);
    ASSERT_LE(r.x + r.width, 300);
    ASSERT_LE(r.y + r.height, 200);
    ASSERT_GT(r.area(), 0);
  }
  // An impossible request (a very wide image, tall ratios only) falls back
  // to the central crop of the clamped ratio.
  const cv::Rect f = RandomResizedCropRect(rng, 1000, 10, 0.9, 1.0, 0.75, 4.0 / 3);
  EXPECT_EQ(f.height, 10);
  EXPECT_EQ(f.width, 13);
  EXPECT_EQ(f.x, (1000 - 13) / 2);
  EXPECT_EQ(CenterCrop(cv::Mat::zeros(257, 257, CV_8UC1), 224).size(), cv::Size(224, 224));
}

TEST(PipelineTest, OutputShapesChannelsAndDeterminism) {
  cv::Mat img(300, 180, CV_8UC1);
  cv::randu(img, 0, 255);
  img.colRange(0, 20) = 0;
  struct Case {
    std::string config;
    cv::Size size;
    int channels;
  } cases[] = {
      {"mammoclip { height: 152 width: 96 }", {96, 152}, 1},
      {"mammoclip { height: 152 width: 96 fused: false }", {96, 152}, 1},
      {"mama { size: 64 }", {64, 64}, 1},
      {"simclr { size: 48 }", {48, 48}, 3},
      {"clip_view { size: 48 }", {48, 48}, 3},
      {"mgca { load_size: 64 crop: 56 }", {56, 56}, 1},
      {"cbis_probe { size: 40 }", {40, 40}, 3},
      {"fpn_mil { augment: true }", {180, 300}, 1},
  };
  for (const Case& c : cases) {
    for (bool train : {true, false}) {
      TransformConfig config = Config(c.config);
      config.set_train(train);
      MVL_ASSERT_OK_AND_ASSIGN(const ImageTransform t, ImageTransform::Create(config));
      EXPECT_EQ(t.channels(), c.channels) << c.config;
      Rng r1(11), r2(11);
      MVL_ASSERT_OK_AND_ASSIGN(const cv::Mat a, t.Apply(img, r1));
      MVL_ASSERT_OK_AND_ASSIGN(const cv::Mat b, t.Apply(img, r2));
      EXPECT_EQ(a.size(), c.size) << c.config;
      EXPECT_EQ(a.channels(), c.channels) << c.config;
      EXPECT_EQ(a.depth(), CV_32F);
      EXPECT_EQ(MaxAbsDiff(a, b), 0) << c.config << " train=" << train;
      if (train) {
        // Some other seed gives another augmentation.
        bool differs = false;
        for (uint64_t seed = 12; seed < 20 && !differs; ++seed) {
          Rng r3(seed);
          MVL_ASSERT_OK_AND_ASSIGN(const cv::Mat d, t.Apply(img, r3));
          differs = d.size() != a.size() || MaxAbsDiff(a, d) > 0;
        }
        EXPECT_TRUE(differs) << c.config;
      }
    }
  }
}

TEST(PipelineTest, MammoClipEvalIsMinMaxOnly) {
  const cv::Mat img = Load("input");
  MVL_ASSERT_OK_AND_ASSIGN(
      const ImageTransform t,
      ImageTransform::Create(Config("mammoclip { height: 40 width: 48 } train: false")));
  Rng rng(1);
  MVL_ASSERT_OK_AND_ASSIGN(const cv::Mat out, t.Apply(img, rng));
  EXPECT_EQ(MaxAbsDiff(out, Load("minmax_out")), 0);
  // Every augmentation off except the affine: the fused and the stepwise
  // forms agree exactly.
  const std::string only_affine =
      "mammoclip { height: 40 width: 48 hflip_p: 0 vflip_p: 0 affine_p: 1 elastic_p: 0 ";
  MVL_ASSERT_OK_AND_ASSIGN(const ImageTransform fused,
                           ImageTransform::Create(Config(only_affine + "}")));
  MVL_ASSERT_OK_AND_ASSIGN(const ImageTransform steps,
                           ImageTransform::Create(Config(only_affine + "fused: false }")));
  Rng a(3), b(3);
  EXPECT_EQ(MaxAbsDiff(*fused.Apply(img, a), *steps.Apply(img, b)), 0);
}

TEST(PipelineTest, ApplyIntoWritesThePlanarFormOfApply) {
  cv::Mat img(120, 90, CV_8UC1);
  cv::randu(img, 0, 255);
  for (const char* text : {"mammoclip { height: 60 width: 40 }", "simclr { size: 32 }", "mama { size: 48 }"}) {
    MVL_ASSERT_OK_AND_ASSIGN(const ImageTransform t, ImageTransform::Create(Config(text)));
    const int channels = 3;  // replicate one-channel pipelines
    const cv::Size size = t.output_size();
    std::vector<float> planar(static_cast<size_t>(channels) * size.area());
    Rng r1(5), r2(5);
    MVL_ASSERT_OK_AND_ASSIGN(const cv::Mat hwc, t.Apply(img, r1));
    MVL_ASSERT_OK(t.ApplyInto(img, r2, channels, planar.data()));
    for (int c = 0; c < channels; ++c) {
      for (int y = 0; y < size.height; ++y) {
        for (int x = 0; x < size.width; ++x) {
          const float expected = hwc.ptr<float>(y)[x * hwc.channels() + std::min(c, hwc.channels() - 1)];
          ASSERT_EQ(planar[(static_cast<size_t>(c) * size.height + y) * size.width + x], expected)
              << text << " c=" << c;
        }
      }
    }
  }
  MVL_ASSERT_OK_AND_ASSIGN(const ImageTransform fpn, ImageTransform::Create(Config("fpn_mil {}")));
  Rng rng(1);
  float dst[4];
  EXPECT_THAT(fpn.ApplyInto(img, rng, 1, dst), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(PipelineTest, RejectsBadConfigsAndInputs) {
  EXPECT_THAT(ImageTransform::Create(TransformConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no pipeline")));
  EXPECT_THAT(ImageTransform::Create(Config("mammoclip { hflip_p: 1.5 }")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mammoclip.hflip_p")));
  EXPECT_THAT(ImageTransform::Create(Config("mama { crop_scale_min: 0.9 crop_scale_max: 0.5 }")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mama.crop_scale")));
  EXPECT_THAT(ImageTransform::Create(Config("mgca { load_size: 100 crop: 224 }")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("load_size")));
  MVL_ASSERT_OK_AND_ASSIGN(const ImageTransform t, ImageTransform::Create(Config("mama {}")));
  Rng rng(1);
  EXPECT_THAT(t.Apply(cv::Mat(), rng), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(t.Apply(cv::Mat(4, 4, CV_16UC1), rng), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mammovl::data
