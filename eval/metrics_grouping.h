// Aggregation of image-level scores to breast or patient level before a metric
// is computed, as the references do (Mammo-CLIP's RSNA AUC averages the
// predictions of all images of a (patient_id, laterality) pair). Group ids are
// opaque strings; they never appear in error messages (rows are named by
// index instead), since they usually hold patient identifiers. No LibTorch.
#ifndef MAMMOVL_EVAL_METRICS_GROUPING_H_
#define MAMMOVL_EVAL_METRICS_GROUPING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace mammovl::eval {

enum class ScoreAggregation {
  kMean,  // Mammo-CLIP RSNA (per breast)
  kMax,   // "the most suspicious image decides"
};

enum class LabelAggregation {
  // The group is positive if any of its rows is (breast-level truth).
  kMax,
  // All rows of a group must carry the same label, else InvalidArgument
  // naming the first conflicting row (Mammo-CLIP averages labels, which is
  // only meaningful when they agree).
  kRequireConsistent,
};

struct GroupAggregationOptions {
  ScoreAggregation scores = ScoreAggregation::kMean;
  LabelAggregation labels = LabelAggregation::kMax;
};

// One entry per distinct group id, sorted by id (as pandas' groupby).
struct GroupedScores {
  std::vector<std::string> group_ids;
  std::vector<double> scores;
  std::vector<int> labels;
  std::vector<int> counts;  // rows per group
};

// Aggregates row-level `scores` and binary `labels` (0/1) by `group_ids`.
// InvalidArgument for empty input, mismatched lengths, non-finite scores,
// labels outside {0, 1} or an empty group id.
absl::StatusOr<GroupedScores> AggregateByGroup(
    absl::Span<const std::string> group_ids, absl::Span<const double> scores,
    absl::Span<const int> labels, const GroupAggregationOptions& options = {});

// The group id of one breast: "<patient_id>/<laterality>", e.g. "p17/L".
std::string BreastGroupId(absl::string_view patient_id,
                          absl::string_view laterality);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_METRICS_GROUPING_H_
