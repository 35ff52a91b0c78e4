#include "train/loss_curve.h"

#include <cmath>
#include <string>

#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/imgcodecs.hpp"

namespace mammovl::train {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

TEST(LossCurveTest, WritesAPngOfTheLossSeries) {
  MetricsSeries series;
  for (int step = 10; step <= 600; step += 10) {
    series["loss"].emplace_back(step, 2.0 / std::sqrt(step));
    series["loss_i2t"].emplace_back(step, 1.0 / std::sqrt(step));
    series["lr"].emplace_back(step, 1e-4);
  }
  series["loss"].emplace_back(610, std::nan(""));  // a skipped step
  MVL_ASSERT_OK(WriteLossCurve(series, TempDir()));
  const cv::Mat image = cv::imread(TempDir() + "/loss_curve.png");
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.cols, 960);
  EXPECT_EQ(image.rows, 640);
  // Not a blank canvas: the curves and axes drew something.
  cv::Scalar mean, stddev;
  cv::meanStdDev(image, mean, stddev);
  EXPECT_GT(stddev[0], 5.0);
}

TEST(LossCurveTest, NeedsAFiniteLoss) {
  MetricsSeries series;
  series["lr"].emplace_back(1, 1e-3);
  series["loss"].emplace_back(1, std::nan(""));
  EXPECT_THAT(WriteLossCurve(series, TempDir()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no finite value")));
}

}  // namespace
}  // namespace mammovl::train
