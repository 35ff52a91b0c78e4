#include "eval/eval_report.h"

#include <cstdlib>
#include <string>

#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "data/dicom/pseudonym.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/imgcodecs.hpp"
#include "train/json_text.h"

namespace mammovl::eval {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp ? tmp : "/tmp") + "/" + name;
}

EvalReport MakeReport(const ReportConfig& config) {
  EvalReport report;
  report.title = "Zero-shot evaluation";
  report.context = {{"checkpoint", "/runs/demo/final"}};
  TaskPredictions mass;
  mass.task = "mass";
  mass.class_names = {"no mass", "mass"};
  for (int i = 0; i < 40; ++i) {
    const double s = 0.05 + 0.9 * ((i * 7) % 40) / 40.0;
    mass.Add({1 - s, s}, (i * 7) % 40 > 15 ? 1 : 0, "image-" + std::to_string(i),
             "patient-12345" + std::to_string(i / 4), i % 2 ? "L" : "R");
  }
  mass.rows_without_label = 3;
  TaskPredictions density;
  density.task = "density";
  density.class_names = {"A", "B", "C", "D"};
  for (int i = 0; i < 24; ++i) {
    std::vector<double> p(4, 0.1);
    p[(i + (i % 5 == 0)) % 4] = 0.7;
    density.Add(p, i % 4, "d" + std::to_string(i), "q" + std::to_string(i), "L");
  }
  GroupingConfig image;
  image.set_level(GroupingConfig::IMAGE);
  image.set_reduce(GroupingConfig::MEAN);
  for (TaskPredictions* p : {&mass, &density}) {
    auto m = EvaluateTask(*p, image, config);
    EXPECT_TRUE(m.ok()) << m.status();
    report.predictions.push_back(*p);
    report.metrics.push_back(*m);
  }
  return report;
}

TEST(EvalReportTest, WritesJsonCsvPlotsAndMarkdown) {
  ReportConfig config;
  config.set_bootstrap_resamples(50);
  config.set_pseudonym_salt("pepper");
  const EvalReport report = MakeReport(config);
  const std::string dir = TempDir("report");
  MVL_ASSERT_OK(WriteEvalReport(dir, report, config));

  MVL_ASSERT_OK_AND_ASSIGN(std::string json, core::ReadFileToString(dir + "/metrics.json"));
  MVL_ASSERT_OK_AND_ASSIGN(train::JsonValue doc, train::ParseJson(json));
  const train::JsonValue* tasks = doc.Find("tasks");
  ASSERT_NE(tasks, nullptr);
  const train::JsonValue* mass = tasks->Find("mass");
  ASSERT_NE(mass, nullptr);
  EXPECT_DOUBLE_EQ(mass->Find("metrics")->Find("roc_auc")->number,
                   report.metrics[0].Get("roc_auc"));
  EXPECT_EQ(mass->Find("rows_without_label")->number, 3);
  EXPECT_EQ(mass->Find("confusion_matrix")->array.size(), 2u);
  ASSERT_NE(mass->Find("roc_auc_ci95"), nullptr);
  EXPECT_LE(mass->Find("roc_auc_ci95")->Find("lower")->number,
            mass->Find("metrics")->Find("roc_auc")->number);
  EXPECT_EQ(tasks->Find("density")->Find("confusion_matrix")->array.size(), 4u);

  MVL_ASSERT_OK_AND_ASSIGN(std::string csv,
                           core::ReadFileToString(dir + "/predictions_mass.csv"));
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 41u);
  EXPECT_EQ(lines[0], "sample,patient,laterality,label,p_no mass,p_mass,predicted");
  EXPECT_THAT(csv, Not(HasSubstr("patient-12345")));
  EXPECT_THAT(csv, Not(HasSubstr("image-")));
  EXPECT_THAT(lines[1], HasSubstr(data::Pseudonymize("pepper", "image-0")));
  EXPECT_THAT(lines[1], HasSubstr(data::Pseudonymize("pepper", "patient-123450")));

  for (const char* png : {"mass_roc.png", "mass_pr.png", "mass_confusion.png",
                          "density_roc.png", "density_confusion.png"}) {
    cv::Mat image = cv::imread(dir + "/" + png, cv::IMREAD_COLOR);
    ASSERT_FALSE(image.empty()) << png;
    EXPECT_EQ(image.cols, 960) << png;
    double min_value = 0, max_value = 0;
    cv::minMaxLoc(image.reshape(1), &min_value, &max_value);
    EXPECT_LT(min_value, 64) << png << " has no dark strokes";
  }
  MVL_ASSERT_OK_AND_ASSIGN(std::string md, core::ReadFileToString(dir + "/report.md"));
  EXPECT_THAT(md, HasSubstr("# Zero-shot evaluation"));
  EXPECT_THAT(md, HasSubstr("| mass | image | 40 |"));
  EXPECT_THAT(md, HasSubstr("![mass_roc.png](mass_roc.png)"));
  EXPECT_THAT(md, HasSubstr("| quadratic_kappa |"));
}

TEST(EvalReportTest, OptionalOutputsCanBeTurnedOff) {
  ReportConfig config;
  config.set_bootstrap_resamples(0);
  config.set_plots(false);
  config.set_predictions_csv(false);
  const std::string dir = TempDir("bare");
  MVL_ASSERT_OK(WriteEvalReport(dir, MakeReport(config), config));
  EXPECT_TRUE(core::PathExists(dir + "/metrics.json"));
  EXPECT_FALSE(core::PathExists(dir + "/mass_roc.png"));
  EXPECT_FALSE(core::PathExists(dir + "/predictions_mass.csv"));
}

TEST(EvalReportTest, UndefinedMetricsBecomeNull) {
  EvalReport report;
  report.title = "t";
  TaskPredictions p;
  p.task = "calc";
  p.class_names = {"no", "yes"};
  p.Add({0.6, 0.4}, 0, "a", "b", "L");
  p.Add({0.3, 0.7}, 0, "c", "d", "L");
  GroupingConfig g;
  g.set_level(GroupingConfig::IMAGE);
  g.set_reduce(GroupingConfig::MEAN);
  MVL_ASSERT_OK_AND_ASSIGN(TaskMetrics m, EvaluateTask(p, g, ReportConfig()));
  report.predictions.push_back(p);
  report.metrics.push_back(m);
  MVL_ASSERT_OK_AND_ASSIGN(train::JsonValue doc, train::ParseJson(MetricsJson(report)));
  const train::JsonValue* calc = doc.Find("tasks")->Find("calc");
  EXPECT_EQ(calc->Find("metrics")->Find("roc_auc")->kind, train::JsonValue::Kind::kNull);
  EXPECT_FALSE(calc->Find("notes")->array.empty());
  report.metrics.clear();
  EXPECT_THAT(WriteEvalReport(TempDir("x"), report, ReportConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mammovl::eval
