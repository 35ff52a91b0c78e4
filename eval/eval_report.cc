#include "eval/eval_report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/file_io.h"
#include "core/plot.h"
#include "core/status_macros.h"
#include "data/datasets/csv.h"
#include "data/dicom/pseudonym.h"
#include "train/json_text.h"

namespace mammovl::eval {
namespace {

using train::JsonQuote;

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  return absl::StrFormat("%.10g", v);
}

std::string Cell(double v, const char* format = "%.3f") {
  if (!std::isfinite(v)) return "n/a";
  return absl::StrFormat(format, v);
}

std::string TaskJson(const TaskMetrics& m) {
  std::string s = "{";
  absl::StrAppend(&s, "\"level\": ", JsonQuote(m.level),
                  ", \"reduce\": ", JsonQuote(m.reduce),
                  ", \"rows\": ", m.rows, ", \"units\": ", m.units,
                  ", \"rows_without_label\": ", m.rows_without_label);
  std::vector<std::string> names;
  for (const auto& n : m.class_names) names.push_back(JsonQuote(n));
  absl::StrAppend(&s, ", \"class_names\": [", absl::StrJoin(names, ", "),
                  "], \"class_counts\": [", absl::StrJoin(m.class_counts, ", "),
                  "]");
  absl::StrAppend(&s, ", \"metrics\": {");
  for (size_t i = 0; i < m.values.size(); ++i) {
    absl::StrAppend(&s, i ? ", " : "", JsonQuote(m.values[i].first), ": ",
                    Num(m.values[i].second));
  }
  absl::StrAppend(&s, "}");
  if (m.has_auc_interval) {
    absl::StrAppend(&s, ", \"roc_auc_ci95\": {\"lower\": ", Num(m.auc_lower),
                    ", \"upper\": ", Num(m.auc_upper),
                    ", \"resamples\": ", m.auc_resamples, "}");
  }
  std::vector<std::string> rows;
  for (const auto& row : m.confusion.counts) {
    std::vector<std::string> cells;
    for (double v : row) cells.push_back(Num(v));
    rows.push_back("[" + absl::StrJoin(cells, ", ") + "]");
  }
  absl::StrAppend(&s, ", \"confusion_matrix\": [", absl::StrJoin(rows, ", "),
                  "]");
  std::vector<std::string> notes;
  for (const auto& n : m.notes) notes.push_back(JsonQuote(n));
  absl::StrAppend(&s, ", \"notes\": [", absl::StrJoin(notes, ", "), "]}");
  return s;
}

absl::Status WritePredictionsCsv(const std::string& path,
                                 const TaskPredictions& p,
                                 const std::string& salt) {
  std::string csv = "sample,patient,laterality,label";
  for (const auto& name : p.class_names) {
    absl::StrAppend(&csv, ",", data::CsvEscape("p_" + name));
  }
  csv += ",predicted\n";
  for (size_t i = 0; i < p.probabilities.size(); ++i) {
    const auto& probs = p.probabilities[i];
    size_t best = 0;
    for (size_t k = 1; k < probs.size(); ++k) {
      if (probs[k] > probs[best]) best = k;
    }
    absl::StrAppend(&csv, data::Pseudonymize(salt, p.sample_ids[i]), ",",
                    data::Pseudonymize(salt, p.patient_ids[i]), ",",
                    data::CsvEscape(p.lateralities[i]), ",", p.labels[i]);
    for (double v : probs) absl::StrAppend(&csv, ",", absl::StrFormat("%.8g", v));
    absl::StrAppend(&csv, ",", best, "\n");
  }
  return core::WriteFileAtomically(path, csv);
}

absl::Status WritePlots(const std::string& dir, const TaskMetrics& m,
                        std::vector<std::string>& images) {
  const std::string unit = m.level == "image" ? "images" : m.level + "s";
  if (!m.roc.empty()) {
    std::vector<core::Series> curves;
    std::vector<double> aucs;
    for (const Curve& c : m.roc) {
      curves.push_back({c.name, c.x, c.y});
      aucs.push_back(c.area);
    }
    core::PlotOptions options;
    options.title = absl::StrCat("ROC: ", m.task, " (", m.units, " ", unit, ")");
    const std::string file = m.task + "_roc.png";
    MVL_RETURN_IF_ERROR(
        core::WriteRocPlot(dir + "/" + file, curves, aucs, options));
    images.push_back(file);
  }
  if (!m.pr.empty()) {
    std::vector<core::Series> curves;
    std::vector<double> aps;
    for (const Curve& c : m.pr) {
      curves.push_back({c.name, c.x, c.y});
      aps.push_back(c.area);
    }
    core::PlotOptions options;
    options.title =
        absl::StrCat("Precision-recall: ", m.task, " (", m.units, " ", unit, ")");
    if (m.num_classes == 2) options.reference_y = {m.positive_rate};
    const std::string file = m.task + "_pr.png";
    MVL_RETURN_IF_ERROR(
        core::WritePrecisionRecallPlot(dir + "/" + file, curves, aps, options));
    images.push_back(file);
  }
  core::PlotOptions options;
  options.title = absl::StrCat("Confusion matrix: ", m.task);
  options.x_label = "Predicted class";
  options.y_label = "True class";
  const std::string file = m.task + "_confusion.png";
  MVL_RETURN_IF_ERROR(core::WriteConfusionMatrix(
      dir + "/" + file, m.confusion.counts, m.class_names, options));
  images.push_back(file);
  return absl::OkStatus();
}

}  // namespace

std::string MetricsJson(const EvalReport& report) {
  std::string s = "{\n  \"title\": " + JsonQuote(report.title) +
                  ",\n  \"context\": {";
  for (size_t i = 0; i < report.context.size(); ++i) {
    absl::StrAppend(&s, i ? ", " : "", JsonQuote(report.context[i].first),
                    ": ", JsonQuote(report.context[i].second));
  }
  s += "},\n  \"tasks\": {";
  for (size_t i = 0; i < report.metrics.size(); ++i) {
    absl::StrAppend(&s, i ? "," : "", "\n    ",
                    JsonQuote(report.metrics[i].task), ": ",
                    TaskJson(report.metrics[i]));
  }
  s += "\n  }\n}\n";
  return s;
}

std::string SummaryTable(const std::vector<TaskMetrics>& metrics) {
  std::string s =
      "| task | level | n | AUC [95% CI] | AP | accuracy | balanced acc. | "
      "F1 |\n|---|---|---|---|---|---|---|---|\n";
  for (const TaskMetrics& m : metrics) {
    std::string auc = Cell(m.Get("roc_auc"));
    if (m.has_auc_interval) {
      absl::StrAppend(&auc, " [", Cell(m.auc_lower), ", ", Cell(m.auc_upper),
                      "]");
    }
    const double f1 =
        m.num_classes == 2 ? m.Get("f1") : m.Get("macro_f1");
    absl::StrAppend(&s, "| ", m.task, " | ", m.level, " | ", m.units, " | ",
                    auc, " | ", Cell(m.Get("average_precision")), " | ",
                    Cell(m.Get("accuracy")), " | ",
                    Cell(m.Get("balanced_accuracy")), " | ", Cell(f1), " |\n");
  }
  return s;
}

absl::Status WriteEvalReport(absl::string_view out_dir,
                             const EvalReport& report,
                             const ReportConfig& config) {
  if (report.predictions.size() != report.metrics.size()) {
    return absl::InvalidArgumentError(
        "WriteEvalReport: predictions and metrics differ in count");
  }
  const std::string dir(out_dir);
  MVL_RETURN_IF_ERROR(core::MakeDirectories(dir));
  MVL_RETURN_IF_ERROR(
      core::WriteFileAtomically(dir + "/metrics.json", MetricsJson(report)));

  std::string md = "# " + report.title + "\n\n";
  for (const auto& [key, value] : report.context) {
    absl::StrAppend(&md, "- ", key, ": `", value, "`\n");
  }
  absl::StrAppend(&md, "\n", SummaryTable(report.metrics), "\n");
  for (size_t t = 0; t < report.metrics.size(); ++t) {
    const TaskMetrics& m = report.metrics[t];
    absl::StrAppend(&md, "## ", m.task, "\n\n");
    absl::StrAppend(&md, m.rows, " rows scored, ", m.units, " ", m.level,
                    "-level units (", m.reduce, " of the rows), ",
                    m.rows_without_label, " rows without the label. Classes: ");
    for (int k = 0; k < m.num_classes; ++k) {
      absl::StrAppend(&md, k ? ", " : "", m.class_names[k], " ",
                      m.class_counts[k]);
    }
    md += ".\n\n| metric | value |\n|---|---|\n";
    for (const auto& [name, value] : m.values) {
      absl::StrAppend(&md, "| ", name, " | ", Cell(value, "%.4f"), " |\n");
    }
    for (const auto& note : m.notes) absl::StrAppend(&md, "\nNote: ", note, "\n");
    md += "\n";
    if (config.predictions_csv()) {
      const std::string file = "predictions_" + m.task + ".csv";
      MVL_RETURN_IF_ERROR(WritePredictionsCsv(
          dir + "/" + file, report.predictions[t], config.pseudonym_salt()));
      absl::StrAppend(&md, "Predictions: [", file, "](", file, ")\n\n");
    }
    if (config.plots()) {
      std::vector<std::string> images;
      MVL_RETURN_IF_ERROR(WritePlots(dir, m, images));
      for (const auto& image : images) {
        absl::StrAppend(&md, "![", image, "](", image, ")\n");
      }
      md += "\n";
    }
  }
  return core::WriteFileAtomically(dir + "/report.md", md);
}

}  // namespace mammovl::eval
