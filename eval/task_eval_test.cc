#include "eval/task_eval.h"

#include <cmath>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::eval {
namespace {

using ::testing::ElementsAre;
using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

TaskPredictions Binary(const std::vector<double>& p1, const std::vector<int>& y) {
  TaskPredictions p;
  p.task = "mass";
  p.class_names = {"no mass", "mass"};
  for (size_t i = 0; i < p1.size(); ++i) {
    p.Add({1 - p1[i], p1[i]}, y[i], "s" + std::to_string(i),
          "p" + std::to_string(i / 2), i % 2 ? "R" : "L");
  }
  return p;
}

GroupingConfig Level(GroupingConfig::Level level,
                     GroupingConfig::Reduce reduce = GroupingConfig::MEAN) {
  GroupingConfig g;
  g.set_level(level);
  g.set_reduce(reduce);
  return g;
}

ReportConfig NoBootstrap() {
  ReportConfig r;
  r.set_bootstrap_resamples(0);
  return r;
}

TEST(TaskEvalTest, BinaryMetricsByHand) {
  // AUC: of the 4 (neg, pos) pairs, (0.4, 0.35) is the only wrong one: 0.75.
  TaskPredictions p = Binary({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1});
  ReportConfig report = NoBootstrap();
  report.add_sensitivity_at_specificity(1.0);
  MVL_ASSERT_OK_AND_ASSIGN(TaskMetrics m,
                           EvaluateTask(p, Level(GroupingConfig::IMAGE), report));
  EXPECT_EQ(m.rows, 4);
  EXPECT_EQ(m.units, 4);
  EXPECT_DOUBLE_EQ(m.Get("roc_auc"), 0.75);
  // AP: thresholds 0.8 (P 1, R .5), 0.4 (P 1/2, R .5), 0.35 (P 2/3, R 1).
  EXPECT_NEAR(m.Get("average_precision"), 0.5 * 1 + 0.5 * 2.0 / 3, 1e-12);
  // argmax predicts only 0.8 as positive.
  EXPECT_DOUBLE_EQ(m.Get("accuracy"), 0.75);
  EXPECT_DOUBLE_EQ(m.Get("sensitivity"), 0.5);
  EXPECT_DOUBLE_EQ(m.Get("specificity"), 1.0);
  EXPECT_DOUBLE_EQ(m.Get("sensitivity_at_specificity_1.00"), 0.5);
  EXPECT_THAT(m.confusion.counts[0], ElementsAre(2, 0));
  EXPECT_THAT(m.confusion.counts[1], ElementsAre(1, 1));
  ASSERT_EQ(m.roc.size(), 1u);
  EXPECT_DOUBLE_EQ(m.roc[0].area, 0.75);
  EXPECT_DOUBLE_EQ(m.positive_rate, 0.5);
  EXPECT_FALSE(m.has_auc_interval);
  EXPECT_TRUE(m.notes.empty());
}

TEST(TaskEvalTest, BootstrapIntervalContainsEstimate) {
  std::vector<double> s;
  std::vector<int> y;
  for (int i = 0; i < 60; ++i) {
    y.push_back(i % 2);
    s.push_back(0.3 + 0.4 * (i % 2) + 0.01 * ((i * 37) % 23) - 0.1);
  }
  ReportConfig report;
  report.set_bootstrap_resamples(200);
  MVL_ASSERT_OK_AND_ASSIGN(
      TaskMetrics m, EvaluateTask(Binary(s, y), Level(GroupingConfig::IMAGE), report));
  ASSERT_TRUE(m.has_auc_interval);
  EXPECT_LE(m.auc_lower, m.Get("roc_auc"));
  EXPECT_GE(m.auc_upper, m.Get("roc_auc"));
  EXPECT_EQ(m.auc_resamples, 200);
}

TEST(TaskEvalTest, BreastGroupingAveragesScores) {
  TaskPredictions p;
  p.task = "cancer";
  p.class_names = {"negative", "positive"};
  // Breast a/L: scores 0.2, 0.6 (mean 0.4), one positive image -> positive.
  // Breast a/R: 0.3. Breast b/L: 0.5, 0.1 (mean 0.3), negative.
  p.Add({0.8, 0.2}, 0, "1", "a", "L");
  p.Add({0.4, 0.6}, 1, "2", "a", "L");
  p.Add({0.7, 0.3}, 0, "3", "a", "R");
  p.Add({0.5, 0.5}, 0, "4", "b", "L");
  p.Add({0.9, 0.1}, 0, "5", "b", "L");
  MVL_ASSERT_OK_AND_ASSIGN(GroupedPredictions g,
                           GroupPredictions(p, Level(GroupingConfig::BREAST)));
  ASSERT_EQ(g.labels.size(), 3u);
  EXPECT_THAT(g.labels, ElementsAre(1, 0, 0));
  EXPECT_NEAR(g.probabilities[0][1], 0.4, 1e-12);
  EXPECT_NEAR(g.probabilities[1][1], 0.3, 1e-12);
  EXPECT_NEAR(g.probabilities[2][1], 0.3, 1e-12);
  MVL_ASSERT_OK_AND_ASSIGN(
      GroupedPredictions mx,
      GroupPredictions(p, Level(GroupingConfig::BREAST, GroupingConfig::MAX)));
  EXPECT_NEAR(mx.probabilities[2][1], 0.5, 1e-12);
  MVL_ASSERT_OK_AND_ASSIGN(
      TaskMetrics m, EvaluateTask(p, Level(GroupingConfig::BREAST), NoBootstrap()));
  EXPECT_EQ(m.units, 3);
  EXPECT_EQ(m.level, "breast");
  EXPECT_DOUBLE_EQ(m.Get("roc_auc"), 1.0);
  MVL_ASSERT_OK_AND_ASSIGN(
      GroupedPredictions patients, GroupPredictions(p, Level(GroupingConfig::PATIENT)));
  EXPECT_EQ(patients.labels.size(), 2u);
}

TEST(TaskEvalTest, OneClassGivesNanWithNote) {
  MVL_ASSERT_OK_AND_ASSIGN(
      TaskMetrics m,
      EvaluateTask(Binary({0.1, 0.7}, {0, 0}), Level(GroupingConfig::IMAGE),
                   ReportConfig()));
  EXPECT_TRUE(std::isnan(m.Get("roc_auc")));
  EXPECT_TRUE(std::isnan(m.Get("average_precision")));
  EXPECT_DOUBLE_EQ(m.Get("accuracy"), 0.5);
  EXPECT_FALSE(m.has_auc_interval);
  EXPECT_TRUE(m.roc.empty());
  ASSERT_GE(m.notes.size(), 2u);
  EXPECT_THAT(m.notes[0], HasSubstr("roc_auc"));
}

TEST(TaskEvalTest, MulticlassMetrics) {
  TaskPredictions p;
  p.task = "density";
  p.class_names = {"A", "B", "C"};
  p.Add({0.7, 0.2, 0.1}, 0, "1", "x", "L");
  p.Add({0.2, 0.7, 0.1}, 1, "2", "x", "R");
  p.Add({0.1, 0.2, 0.7}, 2, "3", "y", "L");
  p.Add({0.6, 0.3, 0.1}, 1, "4", "y", "R");  // wrong: predicted A
  MVL_ASSERT_OK_AND_ASSIGN(
      TaskMetrics m, EvaluateTask(p, Level(GroupingConfig::IMAGE), NoBootstrap()));
  EXPECT_DOUBLE_EQ(m.Get("accuracy"), 0.75);
  // Recall per class: A 1, B 0.5, C 1.
  EXPECT_NEAR(m.Get("balanced_accuracy"), 2.5 / 3, 1e-12);
  EXPECT_THAT(m.confusion.counts[1], ElementsAre(1, 1, 0));
  // OvR: A: negatives 0.2, 0.1 vs positive 0.7 but 0.6 (label B) > ... A's
  // AUC = 1 (0.7 beats 0.2, 0.1, 0.6); B: positives 0.7, 0.3 vs 0.2, 0.2 -> 1;
  // C: 0.7 vs 0.1, 0.1, 0.1 -> 1.
  EXPECT_DOUBLE_EQ(m.Get("roc_auc"), 1.0);
  EXPECT_EQ(m.roc.size(), 3u);
  EXPECT_THAT(m.class_counts, ElementsAre(1, 2, 1));
  EXPECT_THAT(GroupPredictions(p, Level(GroupingConfig::PATIENT)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("disagrees")));
  EXPECT_THAT(GroupPredictions(p, Level(GroupingConfig::PATIENT, GroupingConfig::MAX)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("binary")));
}

TEST(TaskEvalTest, BadInputIsInvalidArgument) {
  TaskPredictions p = Binary({0.1, 0.9}, {0, 1});
  p.labels[1] = 2;
  EXPECT_THAT(EvaluateTask(p, Level(GroupingConfig::IMAGE), NoBootstrap()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("row 1")));
  p = Binary({0.1, NAN}, {0, 1});
  EXPECT_THAT(EvaluateTask(p, Level(GroupingConfig::IMAGE), NoBootstrap()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-finite")));
  p = Binary({0.1, 0.9}, {0, 1});
  p.lateralities[0] = "";
  EXPECT_THAT(EvaluateTask(p, Level(GroupingConfig::BREAST), NoBootstrap()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("laterality")));
  p.sample_ids.pop_back();
  EXPECT_THAT(EvaluateTask(p, Level(GroupingConfig::IMAGE), NoBootstrap()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("length")));
  EXPECT_THAT(EvaluateTask(Binary({}, {}), Level(GroupingConfig::IMAGE), NoBootstrap()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace mammovl::eval
