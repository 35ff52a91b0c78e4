#include "data/image/intensity.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mammovl::data {
namespace {

bool IsInteger16(int depth) {
  return depth == CV_8U || depth == CV_8S || depth == CV_16U || depth == CV_16S;
}

// Calls `fn(value)` for every pixel of `in` and stores the result in `out`
// (same size, depth `OutT`).
template <typename InT, typename OutT, typename Fn>
void MapPixels(const cv::Mat& in, cv::Mat& out, Fn fn) {
  for (int r = 0; r < in.rows; ++r) {
    const InT* src = in.ptr<InT>(r);
    OutT* dst = out.ptr<OutT>(r);
    for (int c = 0; c < in.cols; ++c) dst[c] = fn(src[c]);
  }
}

template <typename OutT, typename Fn>
void MapAnyDepth(const cv::Mat& in, cv::Mat& out, Fn fn) {
  switch (in.depth()) {
    case CV_8U:
      MapPixels<uint8_t, OutT>(in, out, fn);
      break;
    case CV_8S:
      MapPixels<int8_t, OutT>(in, out, fn);
      break;
    case CV_16U:
      MapPixels<uint16_t, OutT>(in, out, fn);
      break;
    case CV_16S:
      MapPixels<int16_t, OutT>(in, out, fn);
      break;
    case CV_32S:
      MapPixels<int32_t, OutT>(in, out, fn);
      break;
    case CV_32F:
      MapPixels<float, OutT>(in, out, fn);
      break;
    default:
      MapPixels<double, OutT>(in, out, fn);
      break;
  }
}

// Mammo-CLIP's float32 arithmetic for one value at distance `d` from the
// minimum, over a range `range` (both exact in float32).
inline float MinMaxFloat(float d, float range, float scale) {
  const float q = d / range;
  return q * scale;
}

}  // namespace

absl::StatusOr<cv::Mat> ApplyWindow(const cv::Mat& values,
                                    const WindowParams& window, double y_min,
                                    double y_max) {
  double center = window.center;
  double width = window.width;
  const double y_range = y_max - y_min;
  cv::Mat out(values.size(), CV_64F);
  if (window.function == VoiFunction::kSigmoid) {
    if (width <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "window width must be > 0 for SIGMOID (got ", width, ")"));
    }
    MapAnyDepth<double>(values, out, [&](auto v) {
      const double x = static_cast<double>(v);
      return y_range / (1 + std::exp(-4 * (x - center) / width)) + y_min;
    });
    return out;
  }
  if (window.function == VoiFunction::kLinear) {
    if (width < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "window width must be >= 1 for LINEAR (got ", width, ")"));
    }
    center -= 0.5;
    width -= 1;
  } else if (width <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "window width must be > 0 for LINEAR_EXACT (got ", width, ")"));
  }
  const double lower = center - width / 2;
  const double upper = center + width / 2;
  MapAnyDepth<double>(values, out, [&](auto v) {
    const double x = static_cast<double>(v);
    if (x <= lower) return y_min;
    if (x > upper) return y_max;
    return ((x - center) / width + 0.5) * y_range + y_min;
  });
  return out;
}

absl::StatusOr<cv::Mat> ApplyWindowToBits(const cv::Mat& values,
                                          const WindowParams& window,
                                          int bits) {
  if (bits != 8 && bits != 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("output bits must be 8 or 16 (got ", bits, ")"));
  }
  const double y_max = bits == 8 ? 255.0 : 65535.0;
  const int out_type = bits == 8 ? CV_8U : CV_16U;
  cv::Mat out(values.size(), out_type);
  if (IsInteger16(values.depth()) && !values.empty()) {
    double mn = 0, mx = 0;
    cv::minMaxLoc(values, &mn, &mx);
    const int lo = static_cast<int>(mn);
    cv::Mat domain(1, static_cast<int>(mx - mn) + 1, CV_32S);
    for (int i = 0; i < domain.cols; ++i) domain.at<int32_t>(0, i) = lo + i;
    auto mapped = ApplyWindow(domain, window, 0.0, y_max);
    if (!mapped.ok()) return mapped.status();
    std::vector<uint16_t> lut(domain.cols);
    for (int i = 0; i < domain.cols; ++i) {
      lut[i] = static_cast<uint16_t>(
          std::clamp(std::nearbyint(mapped->at<double>(0, i)), 0.0, y_max));
    }
    if (bits == 8) {
      MapAnyDepth<uint8_t>(values, out, [&](auto v) {
        return static_cast<uint8_t>(lut[v - lo]);
      });
    } else {
      MapAnyDepth<uint16_t>(values, out, [&](auto v) { return lut[v - lo]; });
    }
    return out;
  }
  auto mapped = ApplyWindow(values, window, 0.0, y_max);
  if (!mapped.ok()) return mapped.status();
  for (int r = 0; r < out.rows; ++r) {
    const double* src = mapped->ptr<double>(r);
    for (int c = 0; c < out.cols; ++c) {
      const double y = std::clamp(std::nearbyint(src[c]), 0.0, y_max);
      if (bits == 8) {
        out.ptr<uint8_t>(r)[c] = static_cast<uint8_t>(y);
      } else {
        out.ptr<uint16_t>(r)[c] = static_cast<uint16_t>(y);
      }
    }
  }
  return out;
}

cv::Mat ApplyLut(const cv::Mat& values, const std::vector<uint16_t>& lut,
                 int32_t first_mapped) {
  cv::Mat out(values.size(), CV_16U);
  const int64_t last = static_cast<int64_t>(lut.size()) - 1;
  MapAnyDepth<uint16_t>(values, out, [&](auto v) {
    const int64_t index =
        std::clamp<int64_t>(static_cast<int64_t>(v) - first_mapped, 0, last);
    return lut[index];
  });
  return out;
}

cv::Mat InvertByMax(const cv::Mat& in) {
  double mn = 0, mx = 0;
  cv::minMaxLoc(in, &mn, &mx);
  const int depth = in.depth();
  const bool widen = depth == CV_8S || depth == CV_16S || depth == CV_32S;
  cv::Mat out(in.size(), widen ? CV_32S : in.type());
  if (widen) {
    const int64_t m = static_cast<int64_t>(mx);
    MapAnyDepth<int32_t>(in, out,
                         [&](auto v) { return static_cast<int32_t>(m - v); });
  } else if (depth == CV_32F) {
    const float m = static_cast<float>(mx);
    MapPixels<float, float>(in, out, [&](float v) { return m - v; });
  } else if (depth == CV_64F) {
    MapPixels<double, double>(in, out, [&](double v) { return mx - v; });
  } else if (depth == CV_8U) {
    const int m = static_cast<int>(mx);
    MapPixels<uint8_t, uint8_t>(
        in, out, [&](uint8_t v) { return static_cast<uint8_t>(m - v); });
  } else {
    const int m = static_cast<int>(mx);
    MapPixels<uint16_t, uint16_t>(
        in, out, [&](uint16_t v) { return static_cast<uint16_t>(m - v); });
  }
  return out;
}

cv::Mat MinMaxNormalize(const cv::Mat& in, int bits, bool invert) {
  const int out_type = bits == 16 ? CV_16U : CV_8U;
  const float scale = bits == 16 ? 65535.0f : 255.0f;
  cv::Mat out(in.size(), out_type);
  if (in.empty()) return out;
  double mn = 0, mx = 0;
  cv::minMaxLoc(in, &mn, &mx);
  if (IsInteger16(in.depth())) {
    const int lo = static_cast<int>(mn);
    const int hi = static_cast<int>(mx);
    const int range = hi - lo;
    std::vector<uint16_t> lut(range + 1, 0);
    if (range > 0) {
      const float fr = static_cast<float>(range);
      for (int d = 0; d <= range; ++d) {
        lut[d] = static_cast<uint16_t>(
            MinMaxFloat(static_cast<float>(d), fr, scale));
      }
    }
    // d = v - min, or (max - v) - 0 after inversion.
    if (bits == 8 && in.depth() == CV_16U) {
      // The common case (16-bit mammograms to 8 bits): a byte table.
      std::vector<uint8_t> lut8(lut.begin(), lut.end());
      const uint8_t* table = lut8.data();
      for (int r = 0; r < in.rows; ++r) {
        const uint16_t* src = in.ptr<uint16_t>(r);
        uint8_t* dst = out.ptr<uint8_t>(r);
        if (invert) {
          for (int c = 0; c < in.cols; ++c) dst[c] = table[hi - src[c]];
        } else {
          for (int c = 0; c < in.cols; ++c) dst[c] = table[src[c] - lo];
        }
      }
      return out;
    }
    if (bits == 16) {
      if (invert) {
        MapAnyDepth<uint16_t>(in, out, [&](auto v) { return lut[hi - v]; });
      } else {
        MapAnyDepth<uint16_t>(in, out, [&](auto v) { return lut[v - lo]; });
      }
    } else {
      if (invert) {
        MapAnyDepth<uint8_t>(
            in, out, [&](auto v) { return static_cast<uint8_t>(lut[hi - v]); });
      } else {
        MapAnyDepth<uint8_t>(
            in, out, [&](auto v) { return static_cast<uint8_t>(lut[v - lo]); });
      }
    }
    return out;
  }
  // General path: the values as float32, then the same arithmetic.
  cv::Mat x;
  in.convertTo(x, CV_32F);
  float fmin = 0, fmax = 0;
  {
    double a = 0, b = 0;
    cv::minMaxLoc(x, &a, &b);
    fmin = static_cast<float>(a);
    fmax = static_cast<float>(b);
  }
  if (invert) {
    for (int r = 0; r < x.rows; ++r) {
      float* p = x.ptr<float>(r);
      for (int c = 0; c < x.cols; ++c) p[c] = fmax - p[c];
    }
    const float new_min = fmax - fmax;
    const float new_max = fmax - fmin;
    fmin = new_min;
    fmax = new_max;
  }
  const float range = fmax - fmin;
  for (int r = 0; r < x.rows; ++r) {
    const float* p = x.ptr<float>(r);
    for (int c = 0; c < x.cols; ++c) {
      const float d = p[c] - fmin;
      const float y = range > 0 ? MinMaxFloat(d, range, scale) : 0.0f;
      if (bits == 16) {
        out.ptr<uint16_t>(r)[c] = static_cast<uint16_t>(y);
      } else {
        out.ptr<uint8_t>(r)[c] = static_cast<uint8_t>(y);
      }
    }
  }
  return out;
}

cv::Mat ScaleByMaxTo8Bit(const cv::Mat& in, bool invert) {
  double mn = 0, mx = 0;
  cv::minMaxLoc(in, &mn, &mx);
  cv::Mat out;
  if (mx <= 0) {
    out = cv::Mat::zeros(in.size(), CV_8U);
  } else {
    cv::convertScaleAbs(in, out, 255.0 / mx);
  }
  if (invert) cv::subtract(cv::Scalar(255), out, out);
  return out;
}

}  // namespace mammovl::data
