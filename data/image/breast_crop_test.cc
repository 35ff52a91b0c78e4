#include "data/image/breast_crop.h"

#include <string>
#include <vector>

#include "data/image/test_util.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

cv::Mat Fixture(const std::string& name) {
  auto m = ReadNpyMat("data/image/testdata/" + name + ".npy");
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : cv::Mat();
}

std::vector<int> ToVector(const cv::Mat& m) {
  std::vector<int> v;
  for (int i = 0; i < m.cols; ++i) v.push_back(m.at<int32_t>(0, i));
  return v;
}

TEST(CountUpContinuingOnesTest, MatchesTheReferenceComments) {
  // The reference documents [0,1,1,0,1,0,0,1,1,1,0] ->
  // [-1,2,2,-1,1,-1,-1,3,3,3,-1].
  const std::vector<bool> in = {0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0};
  EXPECT_EQ(CountUpContinuingOnes(in),
            (std::vector<int>{-1, 2, 2, -1, 1, -1, -1, 3, 3, 3, -1}));
  // Runs touching an edge count one less.
  EXPECT_EQ(CountUpContinuingOnes({1, 1, 0}), (std::vector<int>{1, 1, -1}));
  EXPECT_EQ(CountUpContinuingOnes({0, 1, 1}), (std::vector<int>{-1, 1, 1}));
  EXPECT_EQ(CountUpContinuingOnes({1, 1, 1}), (std::vector<int>{1, 1, 1}));
}

TEST(FindBreastCropTest, MatchesReferenceIndices) {
  for (const std::string name :
       {"left", "right", "blob", "tie", "empty", "tiny"}) {
    const cv::Mat img = Fixture("crop_in_" + name);
    const BreastCrop crop = FindBreastCrop(img);
    EXPECT_EQ(crop.rows, ToVector(Fixture("crop_rows_" + name))) << name;
    EXPECT_EQ(crop.cols, ToVector(Fixture("crop_cols_" + name))) << name;
  }
}

TEST(ApplyBreastCropTest, GathersNonContiguousColumns) {
  const cv::Mat img = Fixture("crop_in_tie");
  const BreastCrop crop = FindBreastCrop(img);
  ASSERT_FALSE(crop.contiguous());  // the tie keeps two separate stripes
  const cv::Mat out = ApplyBreastCrop(img, crop);
  ASSERT_EQ(out.cols, crop.width());
  ASSERT_EQ(out.rows, crop.height());
  for (int i = 0; i < out.rows; ++i) {
    for (int j = 0; j < out.cols; ++j) {
      ASSERT_EQ(out.at<uint8_t>(i, j),
                img.at<uint8_t>(crop.rows[i], crop.cols[j]));
    }
  }
  cv::Mat wide;
  img.convertTo(wide, CV_16U, 100);
  const cv::Mat out16 = ApplyBreastCrop(wide, crop);
  EXPECT_EQ(out16.at<uint16_t>(0, 0),
            img.at<uint8_t>(crop.rows[0], crop.cols[0]) * 100);
}

TEST(ApplyBreastCropTest, ContiguousCropIsTheRectangle) {
  const cv::Mat img = Fixture("crop_in_left");
  const BreastCrop crop = FindBreastCrop(img);
  ASSERT_TRUE(crop.contiguous());
  const cv::Mat out = ApplyBreastCrop(img, crop);
  const cv::Mat expected =
      img(cv::Rect(crop.x(), crop.y(), crop.width(), crop.height()));
  EXPECT_EQ(cv::countNonZero(out != expected), 0);
}

}  // namespace
}  // namespace mammovl::data
