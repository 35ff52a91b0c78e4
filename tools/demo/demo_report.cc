#include "tools/demo/demo_report.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/plot.h"
#include "core/status_macros.h"
#include "data/datasets/csv.h"
#include "eval/metrics.h"
#include "train/json_text.h"

namespace mammovl::tools {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

absl::StatusOr<train::JsonValue> ReadJson(const std::string& path) {
  MVL_ASSIGN_OR_RETURN(const std::string text, core::ReadFileToString(path));
  absl::StatusOr<train::JsonValue> json = train::ParseJson(text);
  if (!json.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", json.status().message()));
  }
  return json;
}

double NumberOr(const train::JsonValue* v, double fallback) {
  return v != nullptr && v->kind == train::JsonValue::Kind::kNumber ? v->number : fallback;
}

// The AUC, its interval and the class counts of `task` in an evaluation's
// metrics.json (eval/eval_report.h).
absl::StatusOr<AucResult> ReadAuc(const std::string& path, const std::string& task) {
  MVL_ASSIGN_OR_RETURN(const train::JsonValue json, ReadJson(path));
  const train::JsonValue* tasks = json.Find("tasks");
  const train::JsonValue* t = tasks != nullptr ? tasks->Find(task) : nullptr;
  if (t == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no task '", task, "'"));
  }
  const train::JsonValue* metrics = t->Find("metrics");
  const train::JsonValue* auc = metrics != nullptr ? metrics->Find("roc_auc") : nullptr;
  if (auc == nullptr || auc->kind != train::JsonValue::Kind::kNumber) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": task '", task, "' has no numeric metrics.roc_auc"));
  }
  AucResult r;
  r.auc = auc->number;
  const train::JsonValue* ci = t->Find("roc_auc_ci95");
  r.lower = ci != nullptr ? NumberOr(ci->Find("lower"), kNaN) : kNaN;
  r.upper = ci != nullptr ? NumberOr(ci->Find("upper"), kNaN) : kNaN;
  r.images = static_cast<int64_t>(NumberOr(t->Find("units"), 0));
  const train::JsonValue* counts = t->Find("class_counts");
  if (counts != nullptr && counts->array.size() == 2) {
    r.positives = static_cast<int64_t>(NumberOr(&counts->array[1], 0));
  }
  return r;
}

// Labels and positive-class probabilities of a predictions_<task>.csv
// (columns sample, patient, laterality, label, p_<class 0>, p_<class 1>, ...).
struct Scores {
  std::vector<int> labels;
  std::vector<double> scores;
};

absl::StatusOr<Scores> ReadScores(const std::string& path) {
  MVL_ASSIGN_OR_RETURN(const data::CsvTable t, data::ReadCsv(path));
  MVL_ASSIGN_OR_RETURN(const int label, t.Column("label"));
  if (t.header.size() < 6 || label + 2 >= static_cast<int>(t.header.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": expected label and two class probability columns"));
  }
  const int positive = label + 2;  // p_<class 1>
  Scores s;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    int y = 0;
    double p = 0;
    if (!absl::SimpleAtoi(t.rows[i][label], &y) || (y != 0 && y != 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat(t.Where(i, label), ": expected 0 or 1, got '", t.rows[i][label], "'"));
    }
    if (!absl::SimpleAtod(t.rows[i][positive], &p) || !std::isfinite(p)) {
      return absl::InvalidArgumentError(absl::StrCat(t.Where(i, positive), ": not a number '",
                                                     t.rows[i][positive], "'"));
    }
    s.labels.push_back(y);
    s.scores.push_back(p);
  }
  if (s.labels.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no rows"));
  return s;
}

absl::StatusOr<core::Series> RocSeries(const std::string& path, const std::string& name,
                                       double* auc) {
  MVL_ASSIGN_OR_RETURN(const Scores s, ReadScores(path));
  absl::StatusOr<eval::RocCurve> roc = eval::ComputeRocCurve(s.labels, s.scores);
  absl::StatusOr<double> area = eval::RocAuc(s.labels, s.scores);
  if (!roc.ok() || !area.ok()) {
    const absl::Status& bad = !roc.ok() ? roc.status() : area.status();
    return absl::Status(bad.code(), absl::StrCat(path, ": ", bad.message()));
  }
  *auc = *area;
  core::Series series;
  series.name = name;
  series.x = roc->fpr;
  series.y = roc->tpr;
  return series;
}

// Training loss per logged step from pretrain_main's metrics.csv.
absl::StatusOr<core::Series> LossSeries(const std::string& path) {
  MVL_ASSIGN_OR_RETURN(const data::CsvTable t, data::ReadCsv(path));
  MVL_ASSIGN_OR_RETURN(const int step, t.Column("step"));
  MVL_ASSIGN_OR_RETURN(const int loss, t.Column("loss"));
  core::Series s;
  s.name = "training loss";
  for (size_t i = 0; i < t.rows.size(); ++i) {
    double x = 0, y = 0;
    if (!absl::SimpleAtod(t.rows[i][step], &x) || !absl::SimpleAtod(t.rows[i][loss], &y) ||
        !std::isfinite(y)) {
      return absl::InvalidArgumentError(absl::StrCat(t.Where(i), ": bad step or loss"));
    }
    s.x.push_back(x);
    s.y.push_back(y);
  }
  return s;
}

absl::StatusOr<std::vector<StageTime>> ReadStageTimes(const std::string& path) {
  std::vector<StageTime> out;
  if (!core::PathExists(path)) return out;
  MVL_ASSIGN_OR_RETURN(const std::string text, core::ReadFileToString(path));
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    ++line_no;
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    StageTime st;
    if (f.size() != 3 || !absl::SimpleAtod(f[1], &st.wall_s) ||
        !absl::SimpleAtod(f[2], &st.cpu_s)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", line_no, ": expected stage<TAB>wall<TAB>cpu"));
    }
    st.stage = f[0];
    // A stage run again (resume, rerun) replaces its earlier entry.
    bool replaced = false;
    for (StageTime& old : out) {
      if (old.stage == st.stage) {
        old = st;
        replaced = true;
      }
    }
    if (!replaced) out.push_back(st);
  }
  return out;
}

std::string Auc3(double v) { return std::isfinite(v) ? absl::StrFormat("%.3f", v) : "n/a"; }

std::string AucCell(const AucResult& r) {
  std::string s = Auc3(r.auc);
  if (std::isfinite(r.lower) && std::isfinite(r.upper)) {
    absl::StrAppend(&s, " [", Auc3(r.lower), ", ", Auc3(r.upper), "]");
  }
  return s;
}

}  // namespace

const std::vector<std::string>& DemoFindings() {
  static const auto* findings = new std::vector<std::string>{"mass", "calcification"};
  return *findings;
}

absl::StatusOr<DemoSummary> WriteDemoReport(const std::string& demo_dir) {
  DemoSummary summary;
  const std::string dir = demo_dir;
  MVL_ASSIGN_OR_RETURN(summary.stages, ReadStageTimes(dir + "/logs/stage_times.tsv"));

  // Loss curve (only if pretraining logged anything).
  std::string loss_md;
  const std::string metrics_csv = dir + "/pretrain/metrics.csv";
  if (core::PathExists(metrics_csv)) {
    MVL_ASSIGN_OR_RETURN(const core::Series loss, LossSeries(metrics_csv));
    if (!loss.x.empty()) {
      summary.pretrain_steps = static_cast<int64_t>(loss.x.back());
      core::PlotOptions opt;
      opt.title = "Pretraining loss (Mammo-CLIP multi-view)";
      opt.x_label = "step";
      opt.y_label = "loss";
      opt.smoothing = 0.6;
      MVL_RETURN_IF_ERROR(core::WriteLinePlot(dir + "/loss_curve.png", {loss}, opt));
      loss_md = absl::StrCat("![pretraining loss](loss_curve.png)\n\nLoss ", Auc3(loss.y.front()),
                             " at step ", loss.x.front(), ", ", Auc3(loss.y.back()), " at step ",
                             loss.x.back(), " (pretrain/metrics.csv).\n");
    }
  }
  if (loss_md.empty()) {
    loss_md = "No pretraining steps were run: the towers are evaluated as initialised.\n";
  }

  std::string roc_md;
  std::string tsv = "finding\tzero_shot_auc\tlinear_probe_auc\ttest_images\tpositives\n";
  for (const std::string& f : DemoFindings()) {
    FindingResult r;
    r.finding = f;
    const std::string zs_dir = dir + "/zero_shot";
    const std::string lp_dir = absl::StrCat(dir, "/probe/", f);
    MVL_ASSIGN_OR_RETURN(r.zero_shot, ReadAuc(zs_dir + "/metrics.json", f));
    MVL_ASSIGN_OR_RETURN(r.linear_probe, ReadAuc(lp_dir + "/metrics.json", f));
    double zs_auc = 0, lp_auc = 0;
    MVL_ASSIGN_OR_RETURN(core::Series zs,
                         RocSeries(absl::StrCat(zs_dir, "/predictions_", f, ".csv"),
                                   "zero-shot", &zs_auc));
    MVL_ASSIGN_OR_RETURN(core::Series lp,
                         RocSeries(absl::StrCat(lp_dir, "/predictions_", f, ".csv"),
                                   "linear probe", &lp_auc));
    core::PlotOptions opt;
    opt.title = absl::StrCat("ROC, ", f, " (held-out test patients)");
    const std::string png = absl::StrCat("roc_", f, ".png");
    MVL_RETURN_IF_ERROR(core::WriteRocPlot(absl::StrCat(dir, "/", png), {zs, lp},
                                           {zs_auc, lp_auc}, opt));
    absl::StrAppend(&roc_md, "![ROC ", f, "](", png, ")\n\n");
    absl::StrAppend(&tsv, f, "\t", absl::StrFormat("%.6f", r.zero_shot.auc), "\t",
                    absl::StrFormat("%.6f", r.linear_probe.auc), "\t", r.zero_shot.images, "\t",
                    r.zero_shot.positives, "\n");
    summary.findings.push_back(std::move(r));
  }

  std::string md = "# MammoVL demo report\n\n";
  absl::StrAppend(
      &md,
      "A small Mammo-CLIP model (EfficientNet + BERT) pretrained for ", summary.pretrain_steps,
      " steps on a synthetic report archive, evaluated on the held-out test patients of a "
      "separate labelled archive (VinDr-Mammo layout). AUC per image with the 95 % bootstrap "
      "interval.\n\n",
      "| finding | zero-shot AUC | linear-probe AUC | test images (positive) |\n",
      "|---|---|---|---|\n");
  for (const FindingResult& r : summary.findings) {
    absl::StrAppend(&md, "| ", r.finding, " | ", AucCell(r.zero_shot), " | ",
                    AucCell(r.linear_probe), " | ", r.zero_shot.images, " (",
                    r.zero_shot.positives, ") |\n");
  }
  absl::StrAppend(&md, "\n## Pretraining\n\n", loss_md, "\n## ROC curves\n\n", roc_md);
  if (!summary.stages.empty()) {
    absl::StrAppend(&md, "## Stages\n\n| stage | wall s | CPU s |\n|---|---|---|\n");
    double wall = 0, cpu = 0;
    for (const StageTime& s : summary.stages) {
      absl::StrAppend(&md, "| ", s.stage, " | ", absl::StrFormat("%.0f", s.wall_s), " | ",
                      absl::StrFormat("%.1f", s.cpu_s), " |\n");
      wall += s.wall_s;
      cpu += s.cpu_s;
    }
    absl::StrAppend(&md, "| total | ", absl::StrFormat("%.0f", wall), " | ",
                    absl::StrFormat("%.1f", cpu), " |\n\n");
  }
  absl::StrAppend(
      &md, "## Outputs\n\n",
      "- `corpus/reports`, `corpus/labelled`: the synthetic archives (DICOM, tables)\n",
      "- `png/reports`, `png/labelled`: PNGs with `manifest.csv` and `failures.csv`\n",
      "- `pretrain/`: checkpoints, metrics.csv/jsonl, TensorBoard events, config.pbtxt\n",
      "- [zero_shot/report.md](zero_shot/report.md): zero-shot metrics, predictions, plots\n",
      "- [probe/mass/report.md](probe/mass/report.md), "
      "[probe/calcification/report.md](probe/calcification/report.md): linear probes\n",
      "- `logs/`: the output of every stage\n");

  summary.report_path = dir + "/report.md";
  MVL_RETURN_IF_ERROR(core::WriteFileAtomically(dir + "/results.tsv", tsv));
  MVL_RETURN_IF_ERROR(core::WriteFileAtomically(summary.report_path, md));
  return summary;
}

std::string FormatResultsTable(const DemoSummary& summary) {
  std::string s = absl::StrFormat("%-15s %-24s %-24s %s\n", "finding", "zero-shot AUC",
                                  "linear-probe AUC", "test images (positive)");
  for (const FindingResult& r : summary.findings) {
    absl::StrAppend(&s, absl::StrFormat("%-15s %-24s %-24s %d (%d)\n", r.finding,
                                        AucCell(r.zero_shot), AucCell(r.linear_probe),
                                        r.zero_shot.images, r.zero_shot.positives));
  }
  return s;
}

}  // namespace mammovl::tools
