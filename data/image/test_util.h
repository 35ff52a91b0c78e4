// Test helpers of data/image: .npy fixtures as cv::Mat. Test-only.
#ifndef MAMMOVL_DATA_IMAGE_TEST_UTIL_H_
#define MAMMOVL_DATA_IMAGE_TEST_UTIL_H_

#include <opencv2/core.hpp>
#include <string>

#include "absl/status/statusor.h"

namespace mammovl::data {

// Reads a 2-D (or 1-D, as one row) .npy array of u1, i1, u2, i2, i4, i8
// (as CV_32S when it fits), f4 or f8 into a matrix of the matching depth.
absl::StatusOr<cv::Mat> ReadNpyMat(const std::string& path);

// Returns the number of pixels where `a` and `b` differ by more than
// `tolerance` (both converted to double); -1 when sizes differ.
int64_t CountDifferences(const cv::Mat& a, const cv::Mat& b,
                         double tolerance = 0);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_IMAGE_TEST_UTIL_H_
