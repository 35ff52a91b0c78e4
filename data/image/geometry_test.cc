#include "data/image/geometry.h"

#include "core/status_matchers.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;

TEST(TrimBorderTest, ReturnsInnerView) {
  cv::Mat in(20, 30, CV_16U);
  for (int r = 0; r < in.rows; ++r) {
    for (int c = 0; c < in.cols; ++c)
      in.at<uint16_t>(r, c) = static_cast<uint16_t>(r * 100 + c);
  }
  MVL_ASSERT_OK_AND_ASSIGN(const cv::Mat out, TrimBorder(in, 5));
  EXPECT_EQ(out.size(), cv::Size(20, 10));
  EXPECT_EQ(out.at<uint16_t>(0, 0), 505);
  EXPECT_EQ(out.at<uint16_t>(9, 19), 1424);
  EXPECT_EQ(out.data, in.ptr(5) + 5 * sizeof(uint16_t));  // a view, not a copy
  EXPECT_THAT(TrimBorder(in, 10), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TrimBorder(in, -1), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(LongSideSizeTest, FloorsTheShortSide) {
  EXPECT_EQ(LongSideSize(cv::Size(2560, 3328), 1024),
            cv::Size(787, 1024));  // 2560*1024/3328 = 787.69
  EXPECT_EQ(LongSideSize(cv::Size(3328, 2560), 1024), cv::Size(1024, 787));
  EXPECT_EQ(LongSideSize(cv::Size(100, 100), 518), cv::Size(518, 518));
  EXPECT_EQ(LongSideSize(cv::Size(1, 5000), 10), cv::Size(1, 10));
}

TEST(ResizeAreaTest, AveragesBlocks) {
  const cv::Mat in = (cv::Mat_<uint8_t>(2, 4) << 0, 2, 10, 20, 4, 6, 30, 40);
  const cv::Mat out = ResizeArea(in, cv::Size(2, 1));
  ASSERT_EQ(out.size(), cv::Size(2, 1));
  EXPECT_EQ(out.at<uint8_t>(0, 0), 3);
  EXPECT_EQ(out.at<uint8_t>(0, 1), 25);
}

TEST(PadToAspectTest, CentresWithFloorBeforeCeilAfter) {
  const cv::Mat in(4, 1, CV_8U, cv::Scalar(9));
  Padding pad;
  const cv::Mat out = PadToAspect(in, 1.0, 0, &pad);
  EXPECT_EQ(out.size(), cv::Size(4, 4));
  EXPECT_EQ(pad.left, 1);
  EXPECT_EQ(pad.right, 2);
  EXPECT_EQ(out.at<uint8_t>(0, 1), 9);
  EXPECT_EQ(out.at<uint8_t>(0, 0), 0);
  const cv::Mat wide(2, 7, CV_8U, cv::Scalar(1));
  const cv::Mat tall = PadToAspect(wide, 0.5, 0, &pad);
  EXPECT_EQ(tall.size(), cv::Size(7, 14));
  EXPECT_EQ(pad.top, 6);
  EXPECT_EQ(pad.bottom, 6);
}

TEST(BreastSideTest, FromDicomPrefersPatientOrientation) {
  EXPECT_EQ(BreastSideFromDicom("A", "R"), BreastSide::kLeft);
  EXPECT_EQ(BreastSideFromDicom("P", "L"), BreastSide::kRight);
  EXPECT_EQ(BreastSideFromDicom("", "L"), BreastSide::kLeft);
  EXPECT_EQ(BreastSideFromDicom("", "R"), BreastSide::kRight);
  EXPECT_EQ(BreastSideFromDicom("", ""), BreastSide::kUnknown);
}

TEST(BreastSideTest, FromPixelsPicksBrighterHalf) {
  cv::Mat img(10, 10, CV_8U, cv::Scalar(0));
  img(cv::Rect(6, 0, 4, 10)) = 200;
  EXPECT_EQ(BreastSideFromPixels(img), BreastSide::kRight);
  EXPECT_EQ(BreastSideFromPixels(FlipHorizontal(img)), BreastSide::kLeft);
  EXPECT_EQ(BreastSideFromPixels(cv::Mat(4, 4, CV_8U, cv::Scalar(5))),
            BreastSide::kUnknown);
}

}  // namespace
}  // namespace mammovl::data
