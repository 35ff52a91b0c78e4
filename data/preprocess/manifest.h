// manifest.csv and failures.csv of a preprocessing run: one row per written
// PNG (or per failed source file), with the columns documented in
// data/preprocess/README.md. No LibTorch.
#ifndef MAMMOVL_DATA_PREPROCESS_MANIFEST_H_
#define MAMMOVL_DATA_PREPROCESS_MANIFEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/preprocess/pipeline.h"

namespace mammovl::data {

struct ManifestRow {
  std::string
      source_path;  // relative to the input folder (or as listed in the CSV)
  std::string output_path;  // relative to the output folder
  int64_t frame = 0;
  std::string study_id;  // output folder name: study, patient or pseudonym
  std::string image_id;  // output file stem (without a frame suffix)
  std::string patient_pseudonym;
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string sop_instance_uid;
  std::string laterality;  // L, R, B or ""
  std::string view;        // CC, MLO, ML, LM, XCCL, ... or ""
  std::string manufacturer;
  std::string photometric_interpretation;
  std::string transfer_syntax_uid;
  int rows = 0;  // original size
  int columns = 0;
  int bits_stored = 0;
  std::string pixel_spacing_row;  // mm, "" when absent
  std::string pixel_spacing_col;
  FrameGeometry geometry;
  int output_bits = 8;
  std::string sha256;  // of the PNG file
  int64_t bytes = 0;
};

// Column names, in file order.
const std::vector<std::string>& ManifestColumns();

std::vector<std::string> ManifestFields(const ManifestRow& row);
// Parses one row; InvalidArgument naming the column on malformed numbers.
absl::StatusOr<ManifestRow> ParseManifestFields(
    const std::vector<std::string>& header,
    const std::vector<std::string>& fields);

// Reads a manifest. With `tolerate_truncated_last_row`, a last row cut by a
// crash is dropped instead of failing.
absl::StatusOr<std::vector<ManifestRow>> ReadManifest(
    absl::string_view path, bool tolerate_truncated_last_row = false);

struct FailureRow {
  std::string source_path;
  std::string reason;
};
const std::vector<std::string>& FailureColumns();
absl::StatusOr<std::vector<FailureRow>> ReadFailures(
    absl::string_view path, bool tolerate_truncated_last_row = false);

// The mammography view from ViewPosition, else from the View Code Sequence
// meaning ("cranio-caudal" -> CC, "medio-lateral oblique" -> MLO, ...).
std::string ViewFromDicom(absl::string_view view_position,
                          absl::string_view view_code_meaning);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_PREPROCESS_MANIFEST_H_
