// VinDr-Mammo tables and their Mammo-CLIP / FPN-MIL derivatives.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "data/datasets/adapter_util.h"
#include "data/datasets/datasets.h"
#include "data/datasets/labels.h"
#include "data/datasets/py_literal.h"

namespace mammovl::data {
namespace {

const char* const kLabelFindings[] = {"Mass", "Suspicious Calcification", "Architectural Distortion",
                                      "Focal Asymmetry", "Asymmetry"};

std::string ImageFile(const std::string& image_id, const std::string& suffix) {
  return absl::EndsWith(image_id, suffix) ? image_id : image_id + suffix;
}

struct VindrColumns {
  int study = -1, image = -1, laterality = -1, view = -1, split = -1;
  int birads = -1, density = -1, categories = -1, finding_birads = -1;
  int box[4] = {-1, -1, -1, -1};
  int onehot_mass = -1, onehot_calc = -1;
};

absl::StatusOr<VindrColumns> FindColumns(const CsvTable& t, const VindrConfig& config) {
  VindrColumns c;
  c.study = t.FindColumn("study_id") >= 0 ? t.FindColumn("study_id") : t.FindColumn("patient_id");
  c.view = t.FindColumn("view_position") >= 0 ? t.FindColumn("view_position") : t.FindColumn("view");
  if (c.study < 0) return absl::InvalidArgumentError(absl::StrCat(t.source, ": missing column 'study_id'"));
  if (c.view < 0) return absl::InvalidArgumentError(absl::StrCat(t.source, ": missing column 'view_position'"));
  MVL_ASSIGN_OR_RETURN(c.image, t.Column("image_id"));
  MVL_ASSIGN_OR_RETURN(c.laterality, t.Column("laterality"));
  MVL_ASSIGN_OR_RETURN(c.split, t.Column("split"));
  c.birads = t.FindColumn("breast_birads");
  c.density = t.FindColumn("breast_density");
  c.categories = t.FindColumn("finding_categories");
  c.finding_birads = t.FindColumn("finding_birads");
  const bool has_resized = t.FindColumn("resized_xmin") >= 0;
  VindrConfig::BoxFrame frame = config.box_frame();
  if (frame == VindrConfig::BOX_FRAME_UNSPECIFIED) {
    frame = has_resized ? VindrConfig::RESIZED : VindrConfig::ORIGINAL;
  }
  if (c.categories >= 0) {
    const char* const kOriginal[] = {"xmin", "ymin", "xmax", "ymax"};
    const char* const kResized[] = {"resized_xmin", "resized_ymin", "resized_xmax", "resized_ymax"};
    for (int k = 0; k < 4; ++k) {
      MVL_ASSIGN_OR_RETURN(c.box[k],
                           t.Column(frame == VindrConfig::RESIZED ? kResized[k] : kOriginal[k]));
    }
  }
  c.onehot_mass = t.FindColumn("Mass");
  c.onehot_calc = t.FindColumn("Suspicious_Calcification");
  return c;
}

// One parsed table row.
struct VindrRow {
  std::string study, image_id, laterality, view, split;
  int birads = -1, density = -1;
  std::vector<std::string> categories;
  std::vector<Box> boxes;
};

absl::StatusOr<VindrRow> ParseRow(const CsvTable& t, size_t i, const VindrColumns& c) {
  const auto& r = t.rows[i];
  VindrRow row;
  row.study = r[c.study];
  row.image_id = r[c.image];
  if (row.study.empty() || row.image_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(t.Where(i), ": empty study or image id"));
  }
  MVL_ASSIGN_OR_RETURN(row.laterality, ParseLaterality(r[c.laterality], t.Where(i, c.laterality)));
  row.view = r[c.view];
  row.split = r[c.split];
  if (row.split != "training" && row.split != "test") {
    return absl::InvalidArgumentError(absl::StrCat(t.Where(i, c.split), ": unexpected value '",
                                                   row.split, "' (expected training or test)"));
  }
  if (c.birads >= 0) {
    MVL_ASSIGN_OR_RETURN(row.birads, ParseVindrBirads(r[c.birads], t.Where(i, c.birads)));
  }
  if (c.density >= 0) {
    MVL_ASSIGN_OR_RETURN(row.density, ParseDensityLetter(r[c.density], t.Where(i, c.density)));
  }
  if (c.categories < 0) return row;
  absl::StatusOr<std::vector<std::string>> cats = ParsePyStringList(r[c.categories]);
  if (!cats.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(t.Where(i, c.categories), ": ", cats.status().message()));
  }
  for (const std::string& cat : *cats) {
    if (!IsVindrFinding(cat)) {
      return absl::InvalidArgumentError(
          absl::StrCat(t.Where(i, c.categories), ": unexpected finding '", cat, "'"));
    }
  }
  row.categories = *cats;
  const bool no_finding =
      row.categories.empty() || (row.categories.size() == 1 && row.categories[0] == "No Finding");
  if (!no_finding) {
    double v[4];
    for (int k = 0; k < 4; ++k) {
      MVL_ASSIGN_OR_RETURN(v[k], ParseReal(r[c.box[k]], t.Where(i, c.box[k])));
    }
    for (const std::string& cat : row.categories) {
      Box b;
      b.xmin = static_cast<float>(std::min(v[0], v[2]));
      b.xmax = static_cast<float>(std::max(v[0], v[2]));
      b.ymin = static_cast<float>(std::min(v[1], v[3]));
      b.ymax = static_cast<float>(std::max(v[1], v[3]));
      b.category = cat;
      b.image_id = row.image_id;
      row.boxes.push_back(b);
    }
  }
  // The one-hot columns (Mammo-CLIP's detector CSV) must agree with the
  // categories of the row; NaN counts as 0 as in the reference.
  for (auto [col, name] : {std::make_pair(c.onehot_mass, "Mass"),
                           std::make_pair(c.onehot_calc, "Suspicious Calcification")}) {
    if (col < 0) continue;
    int value = 0;
    if (!IsMissing(r[col])) {
      MVL_ASSIGN_OR_RETURN(value, ParseBinary(r[col], t.Where(i, col)));
    }
    const bool has = std::find(row.categories.begin(), row.categories.end(), name) !=
                     row.categories.end();
    if (value != static_cast<int>(has)) {
      return absl::InvalidArgumentError(absl::StrCat(t.Where(i, col), ": value ", value,
                                                     " disagrees with finding_categories '",
                                                     r[c.categories], "'"));
    }
  }
  return row;
}

void SetFindingLabels(const std::vector<std::string>& categories, Sample& s) {
  for (const char* name : kLabelFindings) {
    const std::string label = VindrLabelName(name);
    if (!s.HasLabel(label)) s.labels[label] = 0;
    if (std::find(categories.begin(), categories.end(), name) != categories.end()) {
      s.labels[label] = 1;
    }
  }
}

}  // namespace

absl::StatusOr<Dataset> ReadVindr(const DatasetConfig& config) {
  const VindrConfig& vc = config.vindr();
  MVL_ASSIGN_OR_RETURN(const CsvTable t, ReadTable(vc.csv(), {}));
  MVL_ASSIGN_OR_RETURN(const VindrColumns c, FindColumns(t, vc));
  Dataset d;
  d.name = "vindr";
  RowPolicy policy(config, &d);
  std::map<std::string, size_t> by_image;
  std::vector<std::string> required(vc.require_categories().begin(), vc.require_categories().end());
  MVL_RETURN_IF_ERROR(ForEachRow(t, policy, &d, [&](size_t i) -> absl::Status {
    MVL_ASSIGN_OR_RETURN(VindrRow parsed, ParseRow(t, i, c));
    VindrRow* row = &parsed;
    const std::string path =
        JoinPath(config.image_root(), row->study, ImageFile(row->image_id, config.image_suffix()));
    MVL_RETURN_IF_ERROR(policy.CheckImage(path, t.Where(i, c.image)));
    if (!required.empty()) {
      std::vector<Box> kept;
      for (const Box& b : row->boxes) {
        if (std::find(required.begin(), required.end(), b.category) != required.end()) {
          kept.push_back(b);
        }
      }
      row->boxes = std::move(kept);
    }
    auto found = by_image.find(row->image_id);
    if (vc.per_row() || found == by_image.end()) {
      Sample s;
      s.id = vc.per_row() ? absl::StrCat(row->image_id, "@", t.row_lines[i]) : row->image_id;
      s.patient_id = row->study;
      s.study_id = row->study;
      s.laterality = row->laterality;
      s.split = row->split;
      s.images.push_back({path, row->image_id, row->view, row->laterality});
      if (row->birads >= 0) s.labels["birads"] = static_cast<float>(row->birads);
      if (row->density >= 0) s.labels["density"] = static_cast<float>(row->density);
      if (c.categories >= 0) SetFindingLabels(row->categories, s);
      s.boxes = row->boxes;
      s.image_findings.push_back(row->categories);
      if (!vc.per_row()) by_image[row->image_id] = d.samples.size();
      d.samples.push_back(std::move(s));
      return absl::OkStatus();
    }
    Sample& s = d.samples[found->second];
    if (s.laterality != row->laterality || s.split != row->split ||
        (row->birads >= 0 && s.Label("birads") != row->birads)) {
      return absl::InvalidArgumentError(absl::StrCat(
          t.Where(i), ": image '", row->image_id, "' has other laterality, split or BI-RADS than "
          "its earlier rows"));
    }
    SetFindingLabels(row->categories, s);
    s.boxes.insert(s.boxes.end(), row->boxes.begin(), row->boxes.end());
    auto& findings = s.image_findings[0];
    for (const std::string& cat : row->categories) {
      if (std::find(findings.begin(), findings.end(), cat) == findings.end()) findings.push_back(cat);
    }
    return absl::OkStatus();
  }));
  if (!required.empty()) {
    std::vector<Sample> kept;
    for (Sample& s : d.samples) {
      if (!s.boxes.empty()) kept.push_back(std::move(s));
    }
    d.samples = std::move(kept);
  }
  // "No Finding" next to real findings is dropped from an image's list.
  for (Sample& s : d.samples) {
    auto& f = s.image_findings[0];
    if (f.size() > 1) f.erase(std::remove(f.begin(), f.end(), "No Finding"), f.end());
  }
  MVL_RETURN_IF_ERROR(policy.Finish(d.rows_read));
  return FinishDataset(std::move(d), SplitSource::kOfficialTest, config, "mass");
}

absl::StatusOr<Dataset> ReadFpnMil(const DatasetConfig& config) {
  MVL_ASSIGN_OR_RETURN(
      const CsvTable t,
      ReadTable(config.fpn_mil().csv(),
                {"image_id", "patient_id", "laterality", "view", "finding_categories", "split",
                 "Mass", "Suspicious_Calcification", "resized_xmin", "resized_ymin",
                 "resized_xmax", "resized_ymax"}));
  Dataset d;
  d.name = "fpn_mil";
  RowPolicy policy(config, &d);
  const int image = t.FindColumn("image_id"), patient = t.FindColumn("patient_id");
  const int lat = t.FindColumn("laterality"), view = t.FindColumn("view");
  const int cats = t.FindColumn("finding_categories"), split = t.FindColumn("split");
  const int mass = t.FindColumn("Mass"), calc = t.FindColumn("Suspicious_Calcification");
  const int fold = t.FindColumn("fold");
  const int birads = t.FindColumn("breast_birads"), density = t.FindColumn("breast_density");
  const int box_cols[4] = {t.FindColumn("resized_xmin"), t.FindColumn("resized_ymin"),
                           t.FindColumn("resized_xmax"), t.FindColumn("resized_ymax")};
  MVL_RETURN_IF_ERROR(ForEachRow(t, policy, &d, [&](size_t i) -> absl::Status {
    const auto& r = t.rows[i];
    auto parse = [&]() -> absl::StatusOr<Sample> {
      Sample s;
      s.id = r[image];
      s.patient_id = r[patient];
      s.study_id = r[patient];
      MVL_ASSIGN_OR_RETURN(s.laterality, ParseLaterality(r[lat], t.Where(i, lat)));
      s.split = r[split];
      if (s.split != "training" && s.split != "test") {
        return absl::InvalidArgumentError(absl::StrCat(t.Where(i, split), ": unexpected value '",
                                                       s.split, "' (expected training or test)"));
      }
      if (fold >= 0 && !IsMissing(r[fold])) {
        MVL_ASSIGN_OR_RETURN(s.fold, ParseIntInRange(r[fold], 0, 1000, t.Where(i, fold)));
      }
      for (auto [col, label] : {std::make_pair(mass, "mass"), std::make_pair(calc, "calcification")}) {
        int v = 0;  // the reference fills NaN with 0
        if (!IsMissing(r[col])) {
          MVL_ASSIGN_OR_RETURN(v, ParseBinary(r[col], t.Where(i, col)));
        }
        s.labels[label] = static_cast<float>(v);
      }
      if (birads >= 0 && !IsMissing(r[birads])) {
        MVL_ASSIGN_OR_RETURN(const int b, ParseVindrBirads(r[birads], t.Where(i, birads)));
        s.labels["birads"] = static_cast<float>(b);
      }
      if (density >= 0 && !IsMissing(r[density])) {
        MVL_ASSIGN_OR_RETURN(const int dd, ParseDensityLetter(r[density], t.Where(i, density)));
        s.labels["density"] = static_cast<float>(dd);
      }
      // finding_categories: a JSON list of Python-list strings, one per box.
      absl::StatusOr<std::vector<std::string>> per_box = ParsePyStringList(r[cats]);
      if (!per_box.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(t.Where(i, cats), ": ", per_box.status().message()));
      }
      std::vector<std::vector<double>> coords(4);
      for (int k = 0; k < 4; ++k) {
        absl::StatusOr<std::vector<double>> v = ParsePyNumberList(r[box_cols[k]]);
        if (!v.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat(t.Where(i, box_cols[k]), ": ", v.status().message()));
        }
        coords[k] = *v;
        if (coords[k].size() != per_box->size()) {
          return absl::InvalidArgumentError(absl::StrCat(
              t.Where(i, box_cols[k]), ": ", coords[k].size(), " values for ", per_box->size(),
              " boxes"));
        }
      }
      std::vector<std::string> all;
      bool any_mass = false, any_calc = false;
      for (size_t b = 0; b < per_box->size(); ++b) {
        absl::StatusOr<std::vector<std::string>> names = ParsePyStringList((*per_box)[b]);
        if (!names.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(t.Where(i, cats), ": ", names.status().message()));
        }
        for (const std::string& n : *names) {
          if (!IsVindrFinding(n)) {
            return absl::InvalidArgumentError(
                absl::StrCat(t.Where(i, cats), ": unexpected finding '", n, "'"));
          }
          if (std::find(all.begin(), all.end(), n) == all.end()) all.push_back(n);
          if (n == "No Finding") continue;
          any_mass = any_mass || n == "Mass";
          any_calc = any_calc || n == "Suspicious Calcification";
          Box box;
          // Boxes with min > max are swapped, as the reference does.
          box.xmin = static_cast<float>(std::min(coords[0][b], coords[2][b]));
          box.xmax = static_cast<float>(std::max(coords[0][b], coords[2][b]));
          box.ymin = static_cast<float>(std::min(coords[1][b], coords[3][b]));
          box.ymax = static_cast<float>(std::max(coords[1][b], coords[3][b]));
          box.category = n;
          box.image_id = s.id;
          s.boxes.push_back(box);
        }
      }
      if (any_mass != (s.labels["mass"] == 1) || any_calc != (s.labels["calcification"] == 1)) {
        return absl::InvalidArgumentError(absl::StrCat(
            t.Where(i), ": Mass/Suspicious_Calcification disagree with finding_categories"));
      }
      const std::string path = JoinPath(config.image_root(), s.patient_id, s.id);
      MVL_RETURN_IF_ERROR(policy.CheckImage(path, t.Where(i, image)));
      s.images.push_back({path, s.id, r[view], s.laterality});
      s.image_findings.push_back(all);
      return s;
    };
    MVL_ASSIGN_OR_RETURN(Sample s, parse());
    d.samples.push_back(std::move(s));
    return absl::OkStatus();
  }));
  MVL_RETURN_IF_ERROR(policy.Finish(d.rows_read));
  return FinishDataset(std::move(d), SplitSource::kOfficialTest, config, "mass");
}

}  // namespace mammovl::data
