// A fast decoder for the PNGs mammography pipelines read most: 8- or
// 16-bit grayscale, not interlaced. Inflates with libdeflate (about twice
// zlib's speed) and unfilters rows in one pass; checks every chunk's CRC and
// the zlib checksum. Other PNG forms return Unimplemented so the caller can
// fall back to OpenCV. No LibTorch.
#ifndef MAMMOVL_DATA_LOADER_PNG_DECODER_H_
#define MAMMOVL_DATA_LOADER_PNG_DECODER_H_

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::data {

// Decodes `bytes` (a whole PNG file) to CV_8UC1 or CV_16UC1 (native byte
// order). Unimplemented for color, palette, alpha, interlaced or sub-byte
// images whose chunks are all intact (so another decoder may read them);
// DataLoss naming `source` for a corrupt or truncated file, including one
// whose header gives more pixels than its compressed data can hold.
absl::StatusOr<cv::Mat> DecodeGrayPng(absl::string_view bytes, absl::string_view source);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_LOADER_PNG_DECODER_H_
