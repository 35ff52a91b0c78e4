// Writes the demo's report.md and results.tsv from the stage outputs in a
// demo folder and prints the results table (tools/demo/run_demo.sh runs it
// last):
//
//   demo_report_main --demo_dir=$HOME/mammovl-demo
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <cstdio>

#include "tools/demo/demo_report.h"

DEFINE_string(demo_dir, "", "Demo output folder (run_demo.sh --out).");

int main(int argc, char** argv) {
  gflags::SetUsageMessage("demo_report_main --demo_dir=DIR");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (FLAGS_demo_dir.empty()) {
    std::fprintf(stderr, "demo_report_main: --demo_dir is required\n");
    return 2;
  }
  const auto summary = mammovl::tools::WriteDemoReport(FLAGS_demo_dir);
  if (!summary.ok()) {
    std::fprintf(stderr, "demo_report_main: %s\n", summary.status().ToString().c_str());
    return 1;
  }
  std::printf("\nResults (held-out test patients, AUC per image, 95 %% bootstrap interval):\n\n%s\n",
              mammovl::tools::FormatResultsTable(*summary).c_str());
  std::printf("Report: %s\n", summary->report_path.c_str());
  return 0;
}
