#include "data/image/intensity.h"

#include <string>

#include "core/status_matchers.h"
#include "data/image/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;

cv::Mat Fixture(const std::string& name) {
  auto m = ReadNpyMat("data/image/testdata/" + name + ".npy");
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : cv::Mat();
}

TEST(MinMaxNormalizeTest, HandComputedValues) {
  const cv::Mat in = (cv::Mat_<uint16_t>(1, 4) << 10, 11, 12, 13);
  const cv::Mat out = MinMaxNormalize(in, 8);
  ASSERT_EQ(out.type(), CV_8U);
  // (d / 3) * 255 in float32, truncated: 0, 85, 170, 255.
  EXPECT_EQ(out.at<uint8_t>(0, 0), 0);
  EXPECT_EQ(out.at<uint8_t>(0, 1), 85);
  EXPECT_EQ(out.at<uint8_t>(0, 2), 170);
  EXPECT_EQ(out.at<uint8_t>(0, 3), 255);
  const cv::Mat inverted = MinMaxNormalize(in, 8, /*invert=*/true);
  EXPECT_EQ(inverted.at<uint8_t>(0, 0), 255);
  EXPECT_EQ(inverted.at<uint8_t>(0, 3), 0);
}

TEST(MinMaxNormalizeTest, ConstantImageGivesZeros) {
  const cv::Mat in(3, 3, CV_16U, cv::Scalar(500));
  EXPECT_EQ(cv::countNonZero(MinMaxNormalize(in, 8)), 0);
  EXPECT_EQ(cv::countNonZero(MinMaxNormalize(in, 16, true)), 0);
}

// The lookup-table path (integer input) and the float path agree with
// NumPy's float32 arithmetic bit for bit.
TEST(MinMaxNormalizeTest, MatchesNumpyFloat32Recipe) {
  for (const std::string type : {"u16", "s16", "f32"}) {
    const cv::Mat in = Fixture("minmax_in_" + type);
    for (const bool invert : {false, true}) {
      const std::string suffix = type + (invert ? "_inv" : "");
      EXPECT_EQ(CountDifferences(MinMaxNormalize(in, 8, invert),
                                 Fixture("minmax_out8_" + suffix)),
                0)
          << suffix;
      const cv::Mat out16 = MinMaxNormalize(in, 16, invert);
      EXPECT_EQ(out16.type(), CV_16U);
      EXPECT_EQ(CountDifferences(out16, Fixture("minmax_out16_" + suffix)), 0)
          << suffix;
    }
  }
}

TEST(MinMaxNormalizeTest, WorksOnViews) {
  const cv::Mat in = Fixture("minmax_in_u16");
  const cv::Mat view = in(cv::Rect(5, 5, in.cols - 10, in.rows - 10));
  EXPECT_EQ(CountDifferences(MinMaxNormalize(view, 8),
                             MinMaxNormalize(view.clone(), 8)),
            0);
}

TEST(ScaleByMaxTest, MatchesConvertScaleAbsReference) {
  const cv::Mat in = Fixture("mama_in_u16");
  EXPECT_EQ(CountDifferences(ScaleByMaxTo8Bit(in), Fixture("mama_out")), 0);
  EXPECT_EQ(
      CountDifferences(ScaleByMaxTo8Bit(in, true), Fixture("mama_out_inv")), 0);
}

TEST(InvertByMaxTest, SignedInputWidens) {
  const cv::Mat in = (cv::Mat_<int16_t>(1, 3) << -32768, 0, 32767);
  const cv::Mat out = InvertByMax(in);
  ASSERT_EQ(out.type(), CV_32S);
  EXPECT_EQ(out.at<int32_t>(0, 0), 65535);
  EXPECT_EQ(out.at<int32_t>(0, 2), 0);
  const cv::Mat u = (cv::Mat_<uint16_t>(1, 2) << 7, 100);
  EXPECT_EQ(InvertByMax(u).at<uint16_t>(0, 0), 93);
}

struct WindowCase {
  const char* name;
  WindowParams params;
};

// pydicom's apply_windowing (8-bit output range) is the reference.
TEST(ApplyWindowTest, MatchesPydicom) {
  const cv::Mat in = Fixture("window_in");
  const WindowCase cases[] = {
      {"LINEAR_128_101", {128, 101, VoiFunction::kLinear}},
      {"LINEAR_EXACT_128.5_100.5", {128.5, 100.5, VoiFunction::kLinearExact}},
      {"SIGMOID_100_80", {100, 80, VoiFunction::kSigmoid}},
      {"LINEAR_10_1", {10, 1, VoiFunction::kLinear}},
  };
  for (const WindowCase& c : cases) {
    MVL_ASSERT_OK_AND_ASSIGN(const cv::Mat out,
                             ApplyWindow(in, c.params, 0, 255));
    EXPECT_EQ(CountDifferences(
                  out, Fixture(std::string("window_out_") + c.name), 1e-9),
              0)
        << c.name;
    MVL_ASSERT_OK_AND_ASSIGN(const cv::Mat out8,
                             ApplyWindowToBits(in, c.params, 8));
    EXPECT_EQ(CountDifferences(
                  out8, Fixture(std::string("window_out_") + c.name), 0.5),
              0)
        << c.name;
  }
}

TEST(ApplyWindowTest, RejectsInvalidWidths) {
  const cv::Mat in(2, 2, CV_16U, cv::Scalar(3));
  EXPECT_THAT(ApplyWindow(in, {10, 0.5, VoiFunction::kLinear}, 0, 255),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       testing::HasSubstr("LINEAR")));
  EXPECT_THAT(ApplyWindow(in, {10, 0, VoiFunction::kLinearExact}, 0, 255),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ApplyWindow(in, {10, -1, VoiFunction::kSigmoid}, 0, 255),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ApplyWindowToBits(in, {10, 5, VoiFunction::kLinear}, 12),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ApplyWindowTest, SixteenBitOutputSpansFullRange) {
  const cv::Mat in = (cv::Mat_<uint16_t>(1, 3) << 0, 2048, 4095);
  MVL_ASSERT_OK_AND_ASSIGN(
      const cv::Mat out,
      ApplyWindowToBits(in, {2048, 4096, VoiFunction::kLinearExact}, 16));
  ASSERT_EQ(out.type(), CV_16U);
  EXPECT_EQ(out.at<uint16_t>(0, 0), 0);
  EXPECT_EQ(out.at<uint16_t>(0, 1), 32768);  // (0/4096 + 0.5) * 65535 rounded
  EXPECT_EQ(out.at<uint16_t>(0, 2), 65519);  // ((4095-2048)/4096 + 0.5) * 65535
}

TEST(ApplyLutTest, ClampsBelowAndAbove) {
  const std::vector<uint16_t> lut = {100, 200, 300};
  const cv::Mat in = (cv::Mat_<int16_t>(1, 5) << -10, 4, 5, 6, 50);
  const cv::Mat out = ApplyLut(in, lut, /*first_mapped=*/4);
  EXPECT_EQ(out.at<uint16_t>(0, 0), 100);
  EXPECT_EQ(out.at<uint16_t>(0, 1), 100);
  EXPECT_EQ(out.at<uint16_t>(0, 2), 200);
  EXPECT_EQ(out.at<uint16_t>(0, 3), 300);
  EXPECT_EQ(out.at<uint16_t>(0, 4), 300);
}

}  // namespace
}  // namespace mammovl::data
