#include "eval/metrics_grouping.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "eval/metrics_internal.h"

namespace mammovl::eval {

absl::StatusOr<GroupedScores> AggregateByGroup(
    absl::Span<const std::string> group_ids, absl::Span<const double> scores,
    absl::Span<const int> labels, const GroupAggregationOptions& options) {
  constexpr absl::string_view kWhat = "aggregate_by_group";
  MVL_RETURN_IF_ERROR(
      internal::CheckNonEmpty(kWhat, "group_ids", group_ids.size()));
  MVL_RETURN_IF_ERROR(internal::CheckSameLength(
      kWhat, "group_ids", group_ids.size(), "scores", scores.size()));
  MVL_RETURN_IF_ERROR(internal::CheckSameLength(
      kWhat, "group_ids", group_ids.size(), "labels", labels.size()));
  MVL_RETURN_IF_ERROR(internal::CheckFinite(kWhat, "scores", scores));
  MVL_RETURN_IF_ERROR(internal::CheckBinaryLabels(kWhat, "labels", labels));

  struct Group {
    double sum = 0.0;
    double max = 0.0;
    int count = 0;
    int label = 0;
    size_t first_row = 0;
  };
  std::map<std::string, Group> groups;
  for (size_t i = 0; i < group_ids.size(); ++i) {
    if (group_ids[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhat, ": group id of row ", i, " is empty"));
    }
    auto [it, inserted] = groups.try_emplace(group_ids[i]);
    Group& g = it->second;
    if (inserted) {
      g.max = scores[i];
      g.label = labels[i];
      g.first_row = i;
    } else {
      if (options.labels == LabelAggregation::kRequireConsistent &&
          labels[i] != g.label) {
        // Rows, not ids, are named: ids usually hold patient identifiers.
        return absl::InvalidArgumentError(absl::StrCat(
            kWhat, ": row ", i, " has label ", labels[i], " but row ",
            g.first_row, " of the same group has label ", g.label));
      }
      g.max = std::max(g.max, scores[i]);
      g.label = std::max(g.label, labels[i]);
    }
    g.sum += scores[i];
    ++g.count;
  }
  GroupedScores out;
  for (const auto& [id, g] : groups) {
    out.group_ids.push_back(id);
    out.scores.push_back(
        options.scores == ScoreAggregation::kMean ? g.sum / g.count : g.max);
    out.labels.push_back(g.label);
    out.counts.push_back(g.count);
  }
  return out;
}

std::string BreastGroupId(absl::string_view patient_id,
                          absl::string_view laterality) {
  return absl::StrCat(patient_id, "/", laterality);
}

}  // namespace mammovl::eval
