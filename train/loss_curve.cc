#include "train/loss_curve.h"

#include <cmath>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/plot.h"

namespace mammovl::train {

absl::Status WriteLossCurve(const MetricsSeries& series,
                            const std::string& run_dir) {
  std::vector<core::Series> lines;
  size_t most_points = 0;
  for (const auto& [name, points] : series) {
    if (!absl::StartsWith(name, "loss")) continue;
    core::Series line;
    line.name = name;
    for (const auto& [step, value] : points) {
      if (!std::isfinite(value)) continue;
      line.x.push_back(static_cast<double>(step));
      line.y.push_back(value);
    }
    if (line.x.empty()) continue;
    most_points = std::max(most_points, line.x.size());
    lines.push_back(std::move(line));
  }
  if (lines.empty()) {
    return absl::InvalidArgumentError(
        "loss curve: no finite value of a \"loss\" series was logged");
  }
  core::PlotOptions options;
  options.title = "Training loss";
  options.x_label = "step";
  options.y_label = "loss";
  options.smoothing = most_points >= 50 ? 0.6 : 0.0;
  return core::WriteLinePlot(absl::StrCat(run_dir, "/loss_curve.png"), lines,
                             options);
}

}  // namespace mammovl::train
