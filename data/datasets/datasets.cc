#include "data/datasets/datasets.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace mammovl::data {
namespace {

absl::Status Range(double v, double lo, double hi, const char* field) {
  if (v >= lo && v <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " must be in [", lo, ", ", hi, "] (got ", v, ")"));
}

}  // namespace

bool IsVindrFinding(const std::string& name) {
  static const char* const kNames[] = {
      "Mass",          "Suspicious Calcification", "Architectural Distortion", "Global Asymmetry",
      "Focal Asymmetry", "Asymmetry",              "Suspicious Lymph Node",    "Nipple Retraction",
      "Skin Retraction", "Skin Thickening",        "No Finding"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

std::string VindrLabelName(const std::string& finding) {
  if (finding == "Mass") return "mass";
  if (finding == "Suspicious Calcification") return "calcification";
  return absl::StrReplaceAll(absl::AsciiStrToLower(finding), {{" ", "_"}});
}

absl::Status ValidateDatasetConfig(const DatasetConfig& config) {
  if (config.source_case() == DatasetConfig::SOURCE_NOT_SET) {
    return absl::InvalidArgumentError("dataset: no source selected (e.g. vindr { csv: ... })");
  }
  if (!(config.data_pct() > 0 && config.data_pct() <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dataset.data_pct must be in (0, 1] (got ", config.data_pct(), ")"));
  }
  if (auto s = Range(config.max_skipped_fraction(), 0, 1, "dataset.max_skipped_fraction"); !s.ok()) {
    return s;
  }
  const SplitConfig& split = config.split();
  if (auto s = Range(split.valid_fraction(), 0, 1, "dataset.split.valid_fraction"); !s.ok()) return s;
  if (auto s = Range(split.test_fraction(), 0, 1, "dataset.split.test_fraction"); !s.ok()) return s;
  if (split.valid_fraction() + split.test_fraction() > 1) {
    return absl::InvalidArgumentError(
        "dataset.split: valid_fraction + test_fraction must be <= 1");
  }
  if (config.row_policy() == DatasetConfig::ROW_POLICY_UNSPECIFIED) {
    return absl::InvalidArgumentError("dataset.row_policy must be SKIP_AND_COUNT or FAIL");
  }
  return absl::OkStatus();
}

absl::StatusOr<Dataset> BuildDataset(const DatasetConfig& config) {
  if (absl::Status s = ValidateDatasetConfig(config); !s.ok()) return s;
  switch (config.source_case()) {
    case DatasetConfig::kMammoclipImageText: return ReadMammoClipImageText(config);
    case DatasetConfig::kMammoclipImageLabel: return ReadMammoClipImageLabel(config);
    case DatasetConfig::kEmbed: return ReadEmbed(config);
    case DatasetConfig::kRsna: return ReadRsna(config);
    case DatasetConfig::kVindr: return ReadVindr(config);
    case DatasetConfig::kCbisDdsm: return ReadCbisDdsm(config);
    case DatasetConfig::kFpnMil: return ReadFpnMil(config);
    case DatasetConfig::SOURCE_NOT_SET: break;
  }
  return absl::InvalidArgumentError("dataset: no source selected");
}

}  // namespace mammovl::data
