// The closing stage of the one-command demo (tools/demo/run_demo.sh): reads
// what the earlier stages wrote into the demo folder and writes report.md
// (results table, loss curve, one ROC figure per finding with the zero-shot
// and linear-probe curves, stage times, links to every stage's own report)
// and results.tsv (one row per finding, for scripts and tests). No LibTorch.
//
// Expected layout (relative to the demo folder; see configs/demo/):
//   pretrain/metrics.csv, pretrain/loss_curve.png   pretrain_main (optional:
//                                                   absent with --steps 0)
//   zero_shot/metrics.json, zero_shot/predictions_<finding>.csv
//   probe/<finding>/metrics.json, probe/<finding>/predictions_<finding>.csv
//   logs/stage_times.tsv                             name, wall s, CPU s
#ifndef MAMMOVL_TOOLS_DEMO_DEMO_REPORT_H_
#define MAMMOVL_TOOLS_DEMO_DEMO_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mammovl::tools {

// One evaluation of one finding: its AUC with the bootstrap interval.
struct AucResult {
  double auc = 0;
  double lower = 0;  // NaN when the report has no interval
  double upper = 0;
  int64_t images = 0;     // scored test images
  int64_t positives = 0;  // of which carry the finding
};

struct FindingResult {
  std::string finding;  // "mass", "calcification"
  AucResult zero_shot;
  AucResult linear_probe;
};

struct StageTime {
  std::string stage;
  double wall_s = 0;
  double cpu_s = 0;
};

struct DemoSummary {
  std::vector<FindingResult> findings;
  std::vector<StageTime> stages;  // the last run of each stage, in run order
  int64_t pretrain_steps = 0;     // last logged step (0: no pretraining)
  std::string report_path;        // <demo_dir>/report.md
};

// The findings the demo evaluates, in report order.
const std::vector<std::string>& DemoFindings();

// Reads the stage outputs under `demo_dir`, writes report.md, results.tsv
// and roc_<finding>.png there, and returns the numbers. Errors: NotFound or
// InvalidArgument naming the file (and row or key) that is missing or
// malformed; write errors with the path.
absl::StatusOr<DemoSummary> WriteDemoReport(const std::string& demo_dir);

// The results table as aligned plain text for the terminal.
std::string FormatResultsTable(const DemoSummary& summary);

}  // namespace mammovl::tools

#endif  // MAMMOVL_TOOLS_DEMO_DEMO_REPORT_H_
