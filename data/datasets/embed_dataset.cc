// EMBED metadata + clinical + legend, as MaMA reads them (mama.md §4).
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/status_macros.h"
#include "data/datasets/adapter_util.h"
#include "data/datasets/datasets.h"
#include "data/datasets/labels.h"

namespace mammovl::data {
namespace {

using Legend = std::map<std::string, std::map<std::string, std::string>>;

absl::StatusOr<Legend> ReadLegend(const std::string& path) {
  Legend legend;
  if (path.empty()) return legend;
  MVL_ASSIGN_OR_RETURN(const CsvTable t, ReadTable(path, {"Header in export", "Code", "Meaning"}));
  const int h = t.FindColumn("Header in export"), c = t.FindColumn("Code"),
            m = t.FindColumn("Meaning");
  for (const auto& r : t.rows) legend[r[h]][r[c]] = r[m];
  return legend;
}

std::string Lookup(const Legend& legend, const std::string& header, const std::string& code) {
  auto h = legend.find(header);
  if (h == legend.end()) return "";
  auto c = h->second.find(code);
  return c == h->second.end() ? "" : c->second;
}

// MaMA's choice of the clinical row for an image (§4.2), with its intent
// rather than its positional bug: among the exam's rows of the image's side
// (else side "B", else all), take the first row with the lowest assessment
// if every valid assessment is <= 2 and one is 0, otherwise the first with
// the highest. Rows whose letter is not valid are passed over; if none is
// valid the first row is used.
size_t ChooseClinicalRow(const CsvTable& t, const std::vector<size_t>& rows, int side_col,
                         int asses_col, const std::string& laterality) {
  std::vector<size_t> pool;
  for (size_t r : rows) {
    if (t.rows[r][side_col] == laterality) pool.push_back(r);
  }
  if (pool.empty()) {
    for (size_t r : rows) {
      if (t.rows[r][side_col] == "B") pool.push_back(r);
    }
  }
  if (pool.empty()) pool = rows;
  int lo = 99, hi = -1;
  for (size_t r : pool) {
    absl::StatusOr<int> v = ParseAssessmentLetter(t.rows[r][asses_col], "");
    if (!v.ok()) continue;
    lo = std::min(lo, *v);
    hi = std::max(hi, *v);
  }
  if (hi < 0) return pool.front();
  const int want = (hi <= 2 && lo == 0) ? lo : hi;
  for (size_t r : pool) {
    absl::StatusOr<int> v = ParseAssessmentLetter(t.rows[r][asses_col], "");
    if (v.ok() && *v == want) return r;
  }
  return pool.front();
}

void Filter(Dataset& d, const std::string& reason) {
  ++d.filtered;
  if (d.filtered_reasons.size() < 10) d.filtered_reasons.push_back(reason);
}

}  // namespace

absl::StatusOr<Dataset> ReadEmbed(const DatasetConfig& config) {
  const EmbedConfig& ec = config.embed();
  MVL_ASSIGN_OR_RETURN(const Legend legend, ReadLegend(ec.legend_csv()));
  MVL_ASSIGN_OR_RETURN(
      const CsvTable meta,
      ReadTable(ec.metadata_csv(), {"empi_anon", "acc_anon", "anon_dicom_path",
                                    "ImageLateralityFinal", "ViewPosition", "FinalImageType",
                                    "StudyDescription"}));
  const std::string clinical_path =
      ec.has_clinical_csv() ? ec.clinical_csv() : ec.clinical_reduced_csv();
  MVL_ASSIGN_OR_RETURN(
      const CsvTable clin,
      ReadTable(clinical_path, {"acc_anon", "side", "asses", "tissueden", "age_at_study",
                                "RACE_DESC", "ETHNIC_GROUP_DESC"}));
  Dataset d;
  d.name = "embed";
  RowPolicy policy(config, &d);
  MVL_RETURN_IF_ERROR(policy.RejectIssues(clin));

  const int c_acc = clin.FindColumn("acc_anon"), c_side = clin.FindColumn("side");
  const int c_asses = clin.FindColumn("asses"), c_den = clin.FindColumn("tissueden");
  const int c_age = clin.FindColumn("age_at_study"), c_race = clin.FindColumn("RACE_DESC");
  const int c_eth = clin.FindColumn("ETHNIC_GROUP_DESC");
  const int c_shape = clin.FindColumn("massshape"), c_mdens = clin.FindColumn("massdens");
  const int c_cfind = clin.FindColumn("calcfind"), c_cdist = clin.FindColumn("calcdistri");
  std::map<std::string, std::vector<size_t>> by_exam;
  for (size_t i = 0; i < clin.rows.size(); ++i) by_exam[clin.rows[i][c_acc]].push_back(i);

  const int m_patient = meta.FindColumn("empi_anon"), m_acc = meta.FindColumn("acc_anon");
  const int m_path = meta.FindColumn("anon_dicom_path"), m_lat = meta.FindColumn("ImageLateralityFinal");
  const int m_view = meta.FindColumn("ViewPosition"), m_type = meta.FindColumn("FinalImageType");
  const int m_desc = meta.FindColumn("StudyDescription");
  MVL_RETURN_IF_ERROR(ForEachRow(meta, policy, &d, [&](size_t i) -> absl::Status {
    const auto& r = meta.rows[i];
    if (r[m_type] != ec.image_type()) return absl::OkStatus();  // MaMA keeps 2D images only
    auto parse = [&]() -> absl::StatusOr<std::optional<Sample>> {
      Sample s;
      s.patient_id = r[m_patient];
      s.study_id = r[m_acc];
      absl::string_view rel_view = r[m_path];
      if (!absl::ConsumePrefix(&rel_view, ec.dicom_prefix())) {
        return absl::InvalidArgumentError(absl::StrCat(meta.Where(i, m_path), ": path '", r[m_path],
                                                       "' does not start with dicom_prefix '",
                                                       ec.dicom_prefix(), "'"));
      }
      absl::ConsumePrefix(&rel_view, "/");
      std::string rel(rel_view);
      if (absl::ConsumeSuffix(&rel_view, ec.dicom_suffix())) {
        rel = absl::StrCat(rel_view, config.image_suffix());
      }
      const std::string path = JoinPath(config.image_root(), rel);
      MVL_RETURN_IF_ERROR(policy.CheckImage(path, meta.Where(i, m_path)));
      const std::string lat = r[m_lat];
      ClinicalInfo info;
      info.side = lat == "L" ? "left" : lat == "R" ? "right" : lat == "B" ? "bilateral" : "unknown";
      s.laterality = lat == "L" || lat == "R" ? lat : "";
      info.view = r[m_view].empty() ? "unknown" : r[m_view];
      info.image_type = ec.image_type();
      info.study_description = r[m_desc];
      if (info.study_description.empty()) {
        Filter(d, absl::StrCat(meta.Where(i), ": no StudyDescription"));
        return std::optional<Sample>();
      }
      const std::string lower = absl::AsciiStrToLower(info.study_description);
      info.reason = absl::StrContains(lower, "screen") ? "screening"
                    : absl::StrContains(lower, "diag") ? "diagnostic"
                                                       : "";
      if (info.reason.empty()) {
        Filter(d, absl::StrCat(meta.Where(i), ": StudyDescription names no reason"));
        return std::optional<Sample>();
      }
      auto exam = by_exam.find(s.study_id);
      if (exam == by_exam.end()) {
        Filter(d, absl::StrCat(meta.Where(i), ": no clinical row for the exam"));
        return std::optional<Sample>();
      }
      const size_t row = ChooseClinicalRow(clin, exam->second, c_side, c_asses, lat);
      const auto& cr = clin.rows[row];
      if (IsMissing(cr[c_den]) || IsMissing(cr[c_asses])) {
        Filter(d, absl::StrCat(clin.Where(row), ": no tissue density or assessment"));
        return std::optional<Sample>();
      }
      MVL_ASSIGN_OR_RETURN(info.density, ParseIntInRange(cr[c_den], 1, 5, clin.Where(row, c_den)));
      MVL_ASSIGN_OR_RETURN(const int birads, ParseAssessmentLetter(cr[c_asses], clin.Where(row, c_asses)));
      info.birads_letter = cr[c_asses];
      if (!IsMissing(cr[c_age])) {
        MVL_ASSIGN_OR_RETURN(const double age, ParseReal(cr[c_age], clin.Where(row, c_age)));
        info.age = static_cast<int>(age);
      }
      info.race = cr[c_race];
      info.ethnicity = cr[c_eth];
      if (c_shape >= 0 && c_mdens >= 0) {
        const std::string shape = Lookup(legend, "massshape", cr[c_shape]);
        const std::string dens = Lookup(legend, "massdens", cr[c_mdens]);
        if (!shape.empty() && !dens.empty()) {
          info.mass_shape = shape;
          info.mass_density = dens;
        }
      }
      if (c_cfind >= 0 && c_cdist >= 0) {
        const std::string find = Lookup(legend, "calcfind", cr[c_cfind]);
        const std::string dist = Lookup(legend, "calcdistri", cr[c_cdist]);
        if (!find.empty() && !dist.empty()) {
          info.calc_find = find;
          info.calc_distribution = dist;
        }
      }
      s.labels["birads"] = static_cast<float>(birads);
      if (info.density <= 4) s.labels["density"] = static_cast<float>(info.density - 1);
      // The image id is the file stem (without folders and extension).
      std::string stem = rel;
      if (const size_t slash = stem.rfind('/'); slash != std::string::npos) stem = stem.substr(slash + 1);
      if (const size_t dot = stem.rfind('.'); dot != std::string::npos) stem = stem.substr(0, dot);
      s.id = rel;
      s.images.push_back({path, stem, r[m_view], s.laterality});
      s.clinical = info;
      return std::optional<Sample>(std::move(s));
    };
    MVL_ASSIGN_OR_RETURN(std::optional<Sample> s, parse());
    if (s.has_value()) d.samples.push_back(std::move(*s));
    return absl::OkStatus();
  }));
  MVL_RETURN_IF_ERROR(policy.Finish(d.rows_read));
  MVL_ASSIGN_OR_RETURN(Dataset out, FinishDataset(std::move(d), SplitSource::kNone, config, "birads"));
  // Partners: other images of the same exam within the selected split.
  std::map<std::string, std::vector<size_t>> exam_images;
  for (size_t i = 0; i < out.samples.size(); ++i) exam_images[out.samples[i].study_id].push_back(i);
  for (Sample& s : out.samples) {
    for (size_t j : exam_images[s.study_id]) {
      const Sample& other = out.samples[j];
      if (other.id == s.id) continue;
      if (ec.partners_same_breast_only() && other.laterality != s.laterality) continue;
      s.partners.push_back(other.images[0]);
    }
  }
  return out;
}

}  // namespace mammovl::data
