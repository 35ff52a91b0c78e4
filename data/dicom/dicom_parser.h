// A validating parser for DICOM Part 10 files that never decodes pixels. It
// walks every element (sequences and encapsulated fragments included),
// checks each declared length against the bytes that are really there, and
// extracts the attributes MammoVL needs: image pixel module, modality and VOI
// LUTs, mammography metadata (laterality, view), UIDs. It runs before any
// file reaches GDCM, so malformed files are refused here instead of crashing
// the decoder (see data/dicom/README.md). Patient identifiers are read only to
// be pseudonymised. No GDCM, no LibTorch.
#ifndef MAMMOVL_DATA_DICOM_DICOM_PARSER_H_
#define MAMMOVL_DATA_DICOM_DICOM_PARSER_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::data {

enum class TransferSyntax {
  kImplicitVrLittleEndian,
  kExplicitVrLittleEndian,
  kExplicitVrBigEndian,
  kDeflatedExplicitVrLittleEndian,
  kJpegBaseline,        // 1.2.840.10008.1.2.4.50
  kJpegExtended,        // 1.2.840.10008.1.2.4.51
  kJpegLossless,        // 1.2.840.10008.1.2.4.57
  kJpegLosslessSv1,     // 1.2.840.10008.1.2.4.70
  kJpegLsLossless,      // 1.2.840.10008.1.2.4.80
  kJpegLsNearLossless,  // 1.2.840.10008.1.2.4.81
  kJpeg2000Lossless,    // 1.2.840.10008.1.2.4.90
  kJpeg2000,            // 1.2.840.10008.1.2.4.91
  kRle,                 // 1.2.840.10008.1.2.5
};

// Maps a Transfer Syntax UID to the enum. Unimplemented for UIDs MammoVL
// does not decode (MPEG, HTJ2K, JPIP, ...), naming the UID.
absl::StatusOr<TransferSyntax> TransferSyntaxFromUid(absl::string_view uid);
// Short name, e.g. "JPEG 2000 lossless".
absl::string_view TransferSyntaxName(TransferSyntax ts);
// True for the syntaxes whose Pixel Data is a sequence of compressed fragments.
bool IsEncapsulated(TransferSyntax ts);

// A byte range inside the buffer that was parsed.
struct ByteRange {
  int64_t offset = 0;
  int64_t length = 0;
};

// (7FE0,0010) Pixel Data as found in the file.
struct PixelDataElement {
  bool encapsulated = false;
  // Native: the element value. Encapsulated: unused.
  ByteRange value;
  // Encapsulated: Basic Offset Table entries (may be empty) and the value of
  // every fragment after it, in file order.
  std::vector<uint32_t> offset_table;
  std::vector<ByteRange> fragments;
};

// A LUT from a Modality or VOI LUT Sequence item (PS3.3 C.11.1, C.11.2).
struct LookupTable {
  int64_t num_entries = 0;   // a descriptor value of 0 means 65536
  int32_t first_mapped = 0;  // signed when Pixel Representation is 1
  int bits_per_entry = 0;
  std::vector<uint16_t> data;
};

// What MammoVL reads from a DICOM file besides pixels.
struct DicomHeader {
  std::string transfer_syntax_uid;
  TransferSyntax transfer_syntax = TransferSyntax::kExplicitVrLittleEndian;
  bool has_preamble = false;

  // Identity. Patient identifiers only ever appear pseudonymised.
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string patient_pseudonym;  // Pseudonymize(salt, PatientID), "" if absent
  std::string modality;
  std::string manufacturer;
  std::string manufacturer_model_name;

  // Mammography metadata, as written in the file (trimmed, upper-cased).
  std::string image_laterality;   // (0020,0062)
  std::string series_laterality;  // (0020,0060)
  std::string view_position;      // (0018,5101), e.g. "CC", "MLO"
  std::string
      view_code_meaning;  // (0054,0220)[0] (0008,0104), e.g. "cranio-caudal"
  std::string
      patient_orientation_row;  // first value of (0020,0020), e.g. "A" or "P"
  std::string presentation_intent;  // (0008,0068)
  // (0028,0030) Pixel Spacing, else (0018,1164) Imager Pixel Spacing: row,
  // column in mm.
  std::optional<std::array<double, 2>> pixel_spacing;

  // Image Pixel module. -1 marks an absent attribute.
  int rows = -1;
  int columns = -1;
  int samples_per_pixel = 1;
  int bits_allocated = -1;
  int bits_stored = -1;
  int high_bit = -1;
  int pixel_representation = 0;
  int planar_configuration = 0;
  int64_t number_of_frames = 1;
  std::string photometric_interpretation;

  // Modality LUT module: rescale only when both slope and intercept exist
  // (as pydicom's `apply_modality_lut` does).
  bool has_rescale = false;
  double rescale_slope = 1.0;
  double rescale_intercept = 0.0;
  std::optional<LookupTable> modality_lut;

  // VOI LUT module.
  std::vector<double> window_centers;
  std::vector<double> window_widths;
  std::string voi_lut_function;  // upper-case; "" means LINEAR
  std::vector<LookupTable> voi_luts;

  bool has_pixel_data = false;
  PixelDataElement pixel_data;

  // Returns ImageLaterality, else the series Laterality, else "".
  const std::string& laterality() const {
    return image_laterality.empty() ? series_laterality : image_laterality;
  }
};

struct ParseOptions {
  // Salt of the patient pseudonym.
  std::string patient_id_salt = "mammovl";
};

// Parses a whole Part 10 file held in `bytes` (with or without the 128-byte
// preamble; a deflated body must already be inflated, see `InflateBody`).
// Errors: DataLoss for malformed or truncated structure (naming the element
// and the offset), Unimplemented for unsupported transfer syntaxes,
// InvalidArgument for data that is not DICOM at all.
absl::StatusOr<DicomHeader> ParseDicom(absl::string_view bytes,
                                       const ParseOptions& options);

// For a Deflated Explicit VR Little Endian file, returns the file with its
// dataset inflated (meta header unchanged); otherwise returns an empty
// string. DataLoss if the deflate stream is corrupt; ResourceExhausted if it
// inflates beyond `max_bytes`.
absl::StatusOr<std::string> InflateBody(absl::string_view bytes,
                                        int64_t max_bytes);

// Expected byte length of one native frame (Bits Allocated 1 packs 8 pixels
// per byte, across frame boundaries as the standard says).
int64_t NativeFrameBits(const DicomHeader& header);

// Checks that the image pixel module is complete and consistent and that the
// pixel data really holds what it declares: native lengths, fragment counts,
// the size, component count and precision written in each frame's
// JPEG / JPEG-LS / JPEG 2000 / RLE header, and the end-of-codestream marker
// of every JPEG-family frame (a cut codestream would otherwise decode
// silently into a partly blank image). `max_decoded_bytes` bounds the
// decoded size of all frames. Errors: DataLoss (inconsistent or truncated),
// Unimplemented (colour images, unsupported bit depths), FailedPrecondition
// (no Pixel Data), ResourceExhausted (over `max_decoded_bytes`).
absl::Status ValidateImage(const DicomHeader& header, absl::string_view bytes,
                           int64_t max_decoded_bytes);

// What the first frame's JPEG 2000 codestream declares (SIZ marker).
struct Jpeg2000Info {
  int width = 0;
  int height = 0;
  int components = 0;
  int precision = 0;  // bits of component 0
  bool is_signed = false;
};
// Parses the SIZ marker of a J2K codestream, possibly wrapped in JP2 boxes.
absl::StatusOr<Jpeg2000Info> ParseJpeg2000Header(absl::string_view codestream);

// Returns the byte ranges of each frame's fragments (one entry per frame),
// using the Basic Offset Table when present, else one fragment per frame, else
// (single frame) all fragments. DataLoss when the table does not fit.
absl::StatusOr<std::vector<std::vector<ByteRange>>> FrameFragments(
    const DicomHeader& header);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DICOM_DICOM_PARSER_H_
