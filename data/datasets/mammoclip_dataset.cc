// Mammo-CLIP's pretraining tables (mammoclip.md §4.1).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "data/datasets/adapter_util.h"
#include "data/datasets/datasets.h"
#include "data/datasets/labels.h"
#include "data/datasets/py_literal.h"

namespace mammovl::data {
namespace {

// Parses a list cell strictly; the error names the cell.
absl::StatusOr<std::vector<std::string>> ListCell(const CsvTable& t, size_t row, int col) {
  absl::StatusOr<std::vector<std::string>> v =
      ParsePyStringList(t.rows[row][col], /*allow_bare_value=*/true);
  if (!v.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(t.Where(row, col), ": ", v.status().message()));
  }
  return v;
}

// Images of a breast row: the CC list then the MLO list, or the `image`
// list (with the `view` list when it aligns) if both are empty.
absl::Status AddImages(const CsvTable& t, size_t row, const DatasetConfig& config,
                       const RowPolicy& policy, Sample& s) {
  const int cc = t.FindColumn("CC"), mlo = t.FindColumn("MLO");
  struct File {
    std::string name;
    std::string view;
    int column;
  };
  std::vector<File> files;
  for (auto [col, view] : {std::make_pair(cc, "CC"), std::make_pair(mlo, "MLO")}) {
    if (col < 0) continue;
    MVL_ASSIGN_OR_RETURN(std::vector<std::string> names, ListCell(t, row, col));
    for (std::string& n : names) files.push_back({std::move(n), view, col});
  }
  if (files.empty()) {
    MVL_ASSIGN_OR_RETURN(const int image_col, t.Column("image"));
    MVL_ASSIGN_OR_RETURN(std::vector<std::string> names, ListCell(t, row, image_col));
    std::vector<std::string> views;
    if (const int view_col = t.FindColumn("view"); view_col >= 0) {
      MVL_ASSIGN_OR_RETURN(views, ListCell(t, row, view_col));
    }
    for (size_t i = 0; i < names.size(); ++i) {
      files.push_back({names[i], views.size() == names.size() ? views[i] : "", image_col});
    }
  }
  if (files.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(t.Where(row), ": the row lists no image"));
  }
  for (File& file : files) {
    ImageRef ref;
    ref.path = JoinPath(config.image_root(), s.patient_id, file.name);
    ref.image_id = file.name;
    ref.view = file.view;
    ref.laterality = s.laterality;
    MVL_RETURN_IF_ERROR(policy.CheckImage(ref.path, t.Where(row, file.column)));
    s.images.push_back(std::move(ref));
  }
  return absl::OkStatus();
}

absl::StatusOr<Sample> ImageTextRow(const CsvTable& t, size_t row, const DatasetConfig& config,
                                    const RowPolicy& policy) {
  const auto& r = t.rows[row];
  Sample s;
  s.patient_id = r[t.FindColumn("patient_id")];
  const int lat = t.FindColumn("laterality");
  MVL_ASSIGN_OR_RETURN(s.laterality, ParseLaterality(r[lat], t.Where(row, lat)));
  s.id = absl::StrCat(s.patient_id, "_", s.laterality);
  const int fold = t.FindColumn("fold");
  MVL_ASSIGN_OR_RETURN(s.fold, ParseIntInRange(r[fold], 0, 1000, t.Where(row, fold)));
  MVL_ASSIGN_OR_RETURN(s.texts, ListCell(t, row, t.FindColumn("text")));
  if (s.texts.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(t.Where(row, t.FindColumn("text")), ": no text"));
  }
  const int aug = t.FindColumn("text_augment");
  if (config.mammoclip_image_text().use_text_augment() && aug >= 0 && !IsMissing(r[aug])) {
    MVL_ASSIGN_OR_RETURN(s.texts_augmented, ListCell(t, row, aug));
    if (s.texts_augmented.size() != s.texts.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(t.Where(row, aug), ": ", s.texts_augmented.size(),
                       " augmented texts for ", s.texts.size(), " texts"));
    }
  }
  MVL_RETURN_IF_ERROR(AddImages(t, row, config, policy, s));
  return s;
}

// Positives of one view from a 4-slot [pos_right, pos_left, neg_right,
// neg_left] cell; every name must be a VinDr finding.
absl::StatusOr<std::vector<std::string>> FindingSlots(const CsvTable& t, size_t row, int col,
                                                      const std::string& laterality) {
  absl::StatusOr<PyValue> v = ParsePyLiteral(t.rows[row][col]);
  if (!v.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(t.Where(row, col), ": ", v.status().message()));
  }
  if (v->kind != PyValue::Kind::kList || v->items.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        t.Where(row, col), ": expected [pos_right, pos_left, neg_right, neg_left], got '",
        t.rows[row][col], "'"));
  }
  std::vector<std::string> positives;
  for (size_t slot = 0; slot < 4; ++slot) {
    for (const PyValue& item : v->items[slot].items) {
      if (item.kind != PyValue::Kind::kString || !IsVindrFinding(item.str)) {
        return absl::InvalidArgumentError(absl::StrCat(t.Where(row, col), ": unexpected finding '",
                                                       item.str, "'"));
      }
      const bool pos = slot < 2;
      const bool right = slot % 2 == 0;
      if (pos && right == (laterality == "R")) positives.push_back(item.str);
    }
  }
  return positives;
}

absl::StatusOr<Sample> ImageLabelRow(const CsvTable& t, size_t row, const DatasetConfig& config,
                                     const RowPolicy& policy) {
  const auto& r = t.rows[row];
  Sample s;
  s.patient_id = r[t.FindColumn("patient_id")];
  const int lat = t.FindColumn("laterality");
  MVL_ASSIGN_OR_RETURN(s.laterality, ParseLaterality(r[lat], t.Where(row, lat)));
  s.id = absl::StrCat(s.patient_id, "_", s.laterality);
  const int split = t.FindColumn("split");
  s.split = r[split];
  if (s.split != "training" && s.split != "test") {
    return absl::InvalidArgumentError(absl::StrCat(t.Where(row, split), ": unexpected value '",
                                                   s.split, "' (expected training or test)"));
  }
  MVL_RETURN_IF_ERROR(AddImages(t, row, config, policy, s));
  MVL_ASSIGN_OR_RETURN(const std::vector<std::string> cc,
                       FindingSlots(t, row, t.FindColumn("CC_FINDING"), s.laterality));
  MVL_ASSIGN_OR_RETURN(const std::vector<std::string> mlo,
                       FindingSlots(t, row, t.FindColumn("MLO_FINDING"), s.laterality));
  for (const ImageRef& img : s.images) s.image_findings.push_back(img.view == "MLO" ? mlo : cc);
  for (const char* name : {"Mass", "Suspicious Calcification"}) {
    s.labels[VindrLabelName(name)] = 0;
  }
  for (const auto* list : {&cc, &mlo}) {
    for (const std::string& f : *list) {
      if (f != "No Finding") s.labels[VindrLabelName(f)] = 1;
    }
  }
  return s;
}

}  // namespace

absl::StatusOr<Dataset> ReadMammoClipImageText(const DatasetConfig& config) {
  MVL_ASSIGN_OR_RETURN(const CsvTable t,
                       ReadTable(config.mammoclip_image_text().csv(),
                                 {"patient_id", "laterality", "text", "fold"}));
  Dataset d;
  d.name = "mammoclip_image_text";
  RowPolicy policy(config, &d);
  MVL_RETURN_IF_ERROR(ForEachRow(t, policy, &d, [&](size_t i) -> absl::Status {
    MVL_ASSIGN_OR_RETURN(Sample s, ImageTextRow(t, i, config, policy));
    d.samples.push_back(std::move(s));
    return absl::OkStatus();
  }));
  MVL_RETURN_IF_ERROR(policy.Finish(d.rows_read));
  return FinishDataset(std::move(d), SplitSource::kFolds, config, "");
}

absl::StatusOr<Dataset> ReadMammoClipImageLabel(const DatasetConfig& config) {
  MVL_ASSIGN_OR_RETURN(const CsvTable t,
                       ReadTable(config.mammoclip_image_label().csv(),
                                 {"patient_id", "laterality", "split", "CC_FINDING", "MLO_FINDING"}));
  Dataset d;
  d.name = "mammoclip_image_label";
  RowPolicy policy(config, &d);
  MVL_RETURN_IF_ERROR(ForEachRow(t, policy, &d, [&](size_t i) -> absl::Status {
    MVL_ASSIGN_OR_RETURN(Sample s, ImageLabelRow(t, i, config, policy));
    d.samples.push_back(std::move(s));
    return absl::OkStatus();
  }));
  MVL_RETURN_IF_ERROR(policy.Finish(d.rows_read));
  return FinishDataset(std::move(d), SplitSource::kOfficialTest, config, "mass");
}

}  // namespace mammovl::data
