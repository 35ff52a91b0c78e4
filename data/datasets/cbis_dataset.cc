// CBIS-DDSM case description tables, or MedSLIP's (image_path, pathology).
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/status_macros.h"
#include "data/datasets/adapter_util.h"
#include "data/datasets/datasets.h"
#include "data/datasets/labels.h"

namespace mammovl::data {

absl::StatusOr<Dataset> ReadCbisDdsm(const DatasetConfig& config) {
  const CbisDdsmConfig& cc = config.cbis_ddsm();
  if (cc.csv_size() == 0) return absl::InvalidArgumentError("dataset.cbis_ddsm.csv is empty");
  Dataset d;
  d.name = "cbis_ddsm";
  RowPolicy policy(config, &d);
  for (const std::string& csv : cc.csv()) {
    MVL_ASSIGN_OR_RETURN(const CsvTable t, ReadTable(csv, {"pathology"}));
    // The case description files carry no split column: the file name does.
    const bool test_file = absl::StrContains(csv, "test");
    const bool medslip = t.FindColumn("image_path") >= 0;
    const int pathology = t.FindColumn("pathology");
    int path_col = -1, patient = -1, side = -1, view = -1, abn_id = -1, abn_type = -1;
    int assessment = -1, subtlety = -1, density = -1;
    if (medslip) {
      path_col = t.FindColumn("image_path");
    } else {
      for (const char* col : {"patient_id", "left or right breast", "image view", "abnormality id",
                              "abnormality type", "assessment", "subtlety", "image file path"}) {
        MVL_RETURN_IF_ERROR(t.Column(col).status());
      }
      path_col = t.FindColumn("image file path");
      patient = t.FindColumn("patient_id");
      side = t.FindColumn("left or right breast");
      view = t.FindColumn("image view");
      abn_id = t.FindColumn("abnormality id");
      abn_type = t.FindColumn("abnormality type");
      assessment = t.FindColumn("assessment");
      subtlety = t.FindColumn("subtlety");
      // The mass files spell it breast_density, the calcification files
      // "breast density".
      density = t.FindColumn("breast_density") >= 0 ? t.FindColumn("breast_density")
                                                    : t.FindColumn("breast density");
    }
    MVL_RETURN_IF_ERROR(ForEachRow(t, policy, &d, [&](size_t i) -> absl::Status {
      const auto& r = t.rows[i];
      auto parse = [&]() -> absl::StatusOr<Sample> {
        Sample s;
        s.split = test_file ? "test" : "training";
        MVL_ASSIGN_OR_RETURN(const int p, ParsePathology(r[pathology], t.Where(i, pathology)));
        s.labels["pathology"] = static_cast<float>(p);
        s.labels["malignant"] = p == 0 ? 1.0f : 0.0f;
        absl::string_view cell = absl::StripAsciiWhitespace(r[path_col]);
        if (cell.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(t.Where(i, path_col), ": empty path"));
        }
        std::string rel(cell);
        if (absl::ConsumeSuffix(&cell, cc.path_suffix())) rel = absl::StrCat(cell, config.image_suffix());
        const std::string path = JoinPath(config.image_root(), rel);
        MVL_RETURN_IF_ERROR(policy.CheckImage(path, t.Where(i, path_col)));
        if (medslip) {
          s.id = rel;
          s.patient_id = rel;
          s.images.push_back({path, rel, "", ""});
          return s;
        }
        s.patient_id = r[patient];
        MVL_ASSIGN_OR_RETURN(s.laterality, ParseLaterality(r[side], t.Where(i, side)));
        const std::string type = r[abn_type];
        if (type != "mass" && type != "calcification") {
          return absl::InvalidArgumentError(absl::StrCat(t.Where(i, abn_type), ": unexpected value '",
                                                         type, "' (expected mass or calcification)"));
        }
        s.labels["calcification"] = type == "calcification" ? 1.0f : 0.0f;
        MVL_ASSIGN_OR_RETURN(const int a, ParseIntInRange(r[assessment], 0, 5, t.Where(i, assessment)));
        s.labels["assessment"] = static_cast<float>(a);
        MVL_ASSIGN_OR_RETURN(const int sub, ParseIntInRange(r[subtlety], 0, 5, t.Where(i, subtlety)));
        s.labels["subtlety"] = static_cast<float>(sub);
        if (density >= 0 && !IsMissing(r[density])) {
          MVL_ASSIGN_OR_RETURN(const int dd, ParseIntInRange(r[density], 1, 4, t.Where(i, density)));
          s.labels["density"] = static_cast<float>(dd - 1);
        }
        MVL_ASSIGN_OR_RETURN(const int abn, ParseIntInRange(r[abn_id], 1, 1000, t.Where(i, abn_id)));
        s.id = absl::StrCat(s.patient_id, "_", s.laterality, "_", r[view], "_", type, "_", abn);
        s.images.push_back({path, rel, r[view], s.laterality});
        return s;
      };
      MVL_ASSIGN_OR_RETURN(Sample s, parse());
      d.samples.push_back(std::move(s));
      return absl::OkStatus();
    }));
  }
  MVL_RETURN_IF_ERROR(policy.Finish(d.rows_read));
  return FinishDataset(std::move(d), SplitSource::kOfficialTest, config, "pathology");
}

}  // namespace mammovl::data
