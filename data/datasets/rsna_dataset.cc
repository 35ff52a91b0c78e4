// RSNA Screening Mammography Breast Cancer Detection: train.csv and the
// Mammo-CLIP train_folds.csv (with a patient-grouped fold column).
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "data/datasets/adapter_util.h"
#include "data/datasets/datasets.h"
#include "data/datasets/labels.h"

namespace mammovl::data {

absl::StatusOr<Dataset> ReadRsna(const DatasetConfig& config) {
  MVL_ASSIGN_OR_RETURN(const CsvTable t,
                       ReadTable(config.rsna().csv(),
                                 {"patient_id", "image_id", "laterality", "view", "cancer"}));
  Dataset d;
  d.name = "rsna";
  RowPolicy policy(config, &d);
  const int patient = t.FindColumn("patient_id"), image = t.FindColumn("image_id");
  const int lat = t.FindColumn("laterality"), view = t.FindColumn("view");
  const int fold = t.FindColumn("fold"), age = t.FindColumn("age");
  const int birads = t.FindColumn("BIRADS"), density = t.FindColumn("density");
  const std::pair<const char*, int> binary[] = {{"cancer", t.FindColumn("cancer")},
                                                {"biopsy", t.FindColumn("biopsy")},
                                                {"invasive", t.FindColumn("invasive")},
                                                {"implant", t.FindColumn("implant")}};
  std::map<std::string, size_t> by_breast;
  MVL_RETURN_IF_ERROR(ForEachRow(t, policy, &d, [&](size_t i) -> absl::Status {
    const auto& r = t.rows[i];
    auto parse = [&]() -> absl::StatusOr<Sample> {
      Sample s;
      s.patient_id = r[patient];
      if (s.patient_id.empty() || r[image].empty()) {
        return absl::InvalidArgumentError(absl::StrCat(t.Where(i), ": empty patient or image id"));
      }
      MVL_ASSIGN_OR_RETURN(s.laterality, ParseLaterality(r[lat], t.Where(i, lat)));
      if (r[view].empty()) {
        return absl::InvalidArgumentError(absl::StrCat(t.Where(i, view), ": empty view"));
      }
      s.id = r[image];
      for (const auto& [name, col] : binary) {
        if (col < 0 || (IsMissing(r[col]) && std::string(name) != "cancer")) continue;
        MVL_ASSIGN_OR_RETURN(const int v, ParseBinary(r[col], t.Where(i, col)));
        s.labels[name] = static_cast<float>(v);
      }
      if (birads >= 0 && !IsMissing(r[birads])) {
        MVL_ASSIGN_OR_RETURN(const int b, ParseIntInRange(r[birads], 0, 2, t.Where(i, birads)));
        s.labels["birads"] = static_cast<float>(b);
      }
      if (density >= 0 && !IsMissing(r[density])) {
        MVL_ASSIGN_OR_RETURN(const int dd, ParseDensityLetter(r[density], t.Where(i, density)));
        s.labels["density"] = static_cast<float>(dd);
      }
      if (age >= 0 && !IsMissing(r[age])) {
        MVL_ASSIGN_OR_RETURN(const double a, ParseReal(r[age], t.Where(i, age)));
        s.labels["age"] = static_cast<float>(a);
      }
      if (fold >= 0) {
        MVL_ASSIGN_OR_RETURN(s.fold, ParseIntInRange(r[fold], 0, 1000, t.Where(i, fold)));
      }
      const std::string path =
          JoinPath(config.image_root(), s.patient_id, r[image] + config.image_suffix());
      MVL_RETURN_IF_ERROR(policy.CheckImage(path, t.Where(i, image)));
      s.images.push_back({path, r[image], r[view], s.laterality});
      return s;
    };
    MVL_ASSIGN_OR_RETURN(Sample s, parse());
    if (!config.rsna().per_breast()) {
      d.samples.push_back(std::move(s));
      return absl::OkStatus();
    }
    const std::string key = absl::StrCat(s.patient_id, "_", s.laterality);
    auto found = by_breast.find(key);
    if (found == by_breast.end()) {
      s.id = key;
      by_breast[key] = d.samples.size();
      d.samples.push_back(std::move(s));
      return absl::OkStatus();
    }
    Sample& breast = d.samples[found->second];
    if (breast.labels != s.labels || breast.fold != s.fold) {
      return absl::InvalidArgumentError(
          absl::StrCat(t.Where(i), ": labels or fold differ from the breast's earlier rows"));
    }
    breast.images.push_back(s.images[0]);
    return absl::OkStatus();
  }));
  MVL_RETURN_IF_ERROR(policy.Finish(d.rows_read));
  return FinishDataset(std::move(d), fold >= 0 ? SplitSource::kFolds : SplitSource::kNone, config,
                       "cancer");
}

}  // namespace mammovl::data
