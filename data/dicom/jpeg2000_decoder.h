#ifndef MAMMOVL_DATA_DICOM_JPEG2000_DECODER_H_
#define MAMMOVL_DATA_DICOM_JPEG2000_DECODER_H_

// JPEG 2000 frames decoded with OpenJPEG directly. GDCM's JPEG2000Codec uses
// the same library but returns without destroying OpenJPEG's image whenever
// a codestream fails to decode, so every corrupt frame leaked; here every
// OpenJPEG object is destroyed on every path.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace mammovl::data {

// Decodes one frame: a raw codestream (J2K) or a JP2 file. The image must
// have one component of `rows` x `columns` samples at full resolution;
// samples land in a Mat of `cv_type` (CV_8U, CV_8S, CV_16U, CV_16S or
// CV_32S), keeping their low bits as GDCM's copy does. `threads` > 1 lets
// OpenJPEG decode code blocks in parallel. Errors are DataLoss and carry
// OpenJPEG's first error message.
absl::StatusOr<cv::Mat> DecodeJpeg2000(absl::string_view data, int rows,
                                       int columns, int cv_type, int threads);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DICOM_JPEG2000_DECODER_H_
