#include "data/image/test_util.h"

#include <cstring>

#include "absl/status/status.h"
#include "core/npy.h"
#include "core/status_macros.h"

namespace mammovl::data {

absl::StatusOr<cv::Mat> ReadNpyMat(const std::string& path) {
  MVL_ASSIGN_OR_RETURN(const core::NpyArray array, core::ReadNpy(path));
  if (array.fortran_order)
    return absl::InvalidArgumentError(path + ": Fortran order");
  int rows = 1, cols = 1;
  if (array.shape.size() == 1) {
    cols = static_cast<int>(array.shape[0]);
  } else if (array.shape.size() == 2) {
    rows = static_cast<int>(array.shape[0]);
    cols = static_cast<int>(array.shape[1]);
  } else {
    return absl::InvalidArgumentError(path + ": not 1-D or 2-D");
  }
  const std::string& d = array.descr;
  int type = -1;
  if (d == "|u1") type = CV_8U;
  if (d == "|i1") type = CV_8S;
  if (d == "<u2") type = CV_16U;
  if (d == "<i2") type = CV_16S;
  if (d == "<i4") type = CV_32S;
  if (d == "<f4") type = CV_32F;
  if (d == "<f8") type = CV_64F;
  if (d == "<i8") {
    cv::Mat m(rows, cols, CV_32S);
    const auto* src = reinterpret_cast<const int64_t*>(array.data.data());
    for (int i = 0; i < rows * cols; ++i)
      m.ptr<int32_t>(0)[i] = static_cast<int32_t>(src[i]);
    return m;
  }
  if (type < 0)
    return absl::InvalidArgumentError(path + ": unsupported dtype " + d);
  cv::Mat m(rows, cols, type);
  std::memcpy(m.ptr(0), array.data.data(), array.data.size());
  return m;
}

int64_t CountDifferences(const cv::Mat& a, const cv::Mat& b, double tolerance) {
  if (a.size() != b.size()) return -1;
  cv::Mat da, db;
  a.convertTo(da, CV_64F);
  b.convertTo(db, CV_64F);
  int64_t count = 0;
  for (int r = 0; r < da.rows; ++r) {
    for (int c = 0; c < da.cols; ++c) {
      if (std::abs(da.at<double>(r, c) - db.at<double>(r, c)) > tolerance)
        ++count;
    }
  }
  return count;
}

}  // namespace mammovl::data
