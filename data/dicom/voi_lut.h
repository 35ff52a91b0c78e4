// The Modality and VOI LUT stages of the DICOM grayscale pipeline for a
// decoded frame, with pydicom's conventions (`apply_voi_lut`): a VOI LUT
// Sequence wins over Window Center/Width; the window's output range follows
// Bits Stored and Pixel Representation (or the Modality LUT depth), rescaled
// when a rescale is present. No LibTorch.
#ifndef MAMMOVL_DATA_DICOM_VOI_LUT_H_
#define MAMMOVL_DATA_DICOM_VOI_LUT_H_

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "data/dicom/dicom_parser.h"
#include "data/image/intensity.h"

namespace mammovl::data {

// The window of index `index` (0 = first value of multi-valued Window
// Center/Width) with the file's VOI LUT Function. NotFound when the file has
// no window; InvalidArgument for an unknown function.
absl::StatusOr<WindowParams> WindowFromHeader(const DicomHeader& header,
                                              int index = 0);

// The range pydicom's `apply_windowing` maps into: [0, 2^bits - 1] for
// unsigned, [-2^(bits-1), 2^(bits-1) - 1] for signed data, the Modality LUT
// range when one exists, each rescaled by slope/intercept when present.
std::pair<double, double> WindowOutputRange(const DicomHeader& header,
                                            bool is_signed);

// True when the file has a usable VOI LUT Sequence item or window.
bool HasVoi(const DicomHeader& header);

// Applies the VOI stage to `modality_values` (e.g. from `ApplyModalityLut`):
// VOI LUT Sequence item `index` if present, else window `index`, else the
// values unchanged. `is_signed` is the decoded data's signedness
// (`DicomImage::is_signed`). Returns CV_64F.
absl::StatusOr<cv::Mat> ApplyVoiLut(const cv::Mat& modality_values,
                                    const DicomHeader& header, bool is_signed,
                                    int index = 0);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DICOM_VOI_LUT_H_
