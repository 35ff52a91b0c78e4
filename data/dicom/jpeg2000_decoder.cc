#include "data/dicom/jpeg2000_decoder.h"

#include <openjpeg.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mammovl::data {
namespace {

// In-memory source for an opj_stream_t.
struct Source {
  const char* data = nullptr;
  uint64_t size = 0;
  uint64_t pos = 0;
};

OPJ_SIZE_T Read(void* buffer, OPJ_SIZE_T n, void* user) {
  auto* s = static_cast<Source*>(user);
  if (s->pos >= s->size) return static_cast<OPJ_SIZE_T>(-1);  // end of data
  const uint64_t take = std::min<uint64_t>(n, s->size - s->pos);
  std::memcpy(buffer, s->data + s->pos, take);
  s->pos += take;
  return static_cast<OPJ_SIZE_T>(take);
}

OPJ_OFF_T Skip(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<Source*>(user);
  if (n < 0) return -1;
  const uint64_t step = std::min<uint64_t>(static_cast<uint64_t>(n),
                                           s->size - s->pos);
  s->pos += step;
  return static_cast<OPJ_OFF_T>(step);
}

OPJ_BOOL Seek(OPJ_OFF_T to, void* user) {
  auto* s = static_cast<Source*>(user);
  if (to < 0 || static_cast<uint64_t>(to) > s->size) return OPJ_FALSE;
  s->pos = static_cast<uint64_t>(to);
  return OPJ_TRUE;
}

// Keeps OpenJPEG's first error; warnings and progress messages are dropped
// (OpenJPEG would print them to stderr otherwise).
void KeepFirstError(const char* message, void* user) {
  auto* first = static_cast<std::string*>(user);
  if (!first->empty()) return;
  *first = message;
  while (!first->empty() && (first->back() == '\n' || first->back() == ' '))
    first->pop_back();
}
void Ignore(const char*, void*) {}

// Owns the three OpenJPEG objects of one decode.
struct Decode {
  opj_codec_t* codec = nullptr;
  opj_stream_t* stream = nullptr;
  opj_image_t* image = nullptr;
  ~Decode() {
    if (image != nullptr) opj_image_destroy(image);
    if (stream != nullptr) opj_stream_destroy(stream);
    if (codec != nullptr) opj_destroy_codec(codec);
  }
};

template <typename T>
void Store(const OPJ_INT32* in, cv::Mat& out) {
  T* p = out.ptr<T>(0);
  const int64_t n = int64_t{out.rows} * out.cols;
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(in[i]);
}

}  // namespace

absl::StatusOr<cv::Mat> DecodeJpeg2000(absl::string_view data, int rows,
                                       int columns, int cv_type, int threads) {
  static constexpr unsigned char kJp2Signature[] = {
      0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
  const bool jp2 = data.size() >= sizeof(kJp2Signature) &&
                   std::memcmp(data.data(), kJp2Signature,
                               sizeof(kJp2Signature)) == 0;
  Source source{data.data(), data.size(), 0};
  std::string error;
  Decode d;
  d.codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  if (d.codec == nullptr)
    return absl::InternalError("OpenJPEG could not create a decoder");
  opj_set_error_handler(d.codec, KeepFirstError, &error);
  opj_set_warning_handler(d.codec, Ignore, nullptr);
  opj_set_info_handler(d.codec, Ignore, nullptr);
  opj_dparameters_t parameters;
  opj_set_default_decoder_parameters(&parameters);
  auto failed = [&](absl::string_view step) {
    return absl::DataLossError(absl::StrCat(
        "OpenJPEG could not ", step, " the JPEG 2000 frame",
        error.empty() ? "" : ": ", error));
  };
  if (!opj_setup_decoder(d.codec, &parameters)) return failed("set up");
  if (threads > 1) opj_codec_set_threads(d.codec, threads);
  d.stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
  if (d.stream == nullptr)
    return absl::InternalError("OpenJPEG could not create a stream");
  opj_stream_set_user_data(d.stream, &source, nullptr);
  opj_stream_set_user_data_length(d.stream, source.size);
  opj_stream_set_read_function(d.stream, Read);
  opj_stream_set_skip_function(d.stream, Skip);
  opj_stream_set_seek_function(d.stream, Seek);
  if (!opj_read_header(d.stream, d.codec, &d.image)) return failed("read");
  if (d.image->numcomps != 1) {
    return absl::DataLossError(absl::StrCat("JPEG 2000 frame has ",
                                            d.image->numcomps,
                                            " components; 1 expected"));
  }
  if (!opj_decode(d.codec, d.stream, d.image) ||
      !opj_end_decompress(d.codec, d.stream)) {
    return failed("decode");
  }
  const opj_image_comp_t& c = d.image->comps[0];
  if (c.data == nullptr || c.w != static_cast<OPJ_UINT32>(columns) ||
      c.h != static_cast<OPJ_UINT32>(rows) || c.factor != 0) {
    return absl::DataLossError(absl::StrCat(
        "decoded JPEG 2000 frame is ", c.w, "x", c.h, "; ", columns, "x",
        rows, " expected"));
  }
  cv::Mat out(rows, columns, cv_type);
  switch (out.depth()) {
    case CV_8U:
      Store<uint8_t>(c.data, out);
      break;
    case CV_8S:
      Store<int8_t>(c.data, out);
      break;
    case CV_16U:
      Store<uint16_t>(c.data, out);
      break;
    case CV_16S:
      Store<int16_t>(c.data, out);
      break;
    case CV_32S:
      Store<int32_t>(c.data, out);
      break;
    default:
      return absl::InvalidArgumentError("unsupported output type");
  }
  return out;
}

}  // namespace mammovl::data
