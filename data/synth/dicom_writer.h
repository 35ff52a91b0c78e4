// Writes a synthetic full-field digital mammogram as a DICOM Part 10 file with
// GDCM: Digital Mammography X-Ray Image Storage – For Presentation, 16-bit
// allocated with `bits_stored` bits, MONOCHROME1 or MONOCHROME2, and the
// mammography tags a reader relies on (ImageLaterality, ViewPosition,
// Manufacturer, spacing, window). Native or JPEG-LS / JPEG 2000 lossless.
// Files are written atomically. No LibTorch.
#ifndef MAMMOVL_DATA_SYNTH_DICOM_WRITER_H_
#define MAMMOVL_DATA_SYNTH_DICOM_WRITER_H_

#include <string>

#include <opencv2/core.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/synth/synth_config.pb.h"

namespace mammovl::data {

struct MammogramDicomInfo {
  // Patient module (the synthetic corpus fills these with fake values).
  std::string patient_name;
  std::string patient_id;
  std::string patient_birth_date;  // YYYYMMDD
  std::string patient_sex = "F";
  int patient_age_years = 0;
  // Study / series / instance.
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string sop_instance_uid;
  std::string study_date;  // YYYYMMDD
  std::string study_time = "093000";
  std::string accession_number;
  std::string study_description = "MG Screening Bilateral";
  std::string study_id = "1";
  int series_number = 1;
  int instance_number = 1;
  // Equipment.
  std::string manufacturer;
  std::string model_name;
  // Image.
  std::string laterality;           // "L" or "R"
  std::string view_position;        // "CC", "MLO", ...
  std::string patient_orientation;  // e.g. "A\\R"
  bool monochrome1 = false;
  int bits_stored = 16;
  double pixel_spacing_mm = 0.1;
  double window_center = 0;
  double window_width = 0;
  bool burned_in_annotation = false;
  SynthConfig::TransferSyntax transfer_syntax = SynthConfig::EXPLICIT_VR_LITTLE_ENDIAN;
};

// Returns the file bytes for `pixels` (stored values, CV_16U) and `info`.
// InvalidArgument for a bad image or info (names the field); Internal if GDCM
// fails to encode.
absl::StatusOr<std::string> EncodeMammogramDicom(const cv::Mat1w& pixels,
                                                 const MammogramDicomInfo& info);

// Encodes and writes atomically to `path` (the folder must exist).
absl::Status WriteMammogramDicom(absl::string_view path, const cv::Mat1w& pixels,
                                 const MammogramDicomInfo& info);

// BitsStored as written for `syntax`: `bits_stored`, except 16 for JPEG 2000,
// whose GDCM 3.0 encoder always writes the codestream with the precision of
// BitsAllocated (a decoder would otherwise "correct" the header).
int WrittenBitsStored(SynthConfig::TransferSyntax syntax, int bits_stored);

// DICOM PatientOrientation of a mammogram in display orientation, e.g.
// "A\\R" for a left CC (rows run towards the nipple, columns to the right).
std::string MammogramPatientOrientation(absl::string_view laterality, absl::string_view view);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_SYNTH_DICOM_WRITER_H_
