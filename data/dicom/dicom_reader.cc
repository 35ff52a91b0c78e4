#include "data/dicom/dicom_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "data/dicom/jpeg2000_decoder.h"
#include "data/dicom/monotonic_clock.h"
#include "gdcmDataElement.h"
#include "gdcmFragment.h"
#include "gdcmJPEGCodec.h"
#include "gdcmJPEGLSCodec.h"
#include "gdcmPhotometricInterpretation.h"
#include "gdcmPixelFormat.h"
#include "gdcmRLECodec.h"
#include "gdcmSequenceOfFragments.h"
#include "gdcmTrace.h"

namespace mammovl::data {
namespace {

// GDCM prints warnings (some with dataset content) to std::cerr; MammoVL
// reports errors itself, so GDCM's trace is switched off once per process.
void SilenceGdcm() {
  static std::once_flag once;
  std::call_once(once, [] {
    gdcm::Trace::SetDebug(false);
    gdcm::Trace::SetWarning(false);
    gdcm::Trace::SetError(false);
  });
}

int MatType(int bits_allocated, bool is_signed) {
  switch (bits_allocated) {
    case 1:
      return CV_8UC1;
    case 8:
      return is_signed ? CV_8SC1 : CV_8UC1;
    case 16:
      return is_signed ? CV_16SC1 : CV_16UC1;
    default:
      return CV_32SC1;
  }
}

// Masks bits above `bits` and sign-extends signed values (PS3.5 8.1.1).
template <typename T>
void CleanBits(cv::Mat& m, int bits, bool is_signed) {
  using U = std::make_unsigned_t<T>;
  constexpr int kWidth = sizeof(T) * 8;
  if (bits >= kWidth) return;
  const U mask = static_cast<U>((U{1} << bits) - 1);
  const int shift = kWidth - bits;
  for (int r = 0; r < m.rows; ++r) {
    T* p = m.ptr<T>(r);
    if (is_signed) {
      for (int c = 0; c < m.cols; ++c) {
        p[c] = static_cast<T>(static_cast<T>(static_cast<U>(p[c]) << shift) >>
                              shift);
      }
    } else {
      for (int c = 0; c < m.cols; ++c)
        p[c] = static_cast<T>(static_cast<U>(p[c]) & mask);
    }
  }
}

void CleanUnusedBits(cv::Mat& m, int bits, bool is_signed) {
  switch (m.depth()) {
    case CV_8U:
    case CV_8S:
      CleanBits<int8_t>(m, bits, is_signed);
      break;
    case CV_16U:
    case CV_16S:
      CleanBits<int16_t>(m, bits, is_signed);
      break;
    case CV_32S:
      CleanBits<int32_t>(m, bits, is_signed);
      break;
    default:
      break;
  }
}

// Clamps values into the range of `bits`-bit integers.
template <typename T>
void ClampBits(cv::Mat& m, int bits, bool is_signed) {
  constexpr int kWidth = sizeof(T) * 8;
  if (bits >= kWidth) return;
  const int64_t lo = is_signed ? -(int64_t{1} << (bits - 1)) : 0;
  const int64_t hi =
      is_signed ? (int64_t{1} << (bits - 1)) - 1 : (int64_t{1} << bits) - 1;
  for (int r = 0; r < m.rows; ++r) {
    T* p = m.ptr<T>(r);
    for (int c = 0; c < m.cols; ++c)
      p[c] = static_cast<T>(std::clamp<int64_t>(p[c], lo, hi));
  }
}

void ClampToBits(cv::Mat& m, int bits, bool is_signed) {
  switch (m.depth()) {
    case CV_8U:
      ClampBits<uint8_t>(m, bits, is_signed);
      break;
    case CV_8S:
      ClampBits<int8_t>(m, bits, is_signed);
      break;
    case CV_16U:
      ClampBits<uint16_t>(m, bits, is_signed);
      break;
    case CV_16S:
      ClampBits<int16_t>(m, bits, is_signed);
      break;
    case CV_32S:
      ClampBits<int32_t>(m, bits, is_signed);
      break;
    default:
      break;
  }
}

// Copies `count` little-endian (or big-endian) words into `dst`.
void CopyWords(const char* src, void* dst, int64_t count, int bytes,
               bool big_endian) {
  if (!big_endian || bytes == 1) {
    std::memcpy(dst, src, count * bytes);
    return;
  }
  auto* out = static_cast<uint8_t*>(dst);
  const auto* in = reinterpret_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < count; ++i) {
    for (int b = 0; b < bytes; ++b)
      out[i * bytes + b] = in[i * bytes + bytes - 1 - b];
  }
}

absl::Status CheckUnsigned32(const cv::Mat& m) {
  for (int r = 0; r < m.rows; ++r) {
    const int32_t* p = m.ptr<int32_t>(r);
    for (int c = 0; c < m.cols; ++c) {
      if (p[c] < 0) {
        return absl::UnimplementedError(
            "unsigned 32-bit pixel values of 2^31 or more are not supported");
      }
    }
  }
  return absl::OkStatus();
}

// True when every value of `m` lies in the range of `bits`-bit integers,
// i.e. cleaning unused bits would change nothing.
bool AlreadyClean(const cv::Mat& m, int bits, bool is_signed) {
  const int width = static_cast<int>(m.elemSize1() * 8);
  if (bits >= width) return true;
  double mn = 0, mx = 0;
  cv::minMaxLoc(m, &mn, &mx);
  if (is_signed)
    return mn >= -std::ldexp(1.0, bits - 1) &&
           mx <= std::ldexp(1.0, bits - 1) - 1;
  return mx <= std::ldexp(1.0, bits) - 1;
}

// Decodes native frame `frame`. When `storage` owns `bytes` and the words
// need no byte swapping, the frame points into `storage` (no copy) unless
// bits above Bits Stored must be cleaned; `*view` tells which.
absl::StatusOr<cv::Mat> DecodeNativeFrame(const DicomHeader& h,
                                          absl::string_view bytes,
                                          int64_t frame, bool zero_copy,
                                          bool clean, int bits_stored,
                                          bool* view) {
  const int64_t pixels = int64_t{h.rows} * h.columns;
  const bool is_signed = h.pixel_representation == 1;
  const int type = MatType(h.bits_allocated, is_signed);
  const char* base = bytes.data() + h.pixel_data.value.offset;
  *view = false;
  if (h.bits_allocated == 1) {
    // Bits are packed little-endian across the whole Pixel Data value.
    cv::Mat m(h.rows, h.columns, type);
    const auto* in = reinterpret_cast<const uint8_t*>(base);
    uint8_t* out = m.ptr<uint8_t>(0);
    const int64_t first_bit = frame * pixels;
    for (int64_t i = 0; i < pixels; ++i) {
      const int64_t bit = first_bit + i;
      out[i] = (in[bit >> 3] >> (bit & 7)) & 1;
    }
    return m;
  }
  const int bytes_per = h.bits_allocated / 8;
  const bool big = h.transfer_syntax == TransferSyntax::kExplicitVrBigEndian;
  const char* src = base + frame * pixels * bytes_per;
  if (zero_copy && (!big || bytes_per == 1) && bytes_per <= 2) {
    cv::Mat m(h.rows, h.columns, type, const_cast<char*>(src));
    if (!clean || AlreadyClean(m, bits_stored, is_signed)) {
      *view = true;
      return m;
    }
  }
  cv::Mat m(h.rows, h.columns, type);
  CopyWords(src, m.ptr(0), pixels, bytes_per, big);
  if (clean) CleanUnusedBits(m, bits_stored, is_signed);
  return m;
}

// GDCM's JPEGLSCodec::Decode leaks the frame's compressed bytes whenever
// CharLS refuses the stream (GDCM 3.0.21: `if (!b) return false;` before
// `delete[] buffer`). DecodeExtent decodes the same way from a stream of
// fragment items, holding the bytes in a vector, straight into `out`.
class JpegLsDecoder : public gdcm::JPEGLSCodec {
 public:
  bool DecodeFrame(absl::string_view bytes,
                   const std::vector<ByteRange>& fragments, int rows,
                   int columns, char* out) {
    std::string items;
    auto add_item = [&items](uint32_t tag, absl::string_view value) {
      const uint32_t length = static_cast<uint32_t>(value.size());
      char header[8];
      for (int i = 0; i < 4; ++i)
        header[i] = static_cast<char>(tag >> (8 * ((i + 2) % 4)));
      for (int i = 0; i < 4; ++i)
        header[4 + i] = static_cast<char>(length >> (8 * i));
      items.append(header, 8);
      items.append(value.data(), value.size());
    };
    constexpr uint32_t kItem = 0xFFFEE000, kSequenceDelimiter = 0xFFFEE0DD;
    add_item(kItem, "");  // empty Basic Offset Table
    for (const ByteRange& f : fragments) {
      add_item(kItem, bytes.substr(static_cast<size_t>(f.offset),
                                   static_cast<size_t>(f.length)));
    }
    add_item(kSequenceDelimiter, "");
    std::istringstream stream(items);
    return DecodeExtent(out, 0, static_cast<unsigned int>(columns - 1), 0,
                        static_cast<unsigned int>(rows - 1), 0, 0, stream);
  }
};

absl::StatusOr<cv::Mat> DecodeCompressedFrame(
    const DicomHeader& h, absl::string_view bytes,
    const std::vector<ByteRange>& fragments, bool is_signed,
    int jpeg2000_threads) {
  if (h.transfer_syntax == TransferSyntax::kJpeg2000Lossless ||
      h.transfer_syntax == TransferSyntax::kJpeg2000) {
    std::string joined;  // a frame split over several fragments
    absl::string_view codestream;
    if (fragments.size() == 1) {
      codestream = bytes.substr(static_cast<size_t>(fragments[0].offset),
                                static_cast<size_t>(fragments[0].length));
    } else {
      for (const ByteRange& f : fragments) {
        joined.append(bytes.data() + f.offset, static_cast<size_t>(f.length));
      }
      codestream = joined;
    }
    return DecodeJpeg2000(codestream, h.rows, h.columns,
                          MatType(h.bits_allocated, is_signed),
                          jpeg2000_threads);
  }
  gdcm::SmartPointer<gdcm::SequenceOfFragments> sequence =
      new gdcm::SequenceOfFragments;
  for (const ByteRange& f : fragments) {
    gdcm::Fragment fragment;
    fragment.SetByteValue(bytes.data() + f.offset,
                          static_cast<uint32_t>(f.length));
    sequence->AddFragment(fragment);
  }
  gdcm::DataElement in(gdcm::Tag(0x7FE0, 0x0010));
  in.SetVR(gdcm::VR::OB);
  in.SetValue(*sequence);

  // GDCM's codecs end in ImageCodec::DecodeByStreams, which asserts (aborts)
  // that Bits Stored equals Bits Allocated when 8 bits are allocated. The
  // bits above Bits Stored are cleaned by the caller, so GDCM is told 8.
  const int bits_stored =
      h.bits_allocated == 8 || h.bits_stored < 0 ? h.bits_allocated
                                                 : h.bits_stored;
  const gdcm::PixelFormat pixel_format(
      1, static_cast<unsigned short>(h.bits_allocated),
      static_cast<unsigned short>(bits_stored),
      static_cast<unsigned short>(bits_stored - 1),
      static_cast<unsigned short>(h.pixel_representation));
  const unsigned int dims[3] = {static_cast<unsigned int>(h.columns),
                                static_cast<unsigned int>(h.rows), 1};
  const gdcm::PhotometricInterpretation pi(
      h.photometric_interpretation == "MONOCHROME1"
          ? gdcm::PhotometricInterpretation::MONOCHROME1
          : gdcm::PhotometricInterpretation::MONOCHROME2);
  const int64_t frame_bytes =
      int64_t{h.rows} * h.columns * (h.bits_allocated / 8);
  // The pixel format goes last: GDCM's JPEG codec copies the dimensions and
  // photometric interpretation into its 8/12/16-bit decoder when it is set.
  auto setup = [&](gdcm::ImageCodec& codec) {
    codec.SetNumberOfDimensions(2);
    codec.SetDimensions(dims);
    codec.SetPlanarConfiguration(0);
    codec.SetPhotometricInterpretation(pi);
    codec.SetNeedOverlayCleanup(false);
    codec.SetPixelFormat(pixel_format);
  };
  gdcm::DataElement out;
  bool ok = false;
  switch (h.transfer_syntax) {
    case TransferSyntax::kJpegLsLossless:
    case TransferSyntax::kJpegLsNearLossless: {
      JpegLsDecoder codec;
      setup(codec);
      cv::Mat m(h.rows, h.columns, MatType(h.bits_allocated, is_signed));
      if (!codec.DecodeFrame(bytes, fragments, h.rows, h.columns,
                             reinterpret_cast<char*>(m.ptr(0)))) {
        return absl::DataLossError(
            absl::StrCat("GDCM could not decode the ",
                         TransferSyntaxName(h.transfer_syntax), " frame"));
      }
      return m;
    }
    case TransferSyntax::kRle: {
      gdcm::RLECodec codec;
      setup(codec);
      codec.SetBufferLength(static_cast<unsigned long>(frame_bytes));
      ok = codec.Decode(in, out);
      break;
    }
    default: {
      gdcm::JPEGCodec codec;
      setup(codec);
      ok = codec.Decode(in, out);
      break;
    }
  }
  const gdcm::ByteValue* value = ok ? out.GetByteValue() : nullptr;
  if (value == nullptr) {
    return absl::DataLossError(
        absl::StrCat("GDCM could not decode the ",
                     TransferSyntaxName(h.transfer_syntax), " frame"));
  }
  if (static_cast<int64_t>(static_cast<uint64_t>(value->GetLength())) <
      frame_bytes) {
    return absl::DataLossError(
        absl::StrCat("decoded ", TransferSyntaxName(h.transfer_syntax),
                     " frame holds ", static_cast<uint64_t>(value->GetLength()),
                     " bytes, ", frame_bytes, " expected"));
  }
  cv::Mat m(h.rows, h.columns, MatType(h.bits_allocated, is_signed));
  std::memcpy(m.ptr(0), value->GetPointer(), frame_bytes);
  return m;
}

}  // namespace

DicomReader::DicomReader(ReadOptions options) : options_(std::move(options)) {
  SilenceGdcm();
}

absl::Status DicomReader::LoadFile(absl::string_view path,
                                   absl::string_view* bytes) {
  const std::string p(path);
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError("no such file");
    return absl::UnavailableError(
        absl::StrCat("cannot open: ", std::strerror(err)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError("not a regular file");
  }
  const int64_t size = st.st_size;
  if (size > options_.max_file_bytes) {
    ::close(fd);
    return absl::ResourceExhaustedError(
        absl::StrCat("file has ", size, " bytes, more than the limit of ",
                     options_.max_file_bytes));
  }
  if (size > buffer_capacity_ || buffer_.use_count() > 1) {
    // A DicomImage may still point into the previous buffer.
    buffer_.reset(new char[std::max<int64_t>(size, 1)]);
    buffer_capacity_ = size;
  }
  int64_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, buffer_.get() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return absl::DataLossError(absl::StrCat(
          "read failed after ", done,
          " bytes: ", n == 0 ? "unexpected end" : std::strerror(err)));
    }
    done += n;
  }
  ::close(fd);
  *bytes = absl::string_view(buffer_.get(), size);
  return absl::OkStatus();
}

absl::StatusOr<DicomImage> DicomReader::ReadFile(absl::string_view path) {
  const double t0 = MonotonicSeconds();
  absl::string_view bytes;
  MVL_RETURN_IF_ERROR(LoadFile(path, &bytes));
  ReadTimings timings;
  timings.io_s = MonotonicSeconds() - t0;
  return Decode(bytes, timings, buffer_);
}

absl::StatusOr<DicomImage> DicomReader::ReadBytes(absl::string_view bytes) {
  return Decode(bytes, ReadTimings(), nullptr);
}

absl::StatusOr<DicomHeader> DicomReader::ReadHeader(absl::string_view path) {
  absl::string_view bytes;
  MVL_RETURN_IF_ERROR(LoadFile(path, &bytes));
  MVL_ASSIGN_OR_RETURN(std::string inflated,
                       InflateBody(bytes, options_.max_decoded_bytes));
  return ParseDicom(inflated.empty() ? bytes : absl::string_view(inflated),
                    options_.parse);
}

absl::StatusOr<DicomImage> DicomReader::Decode(
    absl::string_view bytes, ReadTimings timings,
    std::shared_ptr<const char[]> storage) {
  const double t0 = MonotonicSeconds();
  MVL_ASSIGN_OR_RETURN(std::string inflated,
                       InflateBody(bytes, options_.max_decoded_bytes));
  if (!inflated.empty()) {
    bytes = inflated;
    storage = nullptr;  // frames are copied out of the local inflated copy
  }
  DicomImage image;
  MVL_ASSIGN_OR_RETURN(image.header, ParseDicom(bytes, options_.parse));
  const DicomHeader& h = image.header;
  MVL_RETURN_IF_ERROR(ValidateImage(h, bytes, options_.max_decoded_bytes));
  const double t1 = MonotonicSeconds();
  timings.parse_s = t1 - t0;

  image.is_signed = h.pixel_representation == 1;
  image.bits_stored = h.bits_stored < 0 ? h.bits_allocated : h.bits_stored;
  const int64_t frames_to_decode = options_.all_frames ? h.number_of_frames : 1;
  if (IsEncapsulated(h.transfer_syntax)) {
    MVL_ASSIGN_OR_RETURN(const auto frame_fragments, FrameFragments(h));
    const bool j2k = h.transfer_syntax == TransferSyntax::kJpeg2000 ||
                     h.transfer_syntax == TransferSyntax::kJpeg2000Lossless;
    const TransferSyntax ts = h.transfer_syntax;
    const bool jpeg = ts == TransferSyntax::kJpegBaseline ||
                      ts == TransferSyntax::kJpegExtended ||
                      ts == TransferSyntax::kJpegLossless ||
                      ts == TransferSyntax::kJpegLosslessSv1;
    const bool lossy = ts == TransferSyntax::kJpegBaseline ||
                       ts == TransferSyntax::kJpegExtended ||
                       ts == TransferSyntax::kJpegLsNearLossless ||
                       ts == TransferSyntax::kJpeg2000;
    int j2k_precision = 0;
    bool j2k_signed = false;
    if (j2k) {
      const ByteRange first = frame_fragments[0].front();
      MVL_ASSIGN_OR_RETURN(
          const Jpeg2000Info info,
          ParseJpeg2000Header(bytes.substr(first.offset, first.length)));
      j2k_precision = info.precision;
      j2k_signed = info.is_signed;
      // The codestream's sign and precision win over the DICOM attributes.
      image.is_signed = j2k_signed || h.pixel_representation == 1;
      image.bits_stored = j2k_precision;
    }
    for (int64_t k = 0; k < frames_to_decode; ++k) {
      MVL_ASSIGN_OR_RETURN(
          cv::Mat m,
          DecodeCompressedFrame(h, bytes, frame_fragments[k], image.is_signed,
                                options_.jpeg2000_threads));
      if (j2k && !j2k_signed && h.pixel_representation == 1) {
        // Unsigned codestream for signed data: two's complement from the
        // codestream precision (pydicom's J2K correction).
        CleanUnusedBits(m, j2k_precision, /*is_signed=*/true);
      } else {
        if (jpeg) {
          // GDCM's JPEG path always cleans bits above Bits Stored (and so
          // does pydicom through it).
          CleanUnusedBits(m, image.bits_stored, image.is_signed);
        }
        if (options_.clean_unused_bits) {
          // Lossy codecs may overshoot the stored range: clamp instead of
          // wrapping a bright overshoot to black.
          if (lossy) {
            ClampToBits(m, image.bits_stored, image.is_signed);
          } else {
            CleanUnusedBits(m, image.bits_stored, image.is_signed);
          }
        }
      }
      image.frames.push_back(std::move(m));
      image.frame_indices.push_back(k);
    }
  } else {
    for (int64_t k = 0; k < frames_to_decode; ++k) {
      bool view = false;
      MVL_ASSIGN_OR_RETURN(cv::Mat m,
                           DecodeNativeFrame(h, bytes, k, storage != nullptr,
                                             options_.clean_unused_bits,
                                             image.bits_stored, &view));
      if (view) image.storage = storage;
      image.frames.push_back(std::move(m));
      image.frame_indices.push_back(k);
    }
  }
  if (h.bits_allocated == 32 && !image.is_signed) {
    for (const cv::Mat& m : image.frames)
      MVL_RETURN_IF_ERROR(CheckUnsigned32(m));
  }
  timings.decode_s = MonotonicSeconds() - t1;
  image.timings = timings;
  return image;
}

absl::StatusOr<DicomImage> ReadDicomFile(absl::string_view path,
                                         const ReadOptions& options) {
  DicomReader reader(options);
  return reader.ReadFile(path);
}

cv::Mat ApplyModalityLut(const cv::Mat& stored, const DicomHeader& header) {
  cv::Mat values;
  stored.convertTo(values, CV_64F);
  if (header.modality_lut) {
    const LookupTable& lut = *header.modality_lut;
    for (int r = 0; r < values.rows; ++r) {
      double* p = values.ptr<double>(r);
      for (int c = 0; c < values.cols; ++c) {
        int64_t index = static_cast<int64_t>(p[c]) - lut.first_mapped;
        index = std::clamp<int64_t>(index, 0, lut.num_entries - 1);
        p[c] = lut.data[index];
      }
    }
    return values;
  }
  if (!header.has_rescale) return values;
  const double slope = header.rescale_slope;
  const double intercept = header.rescale_intercept;
  for (int r = 0; r < values.rows; ++r) {
    double* p = values.ptr<double>(r);
    for (int c = 0; c < values.cols; ++c) {
      // Two roundings, as numpy's `arr * slope` then `arr += intercept`.
      volatile double scaled = p[c] * slope;
      p[c] = scaled + intercept;
    }
  }
  return values;
}

}  // namespace mammovl::data
