// Seconds on a monotonic clock, for the per-stage timings of data/dicom and
// data/preprocess. No LibTorch.
#ifndef MAMMOVL_DATA_DICOM_MONOTONIC_CLOCK_H_
#define MAMMOVL_DATA_DICOM_MONOTONIC_CLOCK_H_

#include <chrono>

namespace mammovl::data {

// Returns seconds since an arbitrary fixed point (std::chrono::steady_clock).
inline double MonotonicSeconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DICOM_MONOTONIC_CLOCK_H_
