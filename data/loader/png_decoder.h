// A fast decoder for the PNGs mammography pipelines read most: 8- or
// 16-bit grayscale, not interlaced. Inflates with libdeflate (about twice
// zlib's speed) and unfilters rows in one pass; checks every chunk's CRC and
// the zlib checksum. Other PNG forms return Unimplemented so the caller can
// fall back to OpenCV. No LibTorch.
#ifndef MAMMOVL_DATA_LOADER_PNG_DECODER_H_
#define MAMMOVL_DATA_LOADER_PNG_DECODER_H_

#include <opencv2/core.hpp>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::data {

// Default bound on the pixels of one image (`LoaderConfig.max_image_pixels`):
// 100 Mpixel, seven times a full-field mammogram.
inline constexpr int64_t kDefaultMaxImagePixels = 100'000'000;

// Decodes `bytes` (a whole PNG file) to CV_8UC1 or CV_16UC1 (native byte
// order). Unimplemented for color, palette, alpha, interlaced or sub-byte
// images whose chunks are all intact (so another decoder may read them);
// DataLoss naming `source` for a corrupt or truncated file (also
// when the compressed data is too short for the declared size);
// ResourceExhausted when the header declares more than `max_pixels` pixels.
// Nothing is allocated for the pixels before these checks.
absl::StatusOr<cv::Mat> DecodeGrayPng(absl::string_view bytes, absl::string_view source,
                                      int64_t max_pixels = kDefaultMaxImagePixels);

// ResourceExhausted naming `source` if width x height exceeds `max_pixels`.
absl::Status CheckImagePixels(int64_t width, int64_t height, int64_t max_pixels,
                              absl::string_view source);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_LOADER_PNG_DECODER_H_
