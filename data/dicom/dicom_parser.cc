#include "data/dicom/dicom_parser.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"
#include "data/dicom/pseudonym.h"

namespace mammovl::data {
namespace {

constexpr uint32_t kUndefinedLength = 0xFFFFFFFFu;
constexpr int kMaxSequenceDepth = 16;

constexpr uint32_t Tag(uint16_t group, uint16_t element) {
  return (uint32_t{group} << 16) | element;
}

// Attributes read into `DicomHeader`.
constexpr uint32_t kTransferSyntaxUid = Tag(0x0002, 0x0010);
constexpr uint32_t kSopClassUid = Tag(0x0008, 0x0016);
constexpr uint32_t kSopInstanceUid = Tag(0x0008, 0x0018);
constexpr uint32_t kModality = Tag(0x0008, 0x0060);
constexpr uint32_t kPresentationIntent = Tag(0x0008, 0x0068);
constexpr uint32_t kManufacturer = Tag(0x0008, 0x0070);
constexpr uint32_t kCodeMeaning = Tag(0x0008, 0x0104);
constexpr uint32_t kManufacturerModelName = Tag(0x0008, 0x1090);
constexpr uint32_t kPatientId = Tag(0x0010, 0x0020);
constexpr uint32_t kImagerPixelSpacing = Tag(0x0018, 0x1164);
constexpr uint32_t kViewPosition = Tag(0x0018, 0x5101);
constexpr uint32_t kStudyInstanceUid = Tag(0x0020, 0x000D);
constexpr uint32_t kPatientOrientation = Tag(0x0020, 0x0020);
constexpr uint32_t kSeriesInstanceUid = Tag(0x0020, 0x000E);
constexpr uint32_t kSeriesLaterality = Tag(0x0020, 0x0060);
constexpr uint32_t kImageLaterality = Tag(0x0020, 0x0062);
constexpr uint32_t kSamplesPerPixel = Tag(0x0028, 0x0002);
constexpr uint32_t kPhotometricInterpretation = Tag(0x0028, 0x0004);
constexpr uint32_t kPlanarConfiguration = Tag(0x0028, 0x0006);
constexpr uint32_t kNumberOfFrames = Tag(0x0028, 0x0008);
constexpr uint32_t kRows = Tag(0x0028, 0x0010);
constexpr uint32_t kColumns = Tag(0x0028, 0x0011);
constexpr uint32_t kPixelSpacing = Tag(0x0028, 0x0030);
constexpr uint32_t kBitsAllocated = Tag(0x0028, 0x0100);
constexpr uint32_t kBitsStored = Tag(0x0028, 0x0101);
constexpr uint32_t kHighBit = Tag(0x0028, 0x0102);
constexpr uint32_t kPixelRepresentation = Tag(0x0028, 0x0103);
constexpr uint32_t kWindowCenter = Tag(0x0028, 0x1050);
constexpr uint32_t kWindowWidth = Tag(0x0028, 0x1051);
constexpr uint32_t kRescaleIntercept = Tag(0x0028, 0x1052);
constexpr uint32_t kRescaleSlope = Tag(0x0028, 0x1053);
constexpr uint32_t kVoiLutFunction = Tag(0x0028, 0x1056);
constexpr uint32_t kModalityLutSequence = Tag(0x0028, 0x3000);
constexpr uint32_t kLutDescriptor = Tag(0x0028, 0x3002);
constexpr uint32_t kLutData = Tag(0x0028, 0x3006);
constexpr uint32_t kVoiLutSequence = Tag(0x0028, 0x3010);
constexpr uint32_t kViewCodeSequence = Tag(0x0054, 0x0220);
constexpr uint32_t kPixelData = Tag(0x7FE0, 0x0010);
constexpr uint32_t kItem = Tag(0xFFFE, 0xE000);
constexpr uint32_t kItemDelimitation = Tag(0xFFFE, 0xE00D);
constexpr uint32_t kSequenceDelimitation = Tag(0xFFFE, 0xE0DD);

std::string TagString(uint32_t tag) {
  return absl::StrFormat("(%04X,%04X)", tag >> 16, tag & 0xFFFF);
}

bool IsKnownVr(char a, char b) {
  static constexpr const char* kVrs[] = {
      "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT",
      "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST",
      "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
  for (const char* vr : kVrs) {
    if (vr[0] == a && vr[1] == b) return true;
  }
  return false;
}

// VRs whose explicit encoding has 2 reserved bytes and a 32-bit length.
bool HasLongLength(const char vr[2]) {
  static constexpr const char* kLong[] = {"OB", "OD", "OF", "OL", "OV",
                                          "OW", "SQ", "SV", "UC", "UN",
                                          "UR", "UT", "UV"};
  for (const char* v : kLong) {
    if (v[0] == vr[0] && v[1] == vr[1]) return true;
  }
  return false;
}

// Tags whose value MammoVL descends into when the VR is implicit.
bool IsParsedSequence(uint32_t tag) {
  return tag == kModalityLutSequence || tag == kVoiLutSequence ||
         tag == kViewCodeSequence;
}

struct ElementHeader {
  uint32_t tag = 0;
  char vr[2] = {0, 0};
  bool has_vr = false;
  uint32_t length = 0;
  int64_t header_offset = 0;
  int64_t value_offset = 0;
};

// Reads elements from `data` with a fixed byte order and VR encoding.
class Cursor {
 public:
  Cursor(absl::string_view data, bool little_endian, bool explicit_vr)
      : data_(data), little_(little_endian), explicit_(explicit_vr) {}

  int64_t size() const { return static_cast<int64_t>(data_.size()); }
  bool little_endian() const { return little_; }

  uint16_t U16(int64_t pos) const {
    const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + pos);
    return little_ ? static_cast<uint16_t>(p[0] | (p[1] << 8))
                   : static_cast<uint16_t>((p[0] << 8) | p[1]);
  }
  uint32_t U32(int64_t pos) const {
    const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + pos);
    return little_ ? (uint32_t{p[0]} | (uint32_t{p[1]} << 8) |
                      (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24))
                   : ((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                      (uint32_t{p[2]} << 8) | uint32_t{p[3]});
  }

  // Reads the element header at `pos`, which must lie before `end`.
  absl::Status ReadHeader(int64_t pos, int64_t end, ElementHeader* out) const {
    out->header_offset = pos;
    if (end - pos < 8) {
      return absl::DataLossError(absl::StrCat("element header at offset ", pos,
                                              " is cut off (", end - pos,
                                              " bytes left, 8 needed)"));
    }
    out->tag = (uint32_t{U16(pos)} << 16) | U16(pos + 2);
    const bool is_delimiter = (out->tag >> 16) == 0xFFFE;
    if (!explicit_ || is_delimiter) {
      out->has_vr = false;
      out->length = U32(pos + 4);
      out->value_offset = pos + 8;
      return absl::OkStatus();
    }
    out->vr[0] = data_[pos + 4];
    out->vr[1] = data_[pos + 5];
    if (!IsKnownVr(out->vr[0], out->vr[1])) {
      return absl::DataLossError(absl::StrFormat(
          "element %s at offset %d has an invalid VR (bytes 0x%02X 0x%02X)",
          TagString(out->tag), pos, static_cast<uint8_t>(out->vr[0]),
          static_cast<uint8_t>(out->vr[1])));
    }
    out->has_vr = true;
    if (HasLongLength(out->vr)) {
      if (end - pos < 12) {
        return absl::DataLossError(absl::StrCat("element ", TagString(out->tag),
                                                " at offset ", pos,
                                                " is cut off in its header"));
      }
      out->length = U32(pos + 8);
      out->value_offset = pos + 12;
    } else {
      out->length = U16(pos + 6);
      out->value_offset = pos + 8;
    }
    return absl::OkStatus();
  }

  absl::string_view Value(int64_t offset, int64_t length) const {
    return data_.substr(offset, length);
  }

 private:
  absl::string_view data_;
  bool little_;
  bool explicit_;
};

std::string TrimValue(absl::string_view v) {
  while (!v.empty() && (v.back() == ' ' || v.back() == '\0'))
    v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\0'))
    v.remove_prefix(1);
  return std::string(v);
}

// Decimal strings (DS/IS), possibly multi-valued with '\'.
absl::StatusOr<std::vector<double>> ParseNumbers(absl::string_view v,
                                                 uint32_t tag) {
  std::vector<double> out;
  const std::string trimmed = TrimValue(v);
  if (trimmed.empty()) return out;
  for (absl::string_view part : absl::StrSplit(trimmed, '\\')) {
    const std::string item = TrimValue(part);
    double value = 0;
    if (!absl::SimpleAtod(item, &value) || !std::isfinite(value)) {
      return absl::DataLossError(absl::StrCat("element ", TagString(tag),
                                              " holds a malformed number \"",
                                              item, "\""));
    }
    out.push_back(value);
  }
  return out;
}

struct ParseState {
  const Cursor* cursor;
  DicomHeader* header;
  const ParseOptions* options;
  std::string patient_id;  // kept only until pseudonymised
  bool pixel_representation_seen = false;
  std::vector<std::pair<uint32_t, ElementHeader>> pending_lut_descriptors;
};

// Context of the dataset being walked: top level or an item of one of the
// sequences MammoVL descends into.
enum class Scope { kTop, kModalityLut, kVoiLut, kViewCode, kOther };

struct LutItem {
  bool has_descriptor = false;
  ElementHeader descriptor;
  bool has_data = false;
  ElementHeader data;
};

absl::Status WalkDataset(ParseState& state, int64_t pos, int64_t end,
                         bool undefined_length, int depth, Scope scope,
                         LutItem* lut_item, int64_t* end_out);

absl::StatusOr<uint16_t> ReadUs(const Cursor& c, const ElementHeader& e) {
  if (e.length < 2) {
    return absl::DataLossError(absl::StrCat(
        "element ", TagString(e.tag), " is too short for an unsigned short"));
  }
  return c.U16(e.value_offset);
}

// Walks the items of a sequence starting at `pos`.
absl::Status WalkSequence(ParseState& state, const ElementHeader& element,
                          int64_t end, int depth, Scope item_scope,
                          int64_t* end_out) {
  const Cursor& c = *state.cursor;
  if (depth > kMaxSequenceDepth) {
    return absl::DataLossError(
        absl::StrCat("sequences nested deeper than ", kMaxSequenceDepth,
                     " levels at offset ", element.header_offset));
  }
  const bool undefined = element.length == kUndefinedLength;
  const int64_t seq_end =
      undefined ? end : element.value_offset + element.length;
  int64_t pos = element.value_offset;
  int item_index = 0;
  while (pos < seq_end) {
    ElementHeader item;
    MVL_RETURN_IF_ERROR(c.ReadHeader(pos, seq_end, &item));
    if (item.tag == kSequenceDelimitation) {
      if (!undefined) {
        return absl::DataLossError(
            absl::StrCat("unexpected sequence delimiter at offset ", pos));
      }
      *end_out = item.value_offset;
      return absl::OkStatus();
    }
    if (item.tag != kItem) {
      return absl::DataLossError(
          absl::StrCat("sequence ", TagString(element.tag), " holds element ",
                       TagString(item.tag), " at offset ", pos,
                       " where an item was expected"));
    }
    const bool item_undefined = item.length == kUndefinedLength;
    if (!item_undefined && item.length > seq_end - item.value_offset) {
      return absl::DataLossError(
          absl::StrCat("item of ", TagString(element.tag), " at offset ", pos,
                       " declares ", item.length, " bytes but only ",
                       seq_end - item.value_offset, " remain"));
    }
    const int64_t item_end =
        item_undefined ? seq_end : item.value_offset + item.length;
    LutItem lut;
    int64_t walked_end = 0;
    const Scope scope = item_index == 0 || item_scope == Scope::kVoiLut
                            ? item_scope
                            : Scope::kOther;
    MVL_RETURN_IF_ERROR(WalkDataset(state, item.value_offset, item_end,
                                    item_undefined, depth + 1, scope, &lut,
                                    &walked_end));
    if (lut.has_descriptor && lut.has_data &&
        (scope == Scope::kModalityLut || scope == Scope::kVoiLut)) {
      LookupTable table;
      const ElementHeader& d = lut.descriptor;
      if (d.length < 6) {
        return absl::DataLossError(absl::StrCat("LUT Descriptor at offset ",
                                                d.header_offset,
                                                " has fewer than 3 values"));
      }
      const uint16_t entries = c.U16(d.value_offset);
      const uint16_t first = c.U16(d.value_offset + 2);
      table.num_entries = entries == 0 ? 65536 : entries;
      // The first mapped value is SS when pixel data are signed (PS3.3
      // C.11.2.1.1).
      const bool ss = (d.has_vr && d.vr[0] == 'S' && d.vr[1] == 'S') ||
                      (!(d.has_vr && d.vr[0] == 'U') &&
                       state.header->pixel_representation == 1);
      table.first_mapped =
          ss ? static_cast<int16_t>(first) : static_cast<int32_t>(first);
      table.bits_per_entry = c.U16(d.value_offset + 4);
      const ElementHeader& v = lut.data;
      const int64_t available = v.length / 2;
      if (available < table.num_entries) {
        return absl::DataLossError(absl::StrCat(
            "LUT Data at offset ", v.header_offset, " holds ", available,
            " entries, descriptor says ", table.num_entries));
      }
      table.data.resize(table.num_entries);
      for (int64_t i = 0; i < table.num_entries; ++i) {
        table.data[i] = c.U16(v.value_offset + 2 * i);
      }
      if (scope == Scope::kModalityLut) {
        if (!state.header->modality_lut)
          state.header->modality_lut = std::move(table);
      } else {
        state.header->voi_luts.push_back(std::move(table));
      }
    }
    pos = item_undefined ? walked_end : item_end;
    ++item_index;
  }
  if (undefined) {
    return absl::DataLossError(
        absl::StrCat("sequence ", TagString(element.tag), " at offset ",
                     element.header_offset,
                     " has no sequence delimiter before the end of data"));
  }
  *end_out = seq_end;
  return absl::OkStatus();
}

// Walks an encapsulated Pixel Data value (offset table + fragments).
absl::Status WalkFragments(ParseState& state, const ElementHeader& element,
                           int64_t end, PixelDataElement* out,
                           int64_t* end_out) {
  const Cursor& c = *state.cursor;
  int64_t pos = element.value_offset;
  bool first = true;
  while (true) {
    ElementHeader item;
    MVL_RETURN_IF_ERROR(c.ReadHeader(pos, end, &item));
    if (item.tag == kSequenceDelimitation) {
      *end_out = item.value_offset;
      return absl::OkStatus();
    }
    if (item.tag != kItem) {
      return absl::DataLossError(
          absl::StrCat("encapsulated ", TagString(element.tag),
                       " holds element ", TagString(item.tag), " at offset ",
                       pos, " where a fragment was expected"));
    }
    if (item.length == kUndefinedLength ||
        item.length > end - item.value_offset) {
      return absl::DataLossError(absl::StrCat(
          "fragment at offset ", pos, " declares ",
          item.length == kUndefinedLength ? std::string("an undefined length")
                                          : absl::StrCat(item.length, " bytes"),
          " but only ", end - item.value_offset, " remain"));
    }
    if (out != nullptr) {
      if (first) {
        if (item.length % 4 != 0) {
          return absl::DataLossError(
              absl::StrCat("Basic Offset Table at offset ", pos,
                           " has a length that is not a multiple of 4"));
        }
        for (uint32_t i = 0; i < item.length; i += 4) {
          out->offset_table.push_back(c.U32(item.value_offset + i));
        }
      } else {
        out->fragments.push_back({item.value_offset, item.length});
      }
    }
    first = false;
    pos = item.value_offset + item.length;
  }
}

absl::Status StoreTopLevel(ParseState& state, const ElementHeader& e) {
  const Cursor& c = *state.cursor;
  DicomHeader& h = *state.header;
  const absl::string_view value = c.Value(e.value_offset, e.length);
  auto upper = [&]() { return absl::AsciiStrToUpper(TrimValue(value)); };
  auto us = [&](int* field) -> absl::Status {
    MVL_ASSIGN_OR_RETURN(const uint16_t v, ReadUs(c, e));
    *field = v;
    return absl::OkStatus();
  };
  switch (e.tag) {
    case kSopClassUid:
      h.sop_class_uid = TrimValue(value);
      break;
    case kSopInstanceUid:
      h.sop_instance_uid = TrimValue(value);
      break;
    case kModality:
      h.modality = upper();
      break;
    case kPresentationIntent:
      h.presentation_intent = upper();
      break;
    case kManufacturer:
      h.manufacturer = TrimValue(value);
      break;
    case kManufacturerModelName:
      h.manufacturer_model_name = TrimValue(value);
      break;
    case kPatientId:
      state.patient_id = std::string(value);
      break;
    case kViewPosition:
      h.view_position = upper();
      break;
    case kStudyInstanceUid:
      h.study_instance_uid = TrimValue(value);
      break;
    case kSeriesInstanceUid:
      h.series_instance_uid = TrimValue(value);
      break;
    case kSeriesLaterality:
      h.series_laterality = upper();
      break;
    case kPatientOrientation: {
      const std::string v = upper();
      h.patient_orientation_row = v.substr(0, v.find('\\'));
      break;
    }
    case kImageLaterality:
      h.image_laterality = upper();
      break;
    case kSamplesPerPixel:
      return us(&h.samples_per_pixel);
    case kPhotometricInterpretation:
      h.photometric_interpretation = upper();
      break;
    case kPlanarConfiguration:
      return us(&h.planar_configuration);
    case kNumberOfFrames: {
      MVL_ASSIGN_OR_RETURN(const std::vector<double> v,
                           ParseNumbers(value, e.tag));
      if (!v.empty()) {
        if (v[0] < 0 || v[0] != std::floor(v[0]) || v[0] > 1e9) {
          return absl::DataLossError(absl::StrCat(
              "Number of Frames is not a valid count: ", TrimValue(value)));
        }
        h.number_of_frames = v[0] == 0 ? 1 : static_cast<int64_t>(v[0]);
      }
      break;
    }
    case kRows:
      return us(&h.rows);
    case kColumns:
      return us(&h.columns);
    case kPixelSpacing:
    case kImagerPixelSpacing: {
      MVL_ASSIGN_OR_RETURN(const std::vector<double> v,
                           ParseNumbers(value, e.tag));
      if (v.size() >= 2 && (e.tag == kPixelSpacing || !h.pixel_spacing)) {
        h.pixel_spacing = std::array<double, 2>{v[0], v[1]};
      }
      break;
    }
    case kBitsAllocated:
      return us(&h.bits_allocated);
    case kBitsStored:
      return us(&h.bits_stored);
    case kHighBit:
      return us(&h.high_bit);
    case kPixelRepresentation:
      state.pixel_representation_seen = true;
      return us(&h.pixel_representation);
    case kWindowCenter: {
      MVL_ASSIGN_OR_RETURN(h.window_centers, ParseNumbers(value, e.tag));
      break;
    }
    case kWindowWidth: {
      MVL_ASSIGN_OR_RETURN(h.window_widths, ParseNumbers(value, e.tag));
      break;
    }
    case kRescaleIntercept:
    case kRescaleSlope: {
      MVL_ASSIGN_OR_RETURN(const std::vector<double> v,
                           ParseNumbers(value, e.tag));
      if (!v.empty()) {
        (e.tag == kRescaleSlope ? h.rescale_slope : h.rescale_intercept) = v[0];
      }
      break;
    }
    case kVoiLutFunction:
      h.voi_lut_function = upper();
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

absl::Status WalkDataset(ParseState& state, int64_t pos, int64_t end,
                         bool undefined_length, int depth, Scope scope,
                         LutItem* lut_item, int64_t* end_out) {
  const Cursor& c = *state.cursor;
  bool saw_slope = false, saw_intercept = false;
  uint32_t previous_tag = 0;
  while (pos < end) {
    ElementHeader e;
    MVL_RETURN_IF_ERROR(c.ReadHeader(pos, end, &e));
    if (e.tag == kItemDelimitation) {
      if (!undefined_length) {
        return absl::DataLossError(
            absl::StrCat("unexpected item delimiter at offset ", pos));
      }
      *end_out = e.value_offset;
      return absl::OkStatus();
    }
    if ((e.tag >> 16) == 0xFFFE) {
      return absl::DataLossError(absl::StrCat("unexpected ", TagString(e.tag),
                                              " inside a dataset at offset ",
                                              pos));
    }
    if (scope == Scope::kTop && e.tag < previous_tag &&
        (e.tag >> 16) != 0x0002) {
      // Out-of-order elements are a symptom of a corrupt or misparsed file.
      return absl::DataLossError(absl::StrCat(
          "element ", TagString(e.tag), " at offset ", pos,
          " is out of order (after ", TagString(previous_tag), ")"));
    }
    previous_tag = e.tag;
    const bool is_sq =
        e.has_vr ? (e.vr[0] == 'S' && e.vr[1] == 'Q')
                 : (IsParsedSequence(e.tag) || e.length == kUndefinedLength);
    const bool is_un_undefined = e.has_vr && e.vr[0] == 'U' && e.vr[1] == 'N' &&
                                 e.length == kUndefinedLength;
    int64_t next = 0;
    if (e.tag == kPixelData && depth == 0) {
      DicomHeader& h = *state.header;
      h.has_pixel_data = true;
      if (e.length == kUndefinedLength) {
        h.pixel_data.encapsulated = true;
        MVL_RETURN_IF_ERROR(WalkFragments(state, e, end, &h.pixel_data, &next));
      } else {
        if (e.length > end - e.value_offset) {
          // Keep what is there; `ValidateImage` reports the truncation with
          // the expected and the real size.
          h.pixel_data.value = {e.value_offset, end - e.value_offset};
          h.pixel_data.encapsulated = false;
          *end_out = end;
          return absl::OkStatus();
        }
        h.pixel_data.value = {e.value_offset, e.length};
        next = e.value_offset + e.length;
      }
      pos = next;
      continue;
    }
    if (is_sq || is_un_undefined) {
      Scope item_scope = Scope::kOther;
      if (depth == 0 && e.tag == kModalityLutSequence)
        item_scope = Scope::kModalityLut;
      if (depth == 0 && e.tag == kVoiLutSequence) item_scope = Scope::kVoiLut;
      if (depth == 0 && e.tag == kViewCodeSequence)
        item_scope = Scope::kViewCode;
      if (e.length != kUndefinedLength && e.length > end - e.value_offset) {
        return absl::DataLossError(absl::StrCat(
            "sequence ", TagString(e.tag), " at offset ", pos, " declares ",
            e.length, " bytes but only ", end - e.value_offset, " remain"));
      }
      if (is_un_undefined) {
        // UN with undefined length is an implicit VR little endian sequence.
        Cursor implicit(c.Value(0, c.size()), /*little_endian=*/true,
                        /*explicit_vr=*/false);
        ParseState inner = state;
        inner.cursor = &implicit;
        MVL_RETURN_IF_ERROR(
            WalkSequence(inner, e, end, depth, Scope::kOther, &next));
      } else {
        MVL_RETURN_IF_ERROR(
            WalkSequence(state, e, end, depth, item_scope, &next));
      }
      pos = next;
      continue;
    }
    if (e.length == kUndefinedLength) {
      // An undefined-length value that is not a sequence: encapsulated data
      // in some other element (e.g. private). Walk its items to find the end.
      MVL_RETURN_IF_ERROR(WalkFragments(state, e, end, nullptr, &next));
      pos = next;
      continue;
    }
    if (e.length > end - e.value_offset) {
      return absl::DataLossError(absl::StrCat(
          "element ", TagString(e.tag), " at offset ", pos, " declares ",
          e.length, " bytes but only ", end - e.value_offset, " remain"));
    }
    if (depth == 0) {
      if (e.tag == kRescaleSlope) saw_slope = true;
      if (e.tag == kRescaleIntercept) saw_intercept = true;
      MVL_RETURN_IF_ERROR(StoreTopLevel(state, e));
    } else if (lut_item != nullptr) {
      if (e.tag == kLutDescriptor) {
        lut_item->has_descriptor = true;
        lut_item->descriptor = e;
      } else if (e.tag == kLutData) {
        lut_item->has_data = true;
        lut_item->data = e;
      } else if (e.tag == kCodeMeaning && scope == Scope::kViewCode &&
                 state.header->view_code_meaning.empty()) {
        state.header->view_code_meaning =
            absl::AsciiStrToLower(TrimValue(c.Value(e.value_offset, e.length)));
      }
    }
    pos = e.value_offset + e.length;
  }
  if (depth == 0) {
    DicomHeader& h = *state.header;
    h.has_rescale = saw_slope && saw_intercept;
    if (!h.has_rescale) {
      h.rescale_slope = 1.0;
      h.rescale_intercept = 0.0;
    }
  }
  if (undefined_length && depth > 0) {
    return absl::DataLossError(absl::StrCat("item starting before offset ", end,
                                            " has no item delimiter"));
  }
  *end_out = end;
  return absl::OkStatus();
}

// Locates the start of the dataset: after the preamble and the file meta
// group, or at 0 for files written without them.
struct MetaInfo {
  int64_t dataset_offset = 0;
  bool has_preamble = false;
  std::string transfer_syntax_uid;
};

absl::StatusOr<MetaInfo> ReadMeta(absl::string_view bytes) {
  MetaInfo meta;
  if (bytes.empty())
    return absl::InvalidArgumentError("not a DICOM file: the file is empty");
  int64_t pos = 0;
  if (bytes.size() >= 132 && bytes.substr(128, 4) == "DICM") {
    meta.has_preamble = true;
    pos = 132;
  } else if (bytes.size() >= 4 && bytes.substr(0, 4) == "DICM") {
    pos = 4;  // preamble stripped, prefix kept
  }
  const Cursor meta_cursor(bytes, /*little_endian=*/true, /*explicit_vr=*/true);
  const int64_t size = static_cast<int64_t>(bytes.size());
  int64_t group_end = -1;
  while (pos + 8 <= size) {
    const uint16_t group = meta_cursor.U16(pos);
    if (group != 0x0002) break;
    ElementHeader e;
    MVL_RETURN_IF_ERROR(meta_cursor.ReadHeader(pos, size, &e));
    if (e.length == kUndefinedLength || e.length > size - e.value_offset) {
      return absl::DataLossError(
          absl::StrCat("file meta element ", TagString(e.tag), " at offset ",
                       pos, " declares ", e.length, " bytes but only ",
                       size - e.value_offset, " remain"));
    }
    if (e.tag == Tag(0x0002, 0x0000) && e.length == 4) {
      group_end = e.value_offset + 4 + meta_cursor.U32(e.value_offset);
    }
    if (e.tag == kTransferSyntaxUid) {
      meta.transfer_syntax_uid =
          TrimValue(meta_cursor.Value(e.value_offset, e.length));
    }
    pos = e.value_offset + e.length;
  }
  if (group_end > size) {
    return absl::DataLossError(
        absl::StrCat("file meta group is truncated: it declares ", group_end,
                     " bytes but the file has ", size));
  }
  meta.dataset_offset = pos;
  if (pos >= size && (meta.has_preamble || pos > 0)) {
    return absl::DataLossError(
        "the file ends after its meta group: no dataset");
  }
  if (!meta.has_preamble && pos == 0) {
    // No preamble and no meta group: accept only if the data starts like a
    // little endian dataset (group 0x0008 is nearly universal).
    if (size < 8)
      return absl::InvalidArgumentError("not a DICOM file: too short");
    const uint16_t group = meta_cursor.U16(0);
    if (group != 0x0008 && group != 0x0010 && group != 0x0018 &&
        group != 0x0020 && group != 0x0028) {
      return absl::InvalidArgumentError(
          "not a DICOM file: no 'DICM' prefix and no recognisable dataset at "
          "the start");
    }
  }
  return meta;
}

// Guesses the encoding of a dataset without a Transfer Syntax UID.
TransferSyntax GuessTransferSyntax(absl::string_view bytes, int64_t offset) {
  if (static_cast<int64_t>(bytes.size()) >= offset + 8) {
    const char a = bytes[offset + 4], b = bytes[offset + 5];
    const bool explicit_vr = IsKnownVr(a, b);
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data() + offset);
    const bool big =
        p[0] == 0x00 && p[1] != 0x00;  // group 0x00NN written big endian
    if (explicit_vr) {
      return big ? TransferSyntax::kExplicitVrBigEndian
                 : TransferSyntax::kExplicitVrLittleEndian;
    }
  }
  return TransferSyntax::kImplicitVrLittleEndian;
}

}  // namespace

absl::StatusOr<TransferSyntax> TransferSyntaxFromUid(absl::string_view uid) {
  struct Entry {
    const char* uid;
    TransferSyntax ts;
  };
  static constexpr Entry kTable[] = {
      {"1.2.840.10008.1.2", TransferSyntax::kImplicitVrLittleEndian},
      {"1.2.840.10008.1.2.1", TransferSyntax::kExplicitVrLittleEndian},
      {"1.2.840.10008.1.2.2", TransferSyntax::kExplicitVrBigEndian},
      {"1.2.840.10008.1.2.1.99",
       TransferSyntax::kDeflatedExplicitVrLittleEndian},
      {"1.2.840.10008.1.2.4.50", TransferSyntax::kJpegBaseline},
      {"1.2.840.10008.1.2.4.51", TransferSyntax::kJpegExtended},
      {"1.2.840.10008.1.2.4.57", TransferSyntax::kJpegLossless},
      {"1.2.840.10008.1.2.4.70", TransferSyntax::kJpegLosslessSv1},
      {"1.2.840.10008.1.2.4.80", TransferSyntax::kJpegLsLossless},
      {"1.2.840.10008.1.2.4.81", TransferSyntax::kJpegLsNearLossless},
      {"1.2.840.10008.1.2.4.90", TransferSyntax::kJpeg2000Lossless},
      {"1.2.840.10008.1.2.4.91", TransferSyntax::kJpeg2000},
      {"1.2.840.10008.1.2.5", TransferSyntax::kRle},
  };
  for (const Entry& e : kTable) {
    if (uid == e.uid) return e.ts;
  }
  return absl::UnimplementedError(
      absl::StrCat("unsupported transfer syntax \"", uid, "\""));
}

absl::string_view TransferSyntaxName(TransferSyntax ts) {
  switch (ts) {
    case TransferSyntax::kImplicitVrLittleEndian:
      return "implicit VR little endian";
    case TransferSyntax::kExplicitVrLittleEndian:
      return "explicit VR little endian";
    case TransferSyntax::kExplicitVrBigEndian:
      return "explicit VR big endian";
    case TransferSyntax::kDeflatedExplicitVrLittleEndian:
      return "deflated explicit VR little endian";
    case TransferSyntax::kJpegBaseline:
      return "JPEG baseline";
    case TransferSyntax::kJpegExtended:
      return "JPEG extended";
    case TransferSyntax::kJpegLossless:
      return "JPEG lossless";
    case TransferSyntax::kJpegLosslessSv1:
      return "JPEG lossless SV1";
    case TransferSyntax::kJpegLsLossless:
      return "JPEG-LS lossless";
    case TransferSyntax::kJpegLsNearLossless:
      return "JPEG-LS near-lossless";
    case TransferSyntax::kJpeg2000Lossless:
      return "JPEG 2000 lossless";
    case TransferSyntax::kJpeg2000:
      return "JPEG 2000";
    case TransferSyntax::kRle:
      return "RLE lossless";
  }
  return "unknown";
}

bool IsEncapsulated(TransferSyntax ts) {
  switch (ts) {
    case TransferSyntax::kImplicitVrLittleEndian:
    case TransferSyntax::kExplicitVrLittleEndian:
    case TransferSyntax::kExplicitVrBigEndian:
    case TransferSyntax::kDeflatedExplicitVrLittleEndian:
      return false;
    default:
      return true;
  }
}

absl::StatusOr<std::string> InflateBody(absl::string_view bytes,
                                        int64_t max_bytes) {
  MVL_ASSIGN_OR_RETURN(const MetaInfo meta, ReadMeta(bytes));
  if (meta.transfer_syntax_uid != "1.2.840.10008.1.2.1.99")
    return std::string();
  std::string out(bytes.substr(0, meta.dataset_offset));
  z_stream stream;
  std::memset(&stream, 0, sizeof(stream));
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) {
    return absl::InternalError("zlib inflateInit2 failed");
  }
  const absl::string_view body = bytes.substr(meta.dataset_offset);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  char chunk[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&stream);
      return absl::DataLossError(
          absl::StrCat("deflated dataset is corrupt (zlib error ", rc, ")"));
    }
    out.append(chunk, sizeof(chunk) - stream.avail_out);
    if (static_cast<int64_t>(out.size()) > max_bytes) {
      inflateEnd(&stream);
      return absl::ResourceExhaustedError(absl::StrCat(
          "deflated dataset inflates to more than ", max_bytes, " bytes"));
    }
    if (rc == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
      inflateEnd(&stream);
      return absl::DataLossError(
          "deflated dataset ends before the end of its deflate stream");
    }
  }
  inflateEnd(&stream);
  return out;
}

absl::StatusOr<DicomHeader> ParseDicom(absl::string_view bytes,
                                       const ParseOptions& options) {
  MVL_ASSIGN_OR_RETURN(const MetaInfo meta, ReadMeta(bytes));
  DicomHeader header;
  header.has_preamble = meta.has_preamble;
  header.transfer_syntax_uid = meta.transfer_syntax_uid;
  if (meta.transfer_syntax_uid.empty()) {
    header.transfer_syntax = GuessTransferSyntax(bytes, meta.dataset_offset);
  } else {
    MVL_ASSIGN_OR_RETURN(header.transfer_syntax,
                         TransferSyntaxFromUid(meta.transfer_syntax_uid));
  }
  if (header.transfer_syntax ==
      TransferSyntax::kDeflatedExplicitVrLittleEndian) {
    // Callers pass the inflated file (see `InflateBody`); its dataset is plain
    // explicit VR little endian.
  }
  const bool little =
      header.transfer_syntax != TransferSyntax::kExplicitVrBigEndian;
  bool explicit_vr =
      header.transfer_syntax != TransferSyntax::kImplicitVrLittleEndian;
  if (explicit_vr && little &&
      static_cast<int64_t>(bytes.size()) >= meta.dataset_offset + 8 &&
      !IsKnownVr(bytes[meta.dataset_offset + 4],
                 bytes[meta.dataset_offset + 5])) {
    // Some writers declare explicit VR but write implicit VR; pydicom and
    // GDCM both read such files as implicit VR.
    explicit_vr = false;
  }
  const Cursor cursor(bytes, little, explicit_vr);
  ParseState state{&cursor, &header, &options, {}, false, {}};
  int64_t end = 0;
  MVL_RETURN_IF_ERROR(WalkDataset(state, meta.dataset_offset, cursor.size(),
                                  /*undefined_length=*/false, /*depth=*/0,
                                  Scope::kTop, nullptr, &end));
  header.patient_pseudonym =
      Pseudonymize(options.patient_id_salt, state.patient_id);
  // Overwrite the identifier before the state goes away.
  std::fill(state.patient_id.begin(), state.patient_id.end(), '\0');
  return header;
}

int64_t NativeFrameBits(const DicomHeader& h) {
  return int64_t{h.rows} * h.columns * h.samples_per_pixel * h.bits_allocated;
}

absl::StatusOr<Jpeg2000Info> ParseJpeg2000Header(absl::string_view cs) {
  const auto* p = reinterpret_cast<const uint8_t*>(cs.data());
  const size_t n = cs.size();
  auto be16 = [&](size_t i) {
    return static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
  };
  auto be32 = [&](size_t i) {
    return (uint32_t{p[i]} << 24) | (uint32_t{p[i + 1]} << 16) |
           (uint32_t{p[i + 2]} << 8) | uint32_t{p[i + 3]};
  };
  size_t start = 0;
  // JP2 file format: find the contiguous codestream box ("jp2c").
  if (n >= 12 && be32(0) == 12 && cs.substr(4, 4) == "jP  ") {
    size_t pos = 0;
    bool found = false;
    while (pos + 8 <= n) {
      uint64_t box_len = be32(pos);
      const absl::string_view type = cs.substr(pos + 4, 4);
      size_t header_len = 8;
      if (box_len == 1) {
        if (pos + 16 > n) break;
        box_len = (uint64_t{be32(pos + 8)} << 32) | be32(pos + 12);
        header_len = 16;
      }
      if (type == "jp2c") {
        start = pos + header_len;
        found = true;
        break;
      }
      if (box_len < header_len || box_len > n - pos) break;
      pos += box_len;
    }
    if (!found)
      return absl::DataLossError("JPEG 2000 file has no codestream box");
  }
  if (n < start + 4 || be16(start) != 0xFF4F || be16(start + 2) != 0xFF51) {
    return absl::DataLossError(
        "JPEG 2000 codestream does not start with SOC and SIZ markers");
  }
  const size_t siz = start + 4;
  if (n < siz + 38)
    return absl::DataLossError("JPEG 2000 SIZ marker is cut off");
  const uint32_t lsiz = be16(siz);
  const uint32_t xsiz = be32(siz + 4), ysiz = be32(siz + 8);
  const uint32_t xosiz = be32(siz + 12), yosiz = be32(siz + 16);
  const uint32_t csiz = be16(siz + 36);
  if (csiz == 0 || csiz > 16384 || lsiz != 38 + 3 * csiz || n < siz + 38 + 3) {
    return absl::DataLossError("JPEG 2000 SIZ marker is malformed");
  }
  if (xosiz >= xsiz || yosiz >= ysiz) {
    return absl::DataLossError("JPEG 2000 SIZ marker declares an empty image");
  }
  Jpeg2000Info info;
  info.width = static_cast<int>(std::min<uint32_t>(xsiz - xosiz, 1u << 30));
  info.height = static_cast<int>(std::min<uint32_t>(ysiz - yosiz, 1u << 30));
  info.components = static_cast<int>(csiz);
  const uint8_t ssiz = p[siz + 38];
  info.precision = (ssiz & 0x7F) + 1;
  info.is_signed = (ssiz & 0x80) != 0;
  return info;
}

namespace {

struct FrameGeometry {
  int width = 0;
  int height = 0;
  int components = 0;
  int precision = 0;
  uint8_t sof_marker = 0;  // 0xC0..0xCF (JPEG) or 0xF7 (JPEG-LS)
  size_t scan_data = 0;    // JPEG: offset of the first entropy-coded byte
};

// SOFn of JPEG (ITU T.81) or SOF55 of JPEG-LS (T.87). For JPEG the marker
// segments up to the start of scan are checked as well: GDCM's JPEG codec
// aborts the process (a failed assertion) on any warning libjpeg gives while
// it reads them, so such frames are refused here. libjpeg (GDCM's IJG 6b)
// warns there in two cases only: bytes it must skip to find the next marker
// (anything but FF, or a stuffed FF 00) and a JFIF version other than 1.x.
absl::StatusOr<FrameGeometry> ParseJpegFrameHeader(absl::string_view data,
                                                   bool jpeg_ls) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t n = data.size();
  const char* const what = jpeg_ls ? "JPEG-LS" : "JPEG";
  if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) {
    return absl::DataLossError(
        absl::StrCat(what, " fragment does not start with an SOI marker"));
  }
  std::optional<FrameGeometry> frame;
  size_t pos = 2;
  while (pos + 4 <= n) {
    if (p[pos] != 0xFF) {
      return absl::DataLossError(
          absl::StrCat(what, " marker stream is corrupt at byte ", pos));
    }
    const uint8_t marker = p[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0x00) {  // a stuffed zero is no marker: libjpeg skips it
      return absl::DataLossError(
          absl::StrCat(what, " marker stream is corrupt at byte ", pos));
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      pos += 2;  // TEM and RSTn stand alone
      continue;
    }
    const size_t seg_len = (p[pos + 2] << 8) | p[pos + 3];
    if (seg_len < 2 || pos + 2 + seg_len > n) {
      return absl::DataLossError(
          absl::StrCat(what, " marker segment is cut off"));
    }
    const bool is_sof =
        jpeg_ls ? marker == 0xF7
                : ((marker >= 0xC0 && marker <= 0xCF) && marker != 0xC4 &&
                   marker != 0xC8 && marker != 0xCC);
    if (is_sof && !frame.has_value()) {
      if (seg_len < 8)
        return absl::DataLossError(
            absl::StrCat(what, " frame header is cut off"));
      FrameGeometry g;
      g.precision = p[pos + 4];
      g.height = (p[pos + 5] << 8) | p[pos + 6];
      g.width = (p[pos + 7] << 8) | p[pos + 8];
      g.components = p[pos + 9];
      g.sof_marker = marker;
      if (jpeg_ls) return g;
      frame = g;
    }
    if (marker == 0xE0 && seg_len >= 16 &&
        std::memcmp(p + pos + 4, "JFIF\0", 5) == 0 && p[pos + 9] != 1) {
      return absl::DataLossError(
          absl::StrCat("JPEG JFIF version ", p[pos + 9], " is not 1.x"));
    }
    if (marker == 0xDA) {  // start of scan: the header is complete
      if (!frame.has_value()) break;
      frame->scan_data = pos + 2 + seg_len;
      return *frame;
    }
    pos += 2 + seg_len;
  }
  if (frame.has_value()) {
    return absl::DataLossError(
        absl::StrCat(what, " fragment has no start of scan"));
  }
  return absl::DataLossError(
      absl::StrCat(what, " fragment has no frame header"));
}

// A sequential or lossless JPEG frame of one component is coded in a single
// scan, so from the first entropy-coded byte to its end-of-image marker it
// may hold only stuffed bytes (FF 00), fill bytes and restart markers
// (T.81, B.1.1.5 and B.2.1). Any other marker there means the codestream is
// corrupt: libjpeg replaces the rest of the scan with zeros ("premature end
// of data segment", a wrong image) and GDCM's 8-bit codec then leaves its
// decompressor suspended and never frees it (about 24 KB per frame). For the
// same reason only padding may follow the end-of-image marker. The scan may
// run over several fragments; `first` is where it starts.
absl::Status CheckJpegSingleScan(absl::string_view bytes,
                                 const std::vector<ByteRange>& fragments,
                                 size_t first) {
  enum class At { kData, kAfterFf, kAfterEoi } at = At::kData;
  int64_t scanned = 0;  // bytes of the frame before the current fragment
  int64_t eoi = -1;     // frame offset of the end-of-image marker
  for (size_t f = 0; f < fragments.size(); ++f) {
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data()) +
                    fragments[f].offset;
    const size_t n = static_cast<size_t>(fragments[f].length);
    for (size_t i = f == 0 ? first : 0; i < n; ++i) {
      const int64_t marker_at = scanned + static_cast<int64_t>(i) - 1;
      if (at == At::kData) {
        if (p[i] != 0xFF) {
          const void* next = std::memchr(p + i, 0xFF, n - i);
          if (next == nullptr) break;
          i = static_cast<size_t>(static_cast<const uint8_t*>(next) - p);
        }
        at = At::kAfterFf;
      } else if (at == At::kAfterFf) {
        const uint8_t code = p[i];
        if (code == 0xFF) continue;  // fill byte
        if (code == 0x00 || (code >= 0xD0 && code <= 0xD7)) {
          at = At::kData;
        } else if (code == 0xD9) {
          at = At::kAfterEoi;
          eoi = marker_at;
        } else {
          return absl::DataLossError(absl::StrFormat(
              "JPEG scan holds a marker FF%02X at byte %d of the frame; a "
              "frame of one component has a single scan that only restart "
              "markers and the end-of-image marker may interrupt",
              code, marker_at));
        }
      } else if (p[i] != 0x00 && p[i] != 0xFF) {  // only padding after EOI
        return absl::DataLossError(absl::StrCat(
            "JPEG frame ends early: data follows its end-of-image marker at "
            "byte ",
            eoi));
      }
    }
    scanned += static_cast<int64_t>(n);
  }
  // No end-of-image marker: the truncation check that follows names it.
  return absl::OkStatus();
}

absl::Status CheckRleHeader(absl::string_view data, const DicomHeader& h) {
  if (data.size() < 64)
    return absl::DataLossError(
        "RLE fragment is shorter than its 64-byte header");
  auto le32 = [&](size_t i) {
    const auto* p = reinterpret_cast<const uint8_t*>(data.data() + i);
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) |
           (uint32_t{p[3]} << 24);
  };
  const uint32_t segments = le32(0);
  const uint32_t expected =
      static_cast<uint32_t>(h.samples_per_pixel * (h.bits_allocated / 8));
  if (segments != expected) {
    return absl::DataLossError(absl::StrCat("RLE header declares ", segments,
                                            " segments; the image needs ",
                                            expected));
  }
  uint32_t previous = 0;
  for (uint32_t i = 0; i < segments; ++i) {
    const uint32_t offset = le32(4 + 4 * i);
    if (offset < 64 || offset >= data.size() || offset < previous) {
      return absl::DataLossError(
          absl::StrCat("RLE segment ", i, " has an invalid offset ", offset));
    }
    previous = offset;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::vector<ByteRange>>> FrameFragments(
    const DicomHeader& h) {
  const auto& px = h.pixel_data;
  const int64_t frames = h.number_of_frames;
  std::vector<std::vector<ByteRange>> out;
  if (px.fragments.empty())
    return absl::DataLossError("encapsulated Pixel Data has no fragments");
  if (!px.offset_table.empty() &&
      static_cast<int64_t>(px.offset_table.size()) == frames) {
    // Offsets count from the first fragment's item tag.
    const int64_t base = px.fragments.front().offset - 8;
    out.resize(frames);
    for (const ByteRange& f : px.fragments) {
      const int64_t rel = f.offset - 8 - base;
      int64_t k = frames - 1;
      while (k > 0 && rel < static_cast<int64_t>(px.offset_table[k])) --k;
      out[k].push_back(f);
    }
    for (int64_t k = 0; k < frames; ++k) {
      if (out[k].empty() ||
          (k > 0 && px.offset_table[k] <= px.offset_table[k - 1])) {
        return absl::DataLossError(absl::StrCat(
            "Basic Offset Table does not match the fragments at frame ", k));
      }
    }
    return out;
  }
  if (frames == 1) {
    out.push_back(px.fragments);
    return out;
  }
  if (static_cast<int64_t>(px.fragments.size()) == frames) {
    for (const ByteRange& f : px.fragments) out.push_back({f});
    return out;
  }
  return absl::DataLossError(
      absl::StrCat("cannot split ", px.fragments.size(), " fragments into ",
                   frames, " frames without a Basic Offset Table"));
}

absl::Status ValidateImage(const DicomHeader& h, absl::string_view bytes,
                           int64_t max_decoded_bytes) {
  if (!h.has_pixel_data) {
    return absl::FailedPreconditionError(
        "the file has no Pixel Data (7FE0,0010)");
  }
  auto missing = [](const char* what) {
    return absl::DataLossError(
        absl::StrCat("required attribute ", what, " is missing"));
  };
  if (h.rows < 0) return missing("Rows (0028,0010)");
  if (h.columns < 0) return missing("Columns (0028,0011)");
  if (h.bits_allocated < 0) return missing("Bits Allocated (0028,0100)");
  if (h.photometric_interpretation.empty())
    return missing("Photometric Interpretation (0028,0004)");
  if (h.rows == 0 || h.columns == 0) {
    return absl::DataLossError(
        absl::StrCat("image size is ", h.rows, "x", h.columns));
  }
  if (h.samples_per_pixel != 1 && h.samples_per_pixel != 3) {
    return absl::DataLossError(absl::StrCat(
        "Samples per Pixel is ", h.samples_per_pixel, " (1 or 3 expected)"));
  }
  if (h.photometric_interpretation != "MONOCHROME1" &&
      h.photometric_interpretation != "MONOCHROME2") {
    return absl::UnimplementedError(absl::StrCat(
        "Photometric Interpretation ", h.photometric_interpretation,
        " is not supported (MONOCHROME1/2 only)"));
  }
  if (h.samples_per_pixel != 1) {
    return absl::DataLossError(
        "a MONOCHROME image must have 1 sample per pixel");
  }
  if (h.bits_allocated != 1 && h.bits_allocated != 8 &&
      h.bits_allocated != 16 && h.bits_allocated != 32) {
    return absl::UnimplementedError(
        absl::StrCat("Bits Allocated ", h.bits_allocated,
                     " is not supported (1, 8, 16 or 32)"));
  }
  const int bits_stored = h.bits_stored < 0 ? h.bits_allocated : h.bits_stored;
  if (bits_stored < 1 || bits_stored > h.bits_allocated) {
    return absl::DataLossError(absl::StrCat("Bits Stored ", bits_stored,
                                            " does not fit Bits Allocated ",
                                            h.bits_allocated));
  }
  if (h.pixel_representation != 0 && h.pixel_representation != 1) {
    return absl::DataLossError(absl::StrCat("Pixel Representation is ",
                                            h.pixel_representation,
                                            " (0 or 1 expected)"));
  }
  if (h.number_of_frames < 1)
    return absl::DataLossError("Number of Frames is 0");
  const int64_t frame_bytes =
      h.bits_allocated == 1
          ? (int64_t{h.rows} * h.columns + 7) / 8
          : int64_t{h.rows} * h.columns * (h.bits_allocated / 8);
  const bool encapsulated = IsEncapsulated(h.transfer_syntax);
  if (encapsulated != h.pixel_data.encapsulated) {
    return absl::DataLossError(encapsulated
                                   ? "Pixel Data is not encapsulated although "
                                     "the transfer syntax is compressed"
                                   : "Pixel Data is encapsulated although the "
                                     "transfer syntax is native");
  }
  if (!encapsulated) {
    const int64_t frames_fitting = h.pixel_data.value.length * 8 /
                                   std::max<int64_t>(NativeFrameBits(h), 1);
    if (frames_fitting < h.number_of_frames) {
      return absl::DataLossError(
          absl::StrCat("Pixel Data is truncated: ", h.pixel_data.value.length,
                       " bytes hold ", frames_fitting, " of ",
                       h.number_of_frames, " frame(s) of ", h.rows, "x",
                       h.columns, " at ", h.bits_allocated, " bits"));
    }
  }
  if (h.number_of_frames >
      max_decoded_bytes / std::max<int64_t>(frame_bytes, 1)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        h.number_of_frames, " frames of ", h.rows, "x", h.columns,
        " pixels exceed the decode limit of ", max_decoded_bytes, " bytes"));
  }
  if (!encapsulated) {
    const int64_t bits = NativeFrameBits(h) * h.number_of_frames;
    const int64_t expected = (bits + 7) / 8;
    const int64_t actual = h.pixel_data.value.length;
    if (actual < expected) {
      return absl::DataLossError(absl::StrCat(
          "Pixel Data is truncated: ", actual, " bytes present, ", expected,
          " expected for ", h.number_of_frames, " frame(s) of ", h.rows, "x",
          h.columns, " at ", h.bits_allocated, " bits"));
    }
    return absl::OkStatus();
  }
  MVL_ASSIGN_OR_RETURN(const auto frames, FrameFragments(h));
  if (static_cast<int64_t>(frames.size()) < h.number_of_frames) {
    return absl::DataLossError(absl::StrCat("Pixel Data holds ", frames.size(),
                                            " frames; Number of Frames says ",
                                            h.number_of_frames));
  }
  for (size_t k = 0; k < frames.size(); ++k) {
    const ByteRange first = frames[k].front();
    const absl::string_view data = bytes.substr(first.offset, first.length);
    const std::string where = absl::StrCat(" (frame ", k, ")");
    switch (h.transfer_syntax) {
      case TransferSyntax::kJpeg2000Lossless:
      case TransferSyntax::kJpeg2000: {
        auto info = ParseJpeg2000Header(data);
        if (!info.ok())
          return absl::DataLossError(
              absl::StrCat(info.status().message(), where));
        if (info->width != h.columns || info->height != h.rows ||
            info->components != 1) {
          return absl::DataLossError(absl::StrCat(
              "JPEG 2000 codestream is ", info->width, "x", info->height, "x",
              info->components, " but the header says ", h.columns, "x", h.rows,
              "x1", where));
        }
        if (info->precision > h.bits_allocated) {
          return absl::DataLossError(absl::StrCat(
              "JPEG 2000 precision ", info->precision,
              " exceeds Bits Allocated ", h.bits_allocated, where));
        }
        break;
      }
      case TransferSyntax::kJpegBaseline:
      case TransferSyntax::kJpegExtended:
      case TransferSyntax::kJpegLossless:
      case TransferSyntax::kJpegLosslessSv1:
      case TransferSyntax::kJpegLsLossless:
      case TransferSyntax::kJpegLsNearLossless: {
        const bool ls =
            h.transfer_syntax == TransferSyntax::kJpegLsLossless ||
            h.transfer_syntax == TransferSyntax::kJpegLsNearLossless;
        auto g = ParseJpegFrameHeader(data, ls);
        if (!g.ok())
          return absl::DataLossError(absl::StrCat(g.status().message(), where));
        if (g->width != h.columns || (g->height != 0 && g->height != h.rows) ||
            g->components != 1) {
          return absl::DataLossError(absl::StrCat(
              "JPEG frame is ", g->width, "x", g->height, "x", g->components,
              " but the header says ", h.columns, "x", h.rows, "x1", where));
        }
        if (g->precision < 2 || g->precision > 16 ||
            g->precision > h.bits_allocated) {
          return absl::DataLossError(absl::StrCat(
              "JPEG precision ", g->precision, " does not fit Bits Allocated ",
              h.bits_allocated, where));
        }
        // Progressive frames (SOF2, 6, 10, 14) have several scans; they are
        // outside the transfer syntaxes above but decoded when met.
        const bool progressive = g->sof_marker == 0xC2 ||
                                 g->sof_marker == 0xC6 ||
                                 g->sof_marker == 0xCA || g->sof_marker == 0xCE;
        if (!ls && !progressive) {
          absl::Status s = CheckJpegSingleScan(bytes, frames[k], g->scan_data);
          if (!s.ok())
            return absl::DataLossError(absl::StrCat(s.message(), where));
        }
        break;
      }
      case TransferSyntax::kRle: {
        if (h.bits_allocated == 1) {
          return absl::UnimplementedError(
              "RLE with Bits Allocated 1 is not supported");
        }
        absl::Status s = CheckRleHeader(data, h);
        if (!s.ok())
          return absl::DataLossError(absl::StrCat(s.message(), where));
        break;
      }
      default:
        return absl::InternalError("unexpected transfer syntax");
    }
    if (h.bits_allocated == 1) {
      return absl::UnimplementedError(
          "compressed images with Bits Allocated 1 are not supported");
    }
    if (h.transfer_syntax != TransferSyntax::kRle) {
      const ByteRange last = frames[k].back();
      absl::string_view tail = bytes.substr(last.offset, last.length);
      // Padding after the marker: a NUL to even length, or JPEG fill bytes.
      while (!tail.empty() && (tail.back() == '\0' ||
                               static_cast<uint8_t>(tail.back()) == 0xFF)) {
        tail.remove_suffix(1);
      }
      if (tail.size() < 2 ||
          static_cast<uint8_t>(tail[tail.size() - 2]) != 0xFF ||
          static_cast<uint8_t>(tail.back()) != 0xD9) {
        return absl::DataLossError(
            absl::StrCat(TransferSyntaxName(h.transfer_syntax),
                         " codestream is truncated: it does not end with an "
                         "end-of-image marker",
                         where));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace mammovl::data
