#include "data/loader/png_decoder.h"

#include <libdeflate.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mammovl::data {
namespace {

constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

inline uint8_t Paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<uint8_t>(a);
  if (pb <= pc) return static_cast<uint8_t>(b);
  return static_cast<uint8_t>(c);
}

struct DecompressorDeleter {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

}  // namespace

absl::Status CheckImagePixels(int64_t width, int64_t height, int64_t max_pixels,
                              absl::string_view source) {
  if (max_pixels > 0 && width > 0 && height > 0 && width > max_pixels / height) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "image '", source, "' is ", width, "x", height, " = ", width * height,
        " pixels, more than max_image_pixels ", max_pixels, "; refused"));
  }
  return absl::OkStatus();
}

absl::StatusOr<cv::Mat> DecodeGrayPng(absl::string_view bytes, absl::string_view source,
                                      int64_t max_pixels) {
  auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("PNG '", source, "': ", why));
  };
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  if (size < 8 || std::memcmp(data, kSignature, 8) != 0) return corrupt("not a PNG file");
  size_t pos = 8;
  uint32_t width = 0, height = 0;
  int depth = 0;
  bool have_header = false;
  std::string idat;
  bool ended = false;
  // Set when the caller has to decode the file (OpenCV): only after every
  // chunk was checked, so that no other decoder sees a truncated or corrupt
  // file (libpng allocates what a chunk's length says before reading it).
  const char* other_form = nullptr;
  while (!ended) {
    if (pos + 12 > size) return corrupt("truncated chunk");
    const uint32_t length = BigEndian32(data + pos);
    if (length > size - pos - 12) return corrupt("chunk runs past the end of the file");
    const unsigned char* type = data + pos + 4;
    const unsigned char* body = data + pos + 8;
    const uint32_t crc = BigEndian32(body + length);
    if (libdeflate_crc32(0, type, length + 4) != crc) return corrupt("chunk CRC mismatch");
    const bool is_header = std::memcmp(type, "IHDR", 4) == 0;
    // PNG: IHDR first and only once (a second one would silently change
    // the geometry the data is decoded with).
    if (is_header != (pos == 8)) {
      return corrupt(is_header ? "IHDR is not the first chunk"
                               : "first chunk is not IHDR");
    }
    if (is_header) {
      if (length != 13) return corrupt("bad IHDR");
      width = BigEndian32(body);
      height = BigEndian32(body + 4);
      depth = body[8];
      const int color = body[9], compression = body[10], filter = body[11], interlace = body[12];
      if (width == 0 || height == 0 || width > (1u << 16) || height > (1u << 16)) {
        return corrupt("bad image size");
      }
      MVL_RETURN_IF_ERROR(CheckImagePixels(width, height, max_pixels, source));
      if (compression != 0 || filter != 0) return corrupt("unknown compression or filter method");
      if (color != 0 || (depth != 8 && depth != 16) || interlace != 0) {
        other_form = "PNG form not handled by the fast decoder";
      }
      have_header = true;
    } else if (std::memcmp(type, "IDAT", 4) == 0) {
      if (!have_header) return corrupt("IDAT before IHDR");
      if (other_form == nullptr)
        idat.append(reinterpret_cast<const char*>(body), length);
    } else if (std::memcmp(type, "IEND", 4) == 0) {
      ended = true;
    } else if (!(type[0] & 0x20) && other_form == nullptr) {
      other_form = "PNG with an unknown critical chunk";
    }
    pos += 12 + static_cast<size_t>(length);
  }
  if (!have_header) return corrupt("no image header");
  if (other_form != nullptr) return absl::UnimplementedError(other_form);
  if (idat.empty()) return corrupt("no image data");

  const size_t bpp = depth / 8;  // bytes per pixel (gray)
  const size_t row_bytes = static_cast<size_t>(width) * bpp;
  const size_t expected = static_cast<size_t>(height) * (row_bytes + 1);
  // Deflate expands at most ~1032:1: a small file cannot hold a big image.
  if (expected / 1032 > idat.size() + 64) {
    return corrupt(absl::StrCat(idat.size(), " bytes of compressed data cannot hold ", width, "x",
                                height, " pixels"));
  }
  std::unique_ptr<unsigned char[]> raw(new unsigned char[expected]);
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorDeleter> decompressor(
      libdeflate_alloc_decompressor());
  size_t actual = 0;
  const libdeflate_result result = libdeflate_zlib_decompress(
      decompressor.get(), idat.data(), idat.size(), raw.get(), expected, &actual);
  if (result != LIBDEFLATE_SUCCESS || actual != expected) return corrupt("corrupt image data");

  cv::Mat out(static_cast<int>(height), static_cast<int>(width), depth == 8 ? CV_8UC1 : CV_16UC1);
  std::unique_ptr<unsigned char[]> zero(new unsigned char[row_bytes]());
  const unsigned char* prev = zero.get();
  for (uint32_t y = 0; y < height; ++y) {
    const unsigned char* in = raw.get() + y * (row_bytes + 1);
    const int filter = in[0];
    ++in;
    unsigned char* cur = out.ptr<unsigned char>(static_cast<int>(y));
    switch (filter) {
      case 0:
        std::memcpy(cur, in, row_bytes);
        break;
      case 1:
        for (size_t i = 0; i < row_bytes; ++i) {
          cur[i] = static_cast<unsigned char>(in[i] + (i >= bpp ? cur[i - bpp] : 0));
        }
        break;
      case 2:
        for (size_t i = 0; i < row_bytes; ++i) cur[i] = static_cast<unsigned char>(in[i] + prev[i]);
        break;
      case 3:
        for (size_t i = 0; i < row_bytes; ++i) {
          const int left = i >= bpp ? cur[i - bpp] : 0;
          cur[i] = static_cast<unsigned char>(in[i] + ((left + prev[i]) >> 1));
        }
        break;
      case 4:
        for (size_t i = 0; i < row_bytes; ++i) {
          const int left = i >= bpp ? cur[i - bpp] : 0;
          const int up_left = i >= bpp ? prev[i - bpp] : 0;
          cur[i] = static_cast<unsigned char>(in[i] + Paeth(left, prev[i], up_left));
        }
        break;
      default:
        return corrupt(absl::StrCat("unknown row filter ", filter));
    }
    prev = cur;
  }
  if (depth == 16) {  // PNG stores big-endian samples
    for (int y = 0; y < out.rows; ++y) {
      uint16_t* row = out.ptr<uint16_t>(y);
      for (int x = 0; x < out.cols; ++x) row[x] = static_cast<uint16_t>((row[x] >> 8) | (row[x] << 8));
    }
  }
  return out;
}

}  // namespace mammovl::data
