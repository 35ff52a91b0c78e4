// libFuzzer target: image bytes as the loader reads them (ReadGrayImage):
// the fast grayscale PNG decoder, and OpenCV's decoder for what it does not
// handle. A decoded image must have the size its header gives and be
// readable to the last pixel.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "data/loader/png_decoder.h"
#include "tools/fuzz/fuzz_check.h"

namespace {

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // OpenCV's own bound on decoded pixels (default 2^30) is above libFuzzer's
  // 2 GiB malloc limit for 16-bit images; 64 Mpixel is a large mammogram.
  setenv("OPENCV_IO_MAX_IMAGE_PIXELS", "67108864", 1);
  cv::setNumThreads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto fast = mammovl::data::DecodeGrayPng(bytes, "fuzz.png");
  if (fast.ok()) {
    MVL_FUZZ_CHECK(size >= 24);
    MVL_FUZZ_CHECK(static_cast<uint32_t>(fast->cols) ==
                       BigEndian32(data + 16) &&
                   static_cast<uint32_t>(fast->rows) == BigEndian32(data + 20));
    MVL_FUZZ_CHECK(fast->type() == CV_8UC1 || fast->type() == CV_16UC1);
    MVL_FUZZ_CHECK(cv::sum(*fast)[0] >= 0);  // touches every pixel
    return 0;
  }
  MVL_FUZZ_CHECK(!fast.status().message().empty());
  if (!absl::IsUnimplemented(fast.status())) return 0;
  const cv::Mat buffer(1, static_cast<int>(size), CV_8UC1,
                       const_cast<uint8_t*>(data));
  const cv::Mat image = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
  if (!image.empty()) MVL_FUZZ_CHECK(cv::sum(image)[0] >= 0);
  return 0;
}
