// Reads monochrome DICOM images into OpenCV matrices of stored values.
// Every file is first parsed and validated by `ParseDicom`/`ValidateImage`
// (data/dicom/dicom_parser.h). Native pixel data (implicit/explicit little
// endian, big endian, deflated) are converted here; compressed frames (JPEG
// baseline/extended/lossless, JPEG-LS, RLE) are handed, one frame at a
// time, to GDCM's codecs after their bitstream headers were checked; JPEG
// 2000 frames go to OpenJPEG directly (jpeg2000_decoder.h). GDCM never
// parses the file itself. No LibTorch.
#ifndef MAMMOVL_DATA_DICOM_DICOM_READER_H_
#define MAMMOVL_DATA_DICOM_DICOM_READER_H_

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/dicom/dicom_parser.h"

namespace mammovl::data {

struct ReadOptions {
  ParseOptions parse;
  // Decode every frame of a multi-frame file instead of only the first.
  bool all_frames = false;
  // Mask bits above Bits Stored and sign-extend signed values from the
  // stored bit width (PS3.5 8.1.1), as GDCM does. When false, the full
  // Bits Allocated word is returned, as pydicom 2.3 does.
  bool clean_unused_bits = true;
  // Threads OpenJPEG may use for one JPEG 2000 frame (0 or 1: the caller's
  // thread only).
  int jpeg2000_threads = 1;
  // Files larger than this are refused before they are read
  // (ResourceExhausted).
  int64_t max_file_bytes = int64_t{4} << 30;
  // Bound on the decoded size of all decoded frames (ResourceExhausted).
  int64_t max_decoded_bytes = int64_t{2} << 30;
};

// Wall-clock seconds spent in each step of one read.
struct ReadTimings {
  double io_s = 0;      // reading the file
  double parse_s = 0;   // parsing and validating (and inflating)
  double decode_s = 0;  // converting or decompressing pixels
};

struct DicomImage {
  DicomHeader header;
  // Stored pixel values, one single-channel matrix of `rows` x `columns` per
  // decoded frame: CV_8U (Bits Allocated 1 or 8, unsigned), CV_8S, CV_16U,
  // CV_16S or CV_32S (Bits Allocated 32; unsigned values must stay below
  // 2^31). No rescale, VOI LUT or inversion is applied.
  std::vector<cv::Mat> frames;
  // Index of each decoded frame within the file.
  std::vector<int64_t> frame_indices;
  // Memory that `frames` may point into (native data are not copied out of
  // the file buffer). Clone a frame to keep it beyond this DicomImage.
  std::shared_ptr<const char[]> storage;
  // Effective signedness and bit width of the stored values. They differ
  // from the header when a JPEG 2000 codestream declares another sign or
  // precision than the DICOM attributes; the codestream wins, as in pydicom.
  bool is_signed = false;
  int bits_stored = 0;
  ReadTimings timings;
};

// Reads DICOM files, reusing its file buffer between calls. Not thread-safe:
// use one reader per thread.
class DicomReader {
 public:
  explicit DicomReader(ReadOptions options = {});

  // Reads, validates and decodes the file at `path`. Errors name no patient
  // data; callers prefix the path. Codes: NotFound (no such file),
  // InvalidArgument (not DICOM), DataLoss (corrupt or truncated),
  // Unimplemented (colour, unsupported syntax or bit depth),
  // FailedPrecondition (no Pixel Data), ResourceExhausted (size limits).
  absl::StatusOr<DicomImage> ReadFile(absl::string_view path);

  // Same for a file already in memory.
  absl::StatusOr<DicomImage> ReadBytes(absl::string_view bytes);

  // Reads and parses the file at `path` without validating or decoding pixels.
  absl::StatusOr<DicomHeader> ReadHeader(absl::string_view path);

  const ReadOptions& options() const { return options_; }

 private:
  absl::Status LoadFile(absl::string_view path, absl::string_view* bytes);
  // `storage`, when not null, owns `bytes`; native frames then point into it.
  absl::StatusOr<DicomImage> Decode(absl::string_view bytes,
                                    ReadTimings timings,
                                    std::shared_ptr<const char[]> storage);

  ReadOptions options_;
  // Reused for the next file unless a DicomImage still holds it.
  std::shared_ptr<char[]> buffer_;
  int64_t buffer_capacity_ = 0;
};

// Convenience wrapper: a one-off `DicomReader(options).ReadFile(path)`.
absl::StatusOr<DicomImage> ReadDicomFile(absl::string_view path,
                                         const ReadOptions& options = {});

// Applies the Modality LUT (Rescale Slope/Intercept, or a Modality LUT
// Sequence) to `stored` the way pydicom's `apply_modality_lut` does: a LUT
// gives its entries; a rescale gives `stored * slope + intercept` in double;
// neither gives the stored values converted to double. Returns CV_64F.
cv::Mat ApplyModalityLut(const cv::Mat& stored, const DicomHeader& header);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DICOM_DICOM_READER_H_
