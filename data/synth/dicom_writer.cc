#include "data/synth/dicom_writer.h"

#include <cmath>
#include <cstring>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "gdcmDataElement.h"
#include "gdcmDataSet.h"
#include "gdcmFile.h"
#include "gdcmImage.h"
#include "gdcmImageChangeTransferSyntax.h"
#include "gdcmImageWriter.h"
#include "gdcmPhotometricInterpretation.h"
#include "gdcmPixelFormat.h"
#include "gdcmTag.h"
#include "gdcmTransferSyntax.h"
#include "gdcmVR.h"

namespace mammovl::data {
namespace {

// Digital Mammography X-Ray Image Storage – For Presentation.
constexpr char kMammographyForPresentation[] = "1.2.840.10008.5.1.4.1.1.1.2";

void SetString(gdcm::DataSet& ds, uint16_t group, uint16_t element, gdcm::VR vr,
               std::string value) {
  if (value.size() % 2 == 1) value.push_back(vr == gdcm::VR::UI ? '\0' : ' ');
  gdcm::DataElement de(gdcm::Tag(group, element));
  de.SetVR(vr);
  de.SetByteValue(value.data(), static_cast<uint32_t>(value.size()));
  ds.Replace(de);
}

std::string FormatDs(double v) {
  // Decimal strings hold at most 16 characters.
  std::string s = absl::StrFormat("%.6g", v);
  return s.substr(0, 16);
}

gdcm::TransferSyntax::TSType ToGdcm(SynthConfig::TransferSyntax ts) {
  switch (ts) {
    case SynthConfig::IMPLICIT_VR_LITTLE_ENDIAN: return gdcm::TransferSyntax::ImplicitVRLittleEndian;
    case SynthConfig::JPEG_LS_LOSSLESS: return gdcm::TransferSyntax::JPEGLSLossless;
    case SynthConfig::JPEG_2000_LOSSLESS: return gdcm::TransferSyntax::JPEG2000Lossless;
    case SynthConfig::EXPLICIT_VR_LITTLE_ENDIAN:
    case SynthConfig::TRANSFER_SYNTAX_UNSPECIFIED:
      break;
  }
  return gdcm::TransferSyntax::ExplicitVRLittleEndian;
}

absl::Status Validate(const cv::Mat1w& pixels, const MammogramDicomInfo& info) {
  if (pixels.empty()) return absl::InvalidArgumentError("DICOM image: empty pixel matrix");
  if (info.bits_stored < 8 || info.bits_stored > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("DICOM image: bits_stored must be in [8, 16] (got ", info.bits_stored, ")"));
  }
  if (info.sop_instance_uid.empty() || info.study_instance_uid.empty() ||
      info.series_instance_uid.empty()) {
    return absl::InvalidArgumentError("DICOM image: study, series and SOP instance UIDs are required");
  }
  if (info.laterality != "L" && info.laterality != "R") {
    return absl::InvalidArgumentError(
        absl::StrCat("DICOM image: laterality must be L or R (got '", info.laterality, "')"));
  }
  if (!(info.pixel_spacing_mm > 0)) {
    return absl::InvalidArgumentError("DICOM image: pixel_spacing_mm must be > 0");
  }
  return absl::OkStatus();
}

}  // namespace

int WrittenBitsStored(SynthConfig::TransferSyntax syntax, int bits_stored) {
  return syntax == SynthConfig::JPEG_2000_LOSSLESS ? 16 : bits_stored;
}

std::string MammogramPatientOrientation(absl::string_view laterality, absl::string_view view) {
  // Rows of a left breast image run towards the nipple (anterior); of a right
  // breast towards the chest wall (posterior). Columns run to the right (CC)
  // or to the feet (MLO, oblique).
  const bool left = laterality == "L";
  const std::string row = left ? "A" : "P";
  std::string col;
  if (view == "CC" || view == "XCCL" || view == "XCCM") {
    col = left ? "R" : "L";
  } else {
    col = "F";
  }
  return row + "\\" + col;
}

absl::StatusOr<std::string> EncodeMammogramDicom(const cv::Mat1w& pixels,
                                                 const MammogramDicomInfo& info) {
  MVL_RETURN_IF_ERROR(Validate(pixels, info));
  const cv::Mat1w contiguous = pixels.isContinuous() ? pixels : pixels.clone();

  gdcm::ImageWriter writer;
  gdcm::File& file = writer.GetFile();
  gdcm::DataSet& ds = file.GetDataSet();

  gdcm::SmartPointer<gdcm::Image> image = new gdcm::Image;
  image->SetNumberOfDimensions(2);
  const unsigned int dims[2] = {static_cast<unsigned int>(contiguous.cols),
                                static_cast<unsigned int>(contiguous.rows)};
  image->SetDimensions(dims);
  gdcm::PixelFormat pf(gdcm::PixelFormat::UINT16);
  const int bits_stored = WrittenBitsStored(info.transfer_syntax, info.bits_stored);
  pf.SetBitsStored(static_cast<unsigned short>(bits_stored));
  pf.SetHighBit(static_cast<unsigned short>(bits_stored - 1));
  image->SetPixelFormat(pf);
  image->SetPhotometricInterpretation(info.monochrome1
                                          ? gdcm::PhotometricInterpretation::MONOCHROME1
                                          : gdcm::PhotometricInterpretation::MONOCHROME2);
  image->SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
  image->SetSpacing(0, info.pixel_spacing_mm);
  image->SetSpacing(1, info.pixel_spacing_mm);
  const size_t bytes = contiguous.total() * sizeof(uint16_t);
  gdcm::DataElement pixel_data(gdcm::Tag(0x7fe0, 0x0010));
  pixel_data.SetByteValue(reinterpret_cast<const char*>(contiguous.data),
                          static_cast<uint32_t>(bytes));
  image->SetDataElement(pixel_data);

  using gdcm::VR;
  SetString(ds, 0x0008, 0x0005, VR::CS, "ISO_IR 100");
  SetString(ds, 0x0008, 0x0008, VR::CS, "ORIGINAL\\PRIMARY");
  SetString(ds, 0x0008, 0x0016, VR::UI, kMammographyForPresentation);
  SetString(ds, 0x0008, 0x0018, VR::UI, info.sop_instance_uid);
  SetString(ds, 0x0008, 0x0020, VR::DA, info.study_date);
  SetString(ds, 0x0008, 0x0023, VR::DA, info.study_date);
  SetString(ds, 0x0008, 0x0030, VR::TM, info.study_time);
  SetString(ds, 0x0008, 0x0050, VR::SH, info.accession_number);
  SetString(ds, 0x0008, 0x0060, VR::CS, "MG");
  SetString(ds, 0x0008, 0x0068, VR::CS, "FOR PRESENTATION");
  SetString(ds, 0x0008, 0x0070, VR::LO, info.manufacturer);
  SetString(ds, 0x0008, 0x1030, VR::LO, info.study_description);
  SetString(ds, 0x0008, 0x103E, VR::LO, info.laterality + " " + info.view_position);
  SetString(ds, 0x0008, 0x1090, VR::LO, info.model_name);
  SetString(ds, 0x0010, 0x0010, VR::PN, info.patient_name);
  SetString(ds, 0x0010, 0x0020, VR::LO, info.patient_id);
  SetString(ds, 0x0010, 0x0030, VR::DA, info.patient_birth_date);
  SetString(ds, 0x0010, 0x0040, VR::CS, info.patient_sex);
  if (info.patient_age_years > 0) {
    SetString(ds, 0x0010, 0x1010, VR::AS, absl::StrFormat("%03dY", info.patient_age_years));
  }
  SetString(ds, 0x0018, 0x0015, VR::CS, "BREAST");
  const std::string spacing =
      FormatDs(info.pixel_spacing_mm) + "\\" + FormatDs(info.pixel_spacing_mm);
  SetString(ds, 0x0018, 0x1164, VR::DS, spacing);
  SetString(ds, 0x0018, 0x5101, VR::CS, info.view_position);
  SetString(ds, 0x0020, 0x000D, VR::UI, info.study_instance_uid);
  SetString(ds, 0x0020, 0x000E, VR::UI, info.series_instance_uid);
  SetString(ds, 0x0020, 0x0010, VR::SH, info.study_id);
  SetString(ds, 0x0020, 0x0011, VR::IS, absl::StrCat(info.series_number));
  SetString(ds, 0x0020, 0x0013, VR::IS, absl::StrCat(info.instance_number));
  SetString(ds, 0x0020, 0x0020, VR::CS,
            info.patient_orientation.empty()
                ? MammogramPatientOrientation(info.laterality, info.view_position)
                : info.patient_orientation);
  SetString(ds, 0x0020, 0x0062, VR::CS, info.laterality);
  SetString(ds, 0x0028, 0x0004, VR::CS, info.monochrome1 ? "MONOCHROME1" : "MONOCHROME2");
  SetString(ds, 0x0028, 0x0301, VR::CS, info.burned_in_annotation ? "YES" : "NO");
  if (info.window_width > 0) {
    SetString(ds, 0x0028, 0x1050, VR::DS, FormatDs(info.window_center));
    SetString(ds, 0x0028, 0x1051, VR::DS, FormatDs(info.window_width));
    SetString(ds, 0x0028, 0x1056, VR::CS, "LINEAR");
  }
  SetString(ds, 0x0028, 0x1300, VR::CS, "NO");

  const gdcm::TransferSyntax::TSType target = ToGdcm(info.transfer_syntax);
  if (target == gdcm::TransferSyntax::ExplicitVRLittleEndian) {
    writer.SetImage(*image);
  } else {
    gdcm::ImageChangeTransferSyntax change;
    change.SetTransferSyntax(gdcm::TransferSyntax(target));
    change.SetInput(*image);
    if (!change.Change()) {
      return absl::InternalError(absl::StrCat("GDCM could not encode the image as ",
                                              gdcm::TransferSyntax::GetTSString(target)));
    }
    writer.SetImage(change.GetOutput());
  }
  file.GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax(target));

  std::ostringstream stream;
  writer.SetStream(stream);
  if (!writer.Write()) return absl::InternalError("GDCM failed to write the DICOM stream");
  return std::move(stream).str();
}

absl::Status WriteMammogramDicom(absl::string_view path, const cv::Mat1w& pixels,
                                 const MammogramDicomInfo& info) {
  absl::StatusOr<std::string> bytes = EncodeMammogramDicom(pixels, info);
  if (!bytes.ok()) {
    return absl::Status(bytes.status().code(),
                        absl::StrCat(path, ": ", bytes.status().message()));
  }
  return core::WriteFileAtomically(path, *bytes);
}

}  // namespace mammovl::data
