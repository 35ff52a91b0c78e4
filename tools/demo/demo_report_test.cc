#include "tools/demo/demo_report.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::tools {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

class DemoReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/demo_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (const char* sub : {"/zero_shot", "/probe/mass", "/probe/calcification", "/pretrain",
                            "/logs"}) {
      MVL_ASSERT_OK(core::MakeDirectories(dir_ + sub));
    }
    // Zero-shot: both findings in one metrics.json.
    Write("/zero_shot/metrics.json", R"({
  "title": "Zero-shot evaluation", "context": {"model": "demo"},
  "tasks": {
    "mass": {"level": "image", "reduce": "mean", "rows": 4, "units": 4,
             "rows_without_label": 0, "class_names": ["no mass", "mass"],
             "class_counts": [2, 2], "metrics": {"roc_auc": 0.75, "accuracy": 0.5},
             "roc_auc_ci95": {"lower": 0.25, "upper": 1.0, "resamples": 1000},
             "confusion_matrix": [[1, 1], [1, 1]], "notes": []},
    "calcification": {"level": "image", "reduce": "mean", "rows": 4, "units": 4,
             "rows_without_label": 0, "class_names": ["no", "yes"],
             "class_counts": [3, 1], "metrics": {"roc_auc": 1.0},
             "confusion_matrix": [[3, 0], [0, 1]], "notes": []}
  }
})");
    // AUC 0.75: of the four (negative, positive) pairs, 0.4 > 0.35 is the
    // one ranked wrongly.
    Write("/zero_shot/predictions_mass.csv",
          "sample,patient,laterality,label,p_no mass,p_mass,predicted\n"
          "a,p1,L,0,0.9,0.1,0\nb,p1,R,0,0.6,0.4,0\nc,p2,L,1,0.65,0.35,0\nd,p2,R,1,0.2,0.8,1\n");
    Write("/zero_shot/predictions_calcification.csv",
          "sample,patient,laterality,label,p_no,p_yes,predicted\n"
          "a,p1,L,0,0.9,0.1,0\nb,p1,R,0,0.8,0.2,0\nc,p2,L,0,0.7,0.3,0\nd,p2,R,1,0.1,0.9,1\n");
    for (const char* f : {"mass", "calcification"}) {
      Write(absl::StrCat("/probe/", f, "/metrics.json"),
            absl::StrCat(R"({"title": "Linear probe", "context": {}, "tasks": {")", f,
                         R"(": {"units": 4, "class_counts": [2, 2], "metrics": {"roc_auc": 0.875},
                         "roc_auc_ci95": {"lower": 0.5, "upper": 1.0, "resamples": 10}}}})"));
      Write(absl::StrCat("/probe/", f, "/predictions_", f, ".csv"),
            "sample,patient,laterality,label,p_0,p_1,predicted\n"
            "a,p1,L,0,0.9,0.1,0\nb,p1,R,1,0.6,0.4,0\nc,p2,L,0,0.8,0.2,0\nd,p2,R,1,0.2,0.8,1\n");
    }
    Write("/pretrain/metrics.csv",
          "step,loss,lr\n10,6.5,0.001\n20,5.0,0.001\n30,4.25,0.0005\n");
    // The pretraining stage ran twice (interrupted, resumed): the last entry
    // counts.
    Write("/logs/stage_times.tsv",
          "synth_reports\t10\t8.5\npretrain\t100\t150.0\npretrain\t60\t90.5\n");
  }

  void Write(const std::string& rel, const std::string& text) {
    MVL_ASSERT_OK(core::WriteFileAtomically(dir_ + rel, text));
  }

  std::string dir_;
};

TEST_F(DemoReportTest, WritesTableReportAndPlots) {
  MVL_ASSERT_OK_AND_ASSIGN(DemoSummary s, WriteDemoReport(dir_));
  ASSERT_EQ(s.findings.size(), 2u);
  EXPECT_EQ(s.findings[0].finding, "mass");
  EXPECT_DOUBLE_EQ(s.findings[0].zero_shot.auc, 0.75);
  EXPECT_DOUBLE_EQ(s.findings[0].zero_shot.lower, 0.25);
  EXPECT_EQ(s.findings[0].zero_shot.images, 4);
  EXPECT_EQ(s.findings[0].zero_shot.positives, 2);
  EXPECT_DOUBLE_EQ(s.findings[0].linear_probe.auc, 0.875);
  EXPECT_EQ(s.findings[1].finding, "calcification");
  EXPECT_EQ(s.findings[1].zero_shot.positives, 1);
  EXPECT_TRUE(std::isnan(s.findings[1].zero_shot.lower));  // no interval in the file
  EXPECT_EQ(s.pretrain_steps, 30);
  ASSERT_EQ(s.stages.size(), 2u);
  EXPECT_EQ(s.stages[1].stage, "pretrain");
  EXPECT_DOUBLE_EQ(s.stages[1].cpu_s, 90.5);

  EXPECT_EQ(s.report_path, dir_ + "/report.md");
  MVL_ASSERT_OK_AND_ASSIGN(std::string md, core::ReadFileToString(s.report_path));
  EXPECT_THAT(md, HasSubstr("| mass | 0.750 [0.250, 1.000] | 0.875 [0.500, 1.000] | 4 (2) |"));
  EXPECT_THAT(md, HasSubstr("| calcification | 1.000 | 0.875 [0.500, 1.000] | 4 (1) |"));
  EXPECT_THAT(md, HasSubstr("pretrained for 30 steps"));
  EXPECT_THAT(md, HasSubstr("![ROC mass](roc_mass.png)"));
  EXPECT_THAT(md, HasSubstr("| total | 70 | 99.0 |"));
  for (const char* png : {"/loss_curve.png", "/roc_mass.png", "/roc_calcification.png"}) {
    EXPECT_GT(core::FileSize(dir_ + png).value_or(0), 1000) << png;
  }
  MVL_ASSERT_OK_AND_ASSIGN(std::string tsv, core::ReadFileToString(dir_ + "/results.tsv"));
  EXPECT_EQ(tsv,
            "finding\tzero_shot_auc\tlinear_probe_auc\ttest_images\tpositives\n"
            "mass\t0.750000\t0.875000\t4\t2\n"
            "calcification\t1.000000\t0.875000\t4\t1\n");
  const std::string table = FormatResultsTable(s);
  EXPECT_THAT(table, HasSubstr("mass"));
  EXPECT_THAT(table, HasSubstr("0.750 [0.250, 1.000]"));
}

TEST_F(DemoReportTest, WithoutPretrainingSaysSo) {
  MVL_ASSERT_OK(core::WriteFileAtomically(dir_ + "/pretrain/metrics.csv", "step,loss\n"));
  MVL_ASSERT_OK_AND_ASSIGN(DemoSummary s, WriteDemoReport(dir_));
  EXPECT_EQ(s.pretrain_steps, 0);
  MVL_ASSERT_OK_AND_ASSIGN(std::string md, core::ReadFileToString(s.report_path));
  EXPECT_THAT(md, HasSubstr("No pretraining steps were run"));
}

TEST_F(DemoReportTest, MissingStageOutputIsNamed) {
  ASSERT_EQ(std::remove((dir_ + "/probe/calcification/metrics.json").c_str()), 0);
  auto s = WriteDemoReport(dir_);
  EXPECT_THAT(s.status(), StatusIs(absl::StatusCode::kNotFound,
                                   HasSubstr("probe/calcification/metrics.json")));
  EXPECT_FALSE(core::PathExists(dir_ + "/report.md"));
}

TEST_F(DemoReportTest, MalformedInputsAreNamed) {
  Write("/zero_shot/predictions_mass.csv",
        "sample,patient,laterality,label,p_0,p_1,predicted\na,p,L,2,0.5,0.5,0\n");
  EXPECT_THAT(WriteDemoReport(dir_).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("predictions_mass.csv line 2, column 'label'")));
  Write("/zero_shot/metrics.json", R"({"tasks": {"mass": {"metrics": {"roc_auc": null}}}})");
  EXPECT_THAT(WriteDemoReport(dir_).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("roc_auc")));
  Write("/zero_shot/metrics.json", "{\"tasks\": ");
  EXPECT_THAT(WriteDemoReport(dir_).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("zero_shot/metrics.json")));
  Write("/logs/stage_times.tsv", "pretrain\tten\t1\n");
  EXPECT_THAT(WriteDemoReport(dir_).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stage_times.tsv line 1")));
}

}  // namespace
}  // namespace mammovl::tools
