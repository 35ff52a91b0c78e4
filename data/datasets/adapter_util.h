// Shared machinery of the dataset adapters: the row policy (skip and count,
// or fail), image existence checks, split selection (official split column,
// folds, or seeded patient-level fractions) and `data_pct` stratified
// subsampling. Internal to data/datasets. No LibTorch.
#ifndef MAMMOVL_DATA_DATASETS_ADAPTER_UTIL_H_
#define MAMMOVL_DATA_DATASETS_ADAPTER_UTIL_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/path_confinement.h"
#include "data/datasets/csv.h"
#include "data/datasets/dataset_config.pb.h"
#include "data/datasets/sample.h"

namespace mammovl::data {

// Applies `DatasetConfig.row_policy` to rejected rows.
class RowPolicy {
 public:
  RowPolicy(const DatasetConfig& config, Dataset* dataset);

  // Rejects a row for `error` (its message names file, line and column):
  // returns `error` under FAIL, records it and returns OK under SKIP.
  absl::Status Reject(const absl::Status& error);
  // Rejects the ragged rows the CSV reader set aside.
  absl::Status RejectIssues(const CsvTable& table);
  // InvalidArgument naming `where` when `path` (image_root joined with parts
  // read from the table) leaves image_root (see allow_paths_outside_root);
  // NotFound naming `where` and the path when checking is on and the file
  // is missing; OK otherwise.
  absl::Status CheckImage(const std::string& path, absl::string_view where) const;
  // FailedPrecondition if more than max_skipped_fraction of `rows` were
  // skipped (a wrong image_root or column layout, not a few bad rows).
  absl::Status Finish(int64_t rows) const;

 private:
  const DatasetConfig& config_;
  Dataset* dataset_;
  core::PathConfinement confinement_;
};

// Rejects the table's ragged rows, then calls `fn(row)` for every row; a
// row for which `fn` fails is rejected under `policy` (its message names
// file, line and column). Adds the rows to `dataset->rows_read`.
absl::Status ForEachRow(const CsvTable& table, RowPolicy& policy, Dataset* dataset,
                        const std::function<absl::Status(size_t row)>& fn);

// Reads a CSV and checks that every column in `required` exists
// (InvalidArgument naming the file and the first missing column).
absl::StatusOr<CsvTable> ReadTable(absl::string_view path,
                                   const std::vector<std::string>& required);

// Joins path parts with '/', skipping empty ones.
std::string JoinPath(absl::string_view a, absl::string_view b);
std::string JoinPath(absl::string_view a, absl::string_view b, absl::string_view c);

// Which split part each patient falls in for tables without split or fold
// columns: patients are sorted, shuffled with `seed`, and the first
// `test_fraction` go to TEST, the next `valid_fraction` to VALID.
std::map<std::string, SplitConfig::Part> PatientParts(const std::vector<std::string>& patients,
                                                      double valid_fraction,
                                                      double test_fraction, uint64_t seed);

// Keeps the samples of the configured part. `official` is the part from the
// table's own split/fold columns (TRAIN for rows of the official training
// set); for tables with an official test split, VALID is carved out of the
// training patients by `valid_fraction`.
enum class SplitSource { kOfficialTest, kFolds, kNone };
std::vector<Sample> SelectPart(std::vector<Sample> samples, SplitSource source,
                               const DatasetConfig& config);

// Keeps `pct` of the samples in each stratum of `label` (samples without
// the label form their own stratum), seeded, at least one per stratum.
std::vector<Sample> StratifiedSubsample(std::vector<Sample> samples, const std::string& label,
                                        double pct, uint64_t seed);

// Applies SelectPart, then data_pct to TRAIN, then validates the result.
absl::StatusOr<Dataset> FinishDataset(Dataset dataset, SplitSource source,
                                      const DatasetConfig& config,
                                      const std::string& default_stratify_label);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DATASETS_ADAPTER_UTIL_H_
