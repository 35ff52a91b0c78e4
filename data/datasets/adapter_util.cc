#include "data/datasets/adapter_util.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "data/transforms/rng.h"

namespace mammovl::data {

RowPolicy::RowPolicy(const DatasetConfig& config, Dataset* dataset)
    : config_(config),
      dataset_(dataset),
      confinement_(config.image_root(), config.allow_paths_outside_root()) {}

absl::Status RowPolicy::Reject(const absl::Status& error) {
  if (config_.row_policy() == DatasetConfig::FAIL) return error;
  dataset_->skipped.push_back({"", std::string(error.message())});
  return absl::OkStatus();
}

absl::Status RowPolicy::RejectIssues(const CsvTable& table) {
  for (const CsvIssue& issue : table.issues) {
    MVL_RETURN_IF_ERROR(Reject(absl::InvalidArgumentError(
        absl::StrCat(table.source, " line ", issue.line, ": ", issue.message))));
  }
  return absl::OkStatus();
}

absl::Status RowPolicy::CheckImage(const std::string& path, absl::string_view where) const {
  // Symlinks are resolved only when files are looked at anyway.
  MVL_RETURN_IF_ERROR(confinement_.Check(path, where, config_.check_images()));
  if (!config_.check_images() || core::PathExists(path)) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat(where, ": image file '", path, "' not found"));
}

absl::Status RowPolicy::Finish(int64_t rows) const {
  const size_t skipped = dataset_->skipped.size();
  if (skipped > 0) {
    LOG(WARNING) << dataset_->name << ": skipped " << skipped << " of " << rows
                 << " rows; first: " << dataset_->skipped.front().message;
  }
  if (rows > 0 && static_cast<double>(skipped) / rows > config_.max_skipped_fraction()) {
    return absl::FailedPreconditionError(absl::StrCat(
        dataset_->name, ": ", skipped, " of ", rows, " rows skipped (more than max_skipped_fraction ",
        config_.max_skipped_fraction(), "); first: ", dataset_->skipped.front().message));
  }
  return absl::OkStatus();
}

absl::Status ForEachRow(const CsvTable& table, RowPolicy& policy, Dataset* dataset,
                        const std::function<absl::Status(size_t row)>& fn) {
  MVL_RETURN_IF_ERROR(policy.RejectIssues(table));
  for (size_t i = 0; i < table.rows.size(); ++i) {
    if (absl::Status s = fn(i); !s.ok()) MVL_RETURN_IF_ERROR(policy.Reject(s));
  }
  dataset->rows_read += static_cast<int64_t>(table.rows.size() + table.issues.size());
  return absl::OkStatus();
}

absl::StatusOr<CsvTable> ReadTable(absl::string_view path,
                                   const std::vector<std::string>& required) {
  if (path.empty()) return absl::InvalidArgumentError("dataset: table path is not set");
  MVL_ASSIGN_OR_RETURN(CsvTable table, ReadCsv(path));
  for (const std::string& column : required) {
    MVL_RETURN_IF_ERROR(table.Column(column).status());
  }
  return table;
}

std::string JoinPath(absl::string_view a, absl::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  if (a.back() == '/') return absl::StrCat(a, b);
  return absl::StrCat(a, "/", b);
}

std::string JoinPath(absl::string_view a, absl::string_view b, absl::string_view c) {
  return JoinPath(JoinPath(a, b), c);
}

std::map<std::string, SplitConfig::Part> PatientParts(const std::vector<std::string>& patients,
                                                      double valid_fraction,
                                                      double test_fraction, uint64_t seed) {
  std::vector<std::string> unique(patients.begin(), patients.end());
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  Rng rng(DeriveSeed(seed, {0x5B17}));
  rng.Shuffle(unique);
  const size_t n = unique.size();
  const size_t num_test = static_cast<size_t>(std::lround(test_fraction * n));
  const size_t num_valid = static_cast<size_t>(std::lround(valid_fraction * n));
  std::map<std::string, SplitConfig::Part> parts;
  for (size_t i = 0; i < n; ++i) {
    parts[unique[i]] = i < num_test               ? SplitConfig::TEST
                       : i < num_test + num_valid ? SplitConfig::VALID
                                                  : SplitConfig::TRAIN;
  }
  return parts;
}

std::vector<Sample> SelectPart(std::vector<Sample> samples, SplitSource source,
                               const DatasetConfig& config) {
  const SplitConfig& split = config.split();
  const SplitConfig::Part want =
      split.part() == SplitConfig::PART_UNSPECIFIED ? SplitConfig::TRAIN : split.part();
  if (want == SplitConfig::ALL) return samples;
  std::vector<SplitConfig::Part> part(samples.size(), SplitConfig::TRAIN);
  switch (source) {
    case SplitSource::kOfficialTest: {
      std::vector<std::string> train_patients;
      for (const Sample& s : samples) {
        if (s.split != "test") train_patients.push_back(s.patient_id);
      }
      const auto parts = PatientParts(train_patients, split.valid_fraction(), 0, config.seed());
      for (size_t i = 0; i < samples.size(); ++i) {
        part[i] = samples[i].split == "test" ? SplitConfig::TEST : parts.at(samples[i].patient_id);
      }
      break;
    }
    case SplitSource::kFolds:
      for (size_t i = 0; i < samples.size(); ++i) {
        const int fold = samples[i].fold;
        part[i] = fold == split.valid_fold()  ? SplitConfig::VALID
                  : fold == split.test_fold() ? SplitConfig::TEST
                                              : SplitConfig::TRAIN;
      }
      break;
    case SplitSource::kNone: {
      std::vector<std::string> patients;
      for (const Sample& s : samples) patients.push_back(s.patient_id);
      const auto parts =
          PatientParts(patients, split.valid_fraction(), split.test_fraction(), config.seed());
      for (size_t i = 0; i < samples.size(); ++i) part[i] = parts.at(samples[i].patient_id);
      break;
    }
  }
  std::vector<Sample> out;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (part[i] == want) out.push_back(std::move(samples[i]));
  }
  return out;
}

std::vector<Sample> StratifiedSubsample(std::vector<Sample> samples, const std::string& label,
                                        double pct, uint64_t seed) {
  if (pct >= 1) return samples;
  std::map<float, std::vector<size_t>> strata;  // NaN-free: missing -> -1e30
  for (size_t i = 0; i < samples.size(); ++i) {
    strata[samples[i].HasLabel(label) ? samples[i].Label(label) : -1e30f].push_back(i);
  }
  Rng rng(DeriveSeed(seed, {0xDA7A}));
  std::vector<bool> keep(samples.size(), false);
  for (auto& [value, indices] : strata) {
    rng.Shuffle(indices);
    const size_t n = std::max<size_t>(1, static_cast<size_t>(std::lround(pct * indices.size())));
    for (size_t k = 0; k < n && k < indices.size(); ++k) keep[indices[k]] = true;
  }
  std::vector<Sample> out;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (keep[i]) out.push_back(std::move(samples[i]));
  }
  return out;
}

absl::StatusOr<Dataset> FinishDataset(Dataset dataset, SplitSource source,
                                      const DatasetConfig& config,
                                      const std::string& default_stratify_label) {
  if (source == SplitSource::kFolds && config.split().part() == SplitConfig::TEST &&
      config.split().test_fold() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        dataset.name, ": the table splits by fold and split.test_fold is not set"));
  }
  dataset.samples = SelectPart(std::move(dataset.samples), source, config);
  const bool train = config.split().part() == SplitConfig::TRAIN ||
                     config.split().part() == SplitConfig::PART_UNSPECIFIED;
  if (train && config.data_pct() < 1) {
    const std::string label =
        config.has_stratify_label() ? config.stratify_label() : default_stratify_label;
    dataset.samples =
        StratifiedSubsample(std::move(dataset.samples), label, config.data_pct(), config.seed());
  }
  return dataset;
}

}  // namespace mammovl::data
