#include "data/preprocess/manifest.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "data/preprocess/csv.h"

namespace mammovl::data {
namespace {

std::string Double(double v) { return absl::StrFormat("%.10g", v); }

}  // namespace

const std::vector<std::string>& ManifestColumns() {
  static const auto* columns =
      new std::vector<std::string>{"source_path",
                                   "output_path",
                                   "frame",
                                   "study_id",
                                   "image_id",
                                   "patient_pseudonym",
                                   "study_instance_uid",
                                   "series_instance_uid",
                                   "sop_instance_uid",
                                   "laterality",
                                   "view",
                                   "manufacturer",
                                   "photometric_interpretation",
                                   "transfer_syntax_uid",
                                   "rows",
                                   "columns",
                                   "bits_stored",
                                   "pixel_spacing_row",
                                   "pixel_spacing_col",
                                   "trim",
                                   "crop_x",
                                   "crop_y",
                                   "crop_width",
                                   "crop_height",
                                   "crop_contiguous",
                                   "resized_width",
                                   "resized_height",
                                   "scale_x",
                                   "scale_y",
                                   "pad_left",
                                   "pad_top",
                                   "flipped",
                                   "out_width",
                                   "out_height",
                                   "output_bits",
                                   "sha256",
                                   "bytes"};
  return *columns;
}

std::vector<std::string> ManifestFields(const ManifestRow& r) {
  const FrameGeometry& g = r.geometry;
  return {r.source_path,
          r.output_path,
          absl::StrCat(r.frame),
          r.study_id,
          r.image_id,
          r.patient_pseudonym,
          r.study_instance_uid,
          r.series_instance_uid,
          r.sop_instance_uid,
          r.laterality,
          r.view,
          r.manufacturer,
          r.photometric_interpretation,
          r.transfer_syntax_uid,
          absl::StrCat(r.rows),
          absl::StrCat(r.columns),
          absl::StrCat(r.bits_stored),
          r.pixel_spacing_row,
          r.pixel_spacing_col,
          absl::StrCat(g.trim),
          absl::StrCat(g.crop_x),
          absl::StrCat(g.crop_y),
          absl::StrCat(g.crop_width),
          absl::StrCat(g.crop_height),
          g.crop_contiguous ? "1" : "0",
          absl::StrCat(g.resized_width),
          absl::StrCat(g.resized_height),
          Double(g.scale_x),
          Double(g.scale_y),
          absl::StrCat(g.padding.left),
          absl::StrCat(g.padding.top),
          g.flipped ? "1" : "0",
          absl::StrCat(g.out_width),
          absl::StrCat(g.out_height),
          absl::StrCat(r.output_bits),
          r.sha256,
          absl::StrCat(r.bytes)};
}

absl::StatusOr<ManifestRow> ParseManifestFields(
    const std::vector<std::string>& header,
    const std::vector<std::string>& fields) {
  ManifestRow r;
  FrameGeometry& g = r.geometry;
  for (size_t i = 0; i < header.size() && i < fields.size(); ++i) {
    const std::string& name = header[i];
    const std::string& v = fields[i];
    auto int_field = [&](auto* out) -> absl::Status {
      int64_t value = 0;
      if (!absl::SimpleAtoi(v, &value)) {
        return absl::InvalidArgumentError(
            absl::StrCat("column ", name, ": \"", v, "\" is not an integer"));
      }
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(value);
      return absl::OkStatus();
    };
    auto double_field = [&](double* out) -> absl::Status {
      if (!absl::SimpleAtod(v, out)) {
        return absl::InvalidArgumentError(
            absl::StrCat("column ", name, ": \"", v, "\" is not a number"));
      }
      return absl::OkStatus();
    };
    if (name == "source_path")
      r.source_path = v;
    else if (name == "output_path")
      r.output_path = v;
    else if (name == "frame")
      MVL_RETURN_IF_ERROR(int_field(&r.frame));
    else if (name == "study_id")
      r.study_id = v;
    else if (name == "image_id")
      r.image_id = v;
    else if (name == "patient_pseudonym")
      r.patient_pseudonym = v;
    else if (name == "study_instance_uid")
      r.study_instance_uid = v;
    else if (name == "series_instance_uid")
      r.series_instance_uid = v;
    else if (name == "sop_instance_uid")
      r.sop_instance_uid = v;
    else if (name == "laterality")
      r.laterality = v;
    else if (name == "view")
      r.view = v;
    else if (name == "manufacturer")
      r.manufacturer = v;
    else if (name == "photometric_interpretation")
      r.photometric_interpretation = v;
    else if (name == "transfer_syntax_uid")
      r.transfer_syntax_uid = v;
    else if (name == "rows")
      MVL_RETURN_IF_ERROR(int_field(&r.rows));
    else if (name == "columns")
      MVL_RETURN_IF_ERROR(int_field(&r.columns));
    else if (name == "bits_stored")
      MVL_RETURN_IF_ERROR(int_field(&r.bits_stored));
    else if (name == "pixel_spacing_row")
      r.pixel_spacing_row = v;
    else if (name == "pixel_spacing_col")
      r.pixel_spacing_col = v;
    else if (name == "trim")
      MVL_RETURN_IF_ERROR(int_field(&g.trim));
    else if (name == "crop_x")
      MVL_RETURN_IF_ERROR(int_field(&g.crop_x));
    else if (name == "crop_y")
      MVL_RETURN_IF_ERROR(int_field(&g.crop_y));
    else if (name == "crop_width")
      MVL_RETURN_IF_ERROR(int_field(&g.crop_width));
    else if (name == "crop_height")
      MVL_RETURN_IF_ERROR(int_field(&g.crop_height));
    else if (name == "crop_contiguous")
      g.crop_contiguous = v == "1";
    else if (name == "resized_width")
      MVL_RETURN_IF_ERROR(int_field(&g.resized_width));
    else if (name == "resized_height")
      MVL_RETURN_IF_ERROR(int_field(&g.resized_height));
    else if (name == "scale_x")
      MVL_RETURN_IF_ERROR(double_field(&g.scale_x));
    else if (name == "scale_y")
      MVL_RETURN_IF_ERROR(double_field(&g.scale_y));
    else if (name == "pad_left")
      MVL_RETURN_IF_ERROR(int_field(&g.padding.left));
    else if (name == "pad_top")
      MVL_RETURN_IF_ERROR(int_field(&g.padding.top));
    else if (name == "flipped")
      g.flipped = v == "1";
    else if (name == "out_width")
      MVL_RETURN_IF_ERROR(int_field(&g.out_width));
    else if (name == "out_height")
      MVL_RETURN_IF_ERROR(int_field(&g.out_height));
    else if (name == "output_bits")
      MVL_RETURN_IF_ERROR(int_field(&r.output_bits));
    else if (name == "sha256")
      r.sha256 = v;
    else if (name == "bytes")
      MVL_RETURN_IF_ERROR(int_field(&r.bytes));
  }
  return r;
}

absl::StatusOr<std::vector<ManifestRow>> ReadManifest(
    absl::string_view path, bool tolerate_truncated_last_row) {
  CsvReadOptions options;
  options.tolerate_truncated_last_row = tolerate_truncated_last_row;
  MVL_ASSIGN_OR_RETURN(const CsvTable table, ReadCsvFile(path, options));
  for (const char* required :
       {"source_path", "output_path", "frame", "image_id", "sha256"}) {
    if (table.Column(required) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not a manifest (no column ", required, ")"));
    }
  }
  std::vector<ManifestRow> rows;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    auto row = ParseManifestFields(table.header, table.rows[i]);
    if (!row.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", table.line_numbers[i], ": ", row.status().message()));
    }
    rows.push_back(*std::move(row));
  }
  return rows;
}

const std::vector<std::string>& FailureColumns() {
  static const auto* columns =
      new std::vector<std::string>{"source_path", "reason"};
  return *columns;
}

absl::StatusOr<std::vector<FailureRow>> ReadFailures(
    absl::string_view path, bool tolerate_truncated_last_row) {
  CsvReadOptions options;
  options.tolerate_truncated_last_row = tolerate_truncated_last_row;
  MVL_ASSIGN_OR_RETURN(const CsvTable table, ReadCsvFile(path, options));
  const int source = table.Column("source_path");
  const int reason = table.Column("reason");
  if (source < 0 || reason < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a failures file"));
  }
  std::vector<FailureRow> rows;
  for (const auto& fields : table.rows)
    rows.push_back({fields[source], fields[reason]});
  return rows;
}

std::string ViewFromDicom(absl::string_view view_position,
                          absl::string_view view_code_meaning) {
  if (!view_position.empty()) return absl::AsciiStrToUpper(view_position);
  const std::string m = absl::AsciiStrToLower(view_code_meaning);
  struct Entry {
    const char* meaning;
    const char* view;
  };
  // SNOMED meanings used in the View Code Sequence of mammograms (CID 4014),
  // most specific first.
  static constexpr Entry kViews[] = {
      {"exaggerated cranio-caudal", "XCCL"},
      {"cranio-caudal exaggerated laterally", "XCCL"},
      {"cranio-caudal exaggerated medially", "XCCM"},
      {"caudo-cranial", "FB"},
      {"cranio-caudal", "CC"},
      {"medio-lateral oblique", "MLO"},
      {"latero-medial oblique", "LMO"},
      {"superolateral to inferomedial oblique", "SIO"},
      {"medio-lateral", "ML"},
      {"latero-medial", "LM"},
      {"axillary tail", "AT"},
      {"cleavage", "CV"},
  };
  for (const Entry& e : kViews) {
    if (m.find(e.meaning) != std::string::npos) return e.view;
  }
  return "";
}

}  // namespace mammovl::data
