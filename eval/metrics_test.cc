// Behaviour of eval/metrics that the scikit-learn parity cases do not pin
// down: refused inputs and their messages, hand-computed small examples,
// the resampler, bootstrap intervals and grouping.
#include "eval/metrics.h"

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/status_matchers.h"
#include "eval/metrics_bootstrap.h"
#include "eval/metrics_grouping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::eval {
namespace {

using core::StatusIs;
using ::testing::AllOf;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pointwise;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// --- Refused inputs ---------------------------------------------------------

TEST(MetricsInputTest, EmptyInputIsInvalidArgument) {
  EXPECT_THAT(RocAuc({}, {}), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("roc_auc: y_true is empty")));
  EXPECT_THAT(ComputeRocCurve({}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(AveragePrecision({}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Accuracy({}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("accuracy: y_true is empty")));
  EXPECT_THAT(BalancedAccuracy({}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ComputePrecisionRecallF({}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ComputeConfusionMatrix({}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CohenKappa({}, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MulticlassRocAuc({}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ProbabilisticFBeta({}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Quantile({}, 0.5), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MetricsInputTest, MismatchedLengthsNameBothArguments) {
  EXPECT_THAT(
      RocAuc({0, 1, 1}, {0.1, 0.2}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("y_true has 3"), HasSubstr("y_score has 2"))));
  EXPECT_THAT(
      Accuracy({0, 1}, {0}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("y_pred has 1")));
  EXPECT_THAT(RocAuc({0, 1}, {0.1, 0.2}, {}, {1.0}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sample_weight has 1 entries for 2 samples")));
}

TEST(MetricsInputTest, NonFiniteScoresAreRefusedWithTheirIndex) {
  EXPECT_THAT(RocAuc({0, 1, 1}, {0.1, kNaN, 0.3}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("y_score[1] is nan")));
  EXPECT_THAT(ComputePrecisionRecallCurve({0, 1}, {0.1, kInf}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("y_score[1] is inf")));
  EXPECT_THAT(
      MulticlassRocAuc({0, 1, 2}, {{1, 0, 0}, {0, kNaN, 1}, {0, 0, 1}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("y_score[1][1]")));
}

TEST(MetricsInputTest, NonBinaryLabelsAreRefused) {
  EXPECT_THAT(
      RocAuc({0, 2, 1}, {0.1, 0.2, 0.3}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("y_true[1] is 2; binary labels must be 0 or 1")));
  EXPECT_THAT(
      ComputeBinaryRates({0, 1}, {0, -1}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("y_pred[1]")));
}

TEST(MetricsInputTest, BadWeightsAreRefused) {
  EXPECT_THAT(RocAuc({0, 1}, {0.1, 0.2}, {}, {1.0, -1.0}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sample_weight[1]")));
  EXPECT_THAT(Accuracy({0, 1}, {0, 1}, {kNaN, 1.0}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sample_weight[0]")));
  EXPECT_THAT(
      Accuracy({0, 1}, {0, 1}, {0.0, 0.0}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sum to 0")));
}

TEST(MetricsInputTest, BadOptionsAreRefused) {
  RocAucOptions roc;
  roc.max_fpr = 0.0;
  EXPECT_THAT(
      RocAuc({0, 1}, {0.1, 0.2}, roc),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_fpr")));
  PrecisionRecallFOptions prf;
  prf.beta = -1.0;
  EXPECT_THAT(ComputePrecisionRecallF({0, 1}, {0, 1}, prf),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("beta")));
  prf = {};
  prf.average = Average::kMacro;
  prf.labels = {1, 1};
  EXPECT_THAT(
      ComputePrecisionRecallF({0, 1}, {0, 1}, prf),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("listed twice")));
  EXPECT_THAT(
      SensitivityAtSpecificity({0, 1}, {0.1, 0.2}, 1.5),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("target")));
  MulticlassAucOptions ovo;
  ovo.scheme = MulticlassScheme::kOneVsOne;
  EXPECT_THAT(
      MulticlassRocAuc({0, 1, 2}, {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, ovo,
                       {1, 1, 1}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("one-vs-one")));
  ovo.average = MulticlassAverage::kMicro;
  EXPECT_THAT(
      MulticlassRocAuc({0, 1, 2}, {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, ovo),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("micro")));
}

TEST(MetricsInputTest, MulticlassShapeErrors) {
  EXPECT_THAT(MulticlassRocAuc({0, 1}, {{0.5, 0.5}, {1.0}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("row 1 has 1 columns")));
  EXPECT_THAT(MulticlassRocAuc({0, 3}, {{0.5, 0.5}, {0.5, 0.5}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("y_true[1] is 3")));
  EXPECT_THAT(MulticlassRocAuc({0, 1}, {{1.0}, {1.0}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at least 2 columns")));
}

// --- Undefined metrics ------------------------------------------------------

TEST(MetricsUndefinedTest, OneClassAucIsFailedPrecondition) {
  EXPECT_THAT(RocAuc({1, 1, 1}, {0.1, 0.2, 0.3}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("roc_auc: only one class present in y_true")));
  EXPECT_THAT(RocAuc({0}, {0.5}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(BootstrapRocAuc({0, 0}, {0.1, 0.2}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(MetricsUndefinedTest, OneClassRocCurveHasNaNAxis) {
  MVL_ASSERT_OK_AND_ASSIGN(RocCurve roc, ComputeRocCurve({1, 1}, {0.2, 0.7}));
  ASSERT_EQ(roc.fpr.size(), 3u);
  for (double v : roc.fpr) EXPECT_TRUE(std::isnan(v));
  EXPECT_THAT(roc.tpr, ElementsAre(0.0, 0.5, 1.0));
  EXPECT_THAT(roc.thresholds, ElementsAre(1.7, 0.7, 0.2));
}

TEST(MetricsUndefinedTest, AveragePrecisionWithoutPositives) {
  EXPECT_THAT(AveragePrecision({0, 0}, {0.1, 0.9}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no positive")));
  // The curve itself follows scikit-learn: recall 1 at every threshold.
  MVL_ASSERT_OK_AND_ASSIGN(PrecisionRecallCurve pr,
                           ComputePrecisionRecallCurve({0, 0}, {0.1, 0.9}));
  EXPECT_THAT(pr.recall, ElementsAre(1.0, 1.0, 0.0));
}

TEST(MetricsUndefinedTest, MissingClassInMulticlassAuc) {
  EXPECT_THAT(
      MulticlassRocAuc({0, 0, 2},
                       {{0.6, 0.2, 0.2}, {0.5, 0.3, 0.2}, {0.1, 0.1, 0.8}}),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("class 1")));
}

TEST(MetricsUndefinedTest, KappaOfOneSharedLabelIsNaN) {
  MVL_ASSERT_OK_AND_ASSIGN(double k, CohenKappa({3, 3, 3}, {3, 3, 3}));
  EXPECT_TRUE(std::isnan(k));
}

TEST(MetricsUndefinedTest, RatesWithZeroDenominatorAreNaN) {
  MVL_ASSERT_OK_AND_ASSIGN(BinaryRates r, ComputeBinaryRates({0, 0}, {0, 0}));
  EXPECT_EQ(r.tn, 2.0);
  EXPECT_TRUE(std::isnan(r.sensitivity));
  EXPECT_EQ(r.specificity, 1.0);
  EXPECT_TRUE(std::isnan(r.ppv));
  EXPECT_TRUE(std::isnan(r.f1));
}

// --- Hand-computed values ---------------------------------------------------

TEST(MetricsValueTest, AucCountsTiesHalf) {
  // Pairs (pos, neg): (0.8,0.2)=1, (0.8,0.5)=1, (0.5,0.2)=1, (0.5,0.5)=1/2.
  MVL_ASSERT_OK_AND_ASSIGN(double auc,
                           RocAuc({0, 0, 1, 1}, {0.2, 0.5, 0.5, 0.8}));
  EXPECT_DOUBLE_EQ(auc, 3.5 / 4.0);
  // A weight of 2 on the tied negative counts its pairs twice: 3.5 -> 5 of 6.
  MVL_ASSERT_OK_AND_ASSIGN(
      double weighted,
      RocAuc({0, 0, 1, 1}, {0.2, 0.5, 0.5, 0.8}, {}, {1, 2, 1, 1}));
  EXPECT_DOUBLE_EQ(weighted, (2.0 + 1.0 + 2.0 * 0.5 + 1.0) / 6.0 + 0.0);
}

TEST(MetricsValueTest, LargeTiedInputsGiveOneThresholdPerDistinctScore) {
  // 5000 samples on 41 score levels, with +0 and -0 (one level), large enough
  // for the radix sort path.
  std::vector<int> y;
  std::vector<double> s;
  SplitMix64 rng(3);
  for (int i = 0; i < 5000; ++i) {
    const int level = static_cast<int>(rng.Below(41)) - 20;
    y.push_back(rng.Below(3) == 0 ? 1 : 0);
    s.push_back(level == 0 ? (i % 2 ? -0.0 : 0.0) : level * 0.25);
  }
  RocCurveOptions all;
  all.drop_intermediate = false;
  MVL_ASSERT_OK_AND_ASSIGN(RocCurve roc, ComputeRocCurve(y, s, all));
  std::set<double> levels(s.begin(), s.end());
  ASSERT_EQ(levels.size(), 41u);
  ASSERT_EQ(roc.thresholds.size(), 42u);
  double positives = 0;
  for (int v : y) positives += v;
  size_t k = 1;
  for (auto it = levels.rbegin(); it != levels.rend(); ++it, ++k) {
    EXPECT_EQ(roc.thresholds[k], *it);
    double tp = 0;
    for (size_t i = 0; i < y.size(); ++i) tp += y[i] == 1 && s[i] >= *it;
    EXPECT_DOUBLE_EQ(roc.tpr[k], tp / positives) << *it;
  }
}

TEST(MetricsValueTest, PerfectAndInvertedScores) {
  MVL_ASSERT_OK_AND_ASSIGN(double perfect,
                           RocAuc({0, 0, 1}, {-3.0, -2.0, 7.0}));
  EXPECT_EQ(perfect, 1.0);
  MVL_ASSERT_OK_AND_ASSIGN(double inverted,
                           RocAuc({0, 0, 1}, {3.0, 2.0, -7.0}));
  EXPECT_EQ(inverted, 0.0);
  MVL_ASSERT_OK_AND_ASSIGN(double ap,
                           AveragePrecision({0, 0, 1}, {-3.0, -2.0, 7.0}));
  EXPECT_EQ(ap, 1.0);
}

TEST(MetricsValueTest, OperatingPoints) {
  // Sorted by score: 0.9(+) 0.8(-) 0.7(+) 0.4(-) 0.3(+) 0.1(-).
  const std::vector<int> y = {1, 0, 1, 0, 1, 0};
  const std::vector<double> s = {0.9, 0.8, 0.7, 0.4, 0.3, 0.1};
  MVL_ASSERT_OK_AND_ASSIGN(OperatingPoint p,
                           SensitivityAtSpecificity(y, s, 2.0 / 3.0 - 1e-12));
  EXPECT_DOUBLE_EQ(p.sensitivity,
                   2.0 / 3.0);  // threshold 0.7: 2 of 3 positives, 1 FP
  EXPECT_DOUBLE_EQ(p.specificity, 2.0 / 3.0);
  EXPECT_EQ(p.threshold, 0.7);
  MVL_ASSERT_OK_AND_ASSIGN(OperatingPoint q,
                           SpecificityAtSensitivity(y, s, 1.0));
  EXPECT_EQ(q.sensitivity, 1.0);
  EXPECT_DOUBLE_EQ(q.specificity, 1.0 / 3.0);  // threshold 0.3
  EXPECT_EQ(q.threshold, 0.3);
}

TEST(MetricsValueTest, PrecisionRecallFAveragesAndZeroDivision) {
  // Label 2 is never predicted: its precision is the zero-division value.
  const std::vector<int> y = {0, 0, 1, 1, 2};
  const std::vector<int> p = {0, 1, 1, 1, 0};
  PrecisionRecallFOptions options;
  options.average = Average::kMacro;
  MVL_ASSERT_OK_AND_ASSIGN(PrecisionRecallF r,
                           ComputePrecisionRecallF(y, p, options));
  EXPECT_THAT(r.labels, ElementsAre(0, 1, 2));
  EXPECT_THAT(r.precision, ElementsAre(0.5, 2.0 / 3.0, 0.0));
  EXPECT_THAT(r.recall, ElementsAre(0.5, 1.0, 0.0));
  EXPECT_DOUBLE_EQ(r.avg_precision, (0.5 + 2.0 / 3.0) / 3.0);
  options.zero_division = ZeroDivision::kOne;
  MVL_ASSERT_OK_AND_ASSIGN(PrecisionRecallF one,
                           ComputePrecisionRecallF(y, p, options));
  EXPECT_EQ(one.precision[2], 1.0);
  EXPECT_EQ(one.f_score[2], 0.0);  // recall 0 keeps F at 0
  options.average = Average::kNone;
  MVL_ASSERT_OK_AND_ASSIGN(PrecisionRecallF none,
                           ComputePrecisionRecallF(y, p, options));
  EXPECT_TRUE(std::isnan(none.avg_f_score));
  EXPECT_THAT(none.support, ElementsAre(2.0, 2.0, 1.0));
  options.average = Average::kBinary;
  EXPECT_THAT(ComputePrecisionRecallF(y, p, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("average=binary")));
}

TEST(MetricsValueTest, ConfusionMatrixRowsAreTrueLabels) {
  MVL_ASSERT_OK_AND_ASSIGN(
      ConfusionMatrix cm,
      ComputeConfusionMatrix({5, 5, 7, 7, 7}, {5, 7, 7, 7, 5}));
  EXPECT_THAT(cm.labels, ElementsAre(5, 7));
  EXPECT_THAT(cm.counts[0], ElementsAre(1.0, 1.0));
  EXPECT_THAT(cm.counts[1], ElementsAre(1.0, 2.0));
  ConfusionMatrixOptions options;
  options.normalize = ConfusionNormalization::kTrue;
  options.labels = {7, 5, 9};
  MVL_ASSERT_OK_AND_ASSIGN(
      ConfusionMatrix n,
      ComputeConfusionMatrix({5, 5, 7, 7, 7}, {5, 7, 7, 7, 5}, options));
  EXPECT_THAT(n.counts[0], ElementsAre(2.0 / 3.0, 1.0 / 3.0, 0.0));
  EXPECT_THAT(n.counts[2],
              ElementsAre(0.0, 0.0, 0.0));  // empty row -> 0, not NaN
}

TEST(MetricsValueTest, BalancedAccuracyAndKappa) {
  // Recalls 1/2 and 2/3.
  MVL_ASSERT_OK_AND_ASSIGN(double bacc,
                           BalancedAccuracy({0, 0, 1, 1, 1}, {0, 1, 1, 1, 0}));
  EXPECT_DOUBLE_EQ(bacc, (0.5 + 2.0 / 3.0) / 2.0);
  EXPECT_THAT(
      BalancedAccuracy({1, 1}, {1, 0}, /*adjusted=*/true),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("2 classes")));
  MVL_ASSERT_OK_AND_ASSIGN(double k, CohenKappa({0, 1, 2}, {0, 1, 2}));
  EXPECT_EQ(k, 1.0);
  CohenKappaOptions quadratic;
  quadratic.weighting = KappaWeighting::kQuadratic;
  MVL_ASSERT_OK_AND_ASSIGN(double kq,
                           CohenKappa({0, 1, 2, 3}, {0, 1, 2, 3}, quadratic));
  EXPECT_EQ(kq, 1.0);
}

TEST(MetricsValueTest, ProbabilisticFBeta) {
  // Soft TP 0.8 + 1 (1.4 clipped), soft FP 0.2: precision 0.9, recall 0.9.
  MVL_ASSERT_OK_AND_ASSIGN(double f,
                           ProbabilisticFBeta({1, 1, 0}, {0.8, 1.4, 0.2}));
  EXPECT_NEAR(f, 0.9, 1e-15);
  MVL_ASSERT_OK_AND_ASSIGN(double zero, ProbabilisticFBeta({1, 0}, {0.0, 0.0}));
  EXPECT_EQ(zero, 0.0);
  EXPECT_THAT(ProbabilisticFBeta({0, 0}, {0.5, 0.5}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(MetricsValueTest, BinarizeAndArgmax) {
  EXPECT_THAT(Binarize({0.2, 0.5, 0.51}), ElementsAre(0, 0, 1));
  EXPECT_THAT(Binarize({0.2, 0.5}, 0.1), ElementsAre(1, 1));
  EXPECT_THAT(ArgmaxRows({{0.1, 0.7, 0.2}, {0.4, 0.4, 0.2}, {}}),
              ElementsAre(1, 0, -1));
}

// --- Resampling
// ---------------------------------------------------------------

TEST(SplitMix64Test, KnownSequenceAndBounds) {
  // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
  SplitMix64 rng(0);
  EXPECT_EQ(rng.Next(), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(rng.Next(), 0x6E789E6AA1B965F4ULL);
  SplitMix64 bounded(42);
  std::vector<int> histogram(7, 0);
  for (int i = 0; i < 7000; ++i) {
    const uint64_t v = bounded.Below(7);
    ASSERT_LT(v, 7u);
    ++histogram[v];
  }
  for (int count : histogram) EXPECT_NEAR(count, 1000, 150);
  EXPECT_EQ(SplitMix64(5).Below(1), 0u);
}

TEST(QuantileTest, MatchesNumpyLinearInterpolation) {
  // np.quantile([1, 2, 3, 4], [0, 0.25, 0.5, 1]) = 1, 1.75, 2.5, 4.
  EXPECT_EQ(*Quantile({4, 1, 3, 2}, 0.0), 1.0);
  EXPECT_EQ(*Quantile({4, 1, 3, 2}, 0.25), 1.75);
  EXPECT_EQ(*Quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_EQ(*Quantile({4, 1, 3, 2}, 1.0), 4.0);
  EXPECT_EQ(*Quantile({7}, 0.3), 7.0);
  EXPECT_THAT(Quantile({1, kNaN}, 0.5),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Quantile({1, 2}, 1.5),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(BootstrapTest, SeededIntervalIsReproducibleAndBracketsTheEstimate) {
  std::vector<int> y;
  std::vector<double> s;
  SplitMix64 data(7);
  for (int i = 0; i < 300; ++i) {
    y.push_back(i % 3 == 0);
    s.push_back(static_cast<double>(data.Below(1000)) / 1000.0 +
                0.3 * y.back());
  }
  BootstrapOptions options;
  options.num_resamples = 300;
  options.seed = 11;
  MVL_ASSERT_OK_AND_ASSIGN(ConfidenceInterval a,
                           BootstrapRocAuc(y, s, options));
  MVL_ASSERT_OK_AND_ASSIGN(ConfidenceInterval b,
                           BootstrapRocAuc(y, s, options));
  EXPECT_EQ(a.lower, b.lower);
  EXPECT_EQ(a.upper, b.upper);
  EXPECT_LT(a.lower, a.estimate);
  EXPECT_GT(a.upper, a.estimate);
  EXPECT_EQ(a.num_resamples_used + a.num_resamples_skipped, 300);
  // Width of a 95 % interval of an AUC from 300 samples: a few hundredths.
  EXPECT_GT(a.upper - a.lower, 0.03);
  EXPECT_LT(a.upper - a.lower, 0.25);
  options.seed = 12;
  MVL_ASSERT_OK_AND_ASSIGN(ConfidenceInterval c,
                           BootstrapRocAuc(y, s, options));
  EXPECT_NE(a.lower, c.lower);
  // A narrower coverage gives a narrower interval on the same resamples.
  options.seed = 11;
  options.confidence = 0.5;
  MVL_ASSERT_OK_AND_ASSIGN(ConfidenceInterval half,
                           BootstrapRocAuc(y, s, options));
  EXPECT_GT(half.lower, a.lower);
  EXPECT_LT(half.upper, a.upper);
}

TEST(BootstrapTest, UndefinedResamplesAreSkippedAndCounted) {
  // One positive in 10: about a third of plain resamples miss it.
  const std::vector<int> y = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<double> s = {0.9, 0.1, 0.2, 0.3, 0.4,
                                 0.5, 0.6, 0.7, 0.8, 0.95};
  BootstrapOptions options;
  options.num_resamples = 200;
  MVL_ASSERT_OK_AND_ASSIGN(ConfidenceInterval plain,
                           BootstrapRocAuc(y, s, options));
  EXPECT_GT(plain.num_resamples_skipped, 30);
  EXPECT_EQ(plain.num_resamples_used + plain.num_resamples_skipped, 200);
  options.stratified = true;
  MVL_ASSERT_OK_AND_ASSIGN(ConfidenceInterval stratified,
                           BootstrapRocAuc(y, s, options));
  EXPECT_EQ(stratified.num_resamples_skipped, 0);
}

TEST(BootstrapTest, OtherMetricErrorsPropagate) {
  int calls = 0;
  auto metric = [&](absl::Span<const int>) -> absl::StatusOr<double> {
    if (++calls > 3) return absl::InternalError("boom");
    return 0.5;
  };
  EXPECT_THAT(BootstrapConfidenceInterval(5, metric),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("boom")));
  EXPECT_THAT(BootstrapConfidenceInterval(0, metric),
              StatusIs(absl::StatusCode::kInvalidArgument));
  BootstrapOptions bad;
  bad.confidence = 1.0;
  EXPECT_THAT(
      BootstrapConfidenceInterval(5, metric, bad),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("confidence")));
  bad = {};
  bad.stratified = true;
  EXPECT_THAT(
      BootstrapConfidenceInterval(5, metric, bad, {0, 1}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stratum")));
}

// --- Grouping
// -----------------------------------------------------------------

TEST(GroupingTest, MeanAndMaxPerBreast) {
  const std::vector<std::string> ids = {
      BreastGroupId("p2", "L"), BreastGroupId("p1", "R"),
      BreastGroupId("p2", "L"), BreastGroupId("p1", "R"),
      BreastGroupId("p1", "L")};
  const std::vector<double> scores = {0.2, 0.9, 0.6, 0.5, 0.1};
  const std::vector<int> labels = {0, 1, 0, 1, 0};
  MVL_ASSERT_OK_AND_ASSIGN(GroupedScores mean,
                           AggregateByGroup(ids, scores, labels));
  EXPECT_THAT(mean.group_ids, ElementsAre("p1/L", "p1/R", "p2/L"));
  EXPECT_THAT(mean.scores, Pointwise(DoubleNear(1e-15), {0.1, 0.7, 0.4}));
  EXPECT_THAT(mean.labels, ElementsAre(0, 1, 0));
  EXPECT_THAT(mean.counts, ElementsAre(1, 2, 2));
  GroupAggregationOptions options;
  options.scores = ScoreAggregation::kMax;
  MVL_ASSERT_OK_AND_ASSIGN(GroupedScores max,
                           AggregateByGroup(ids, scores, labels, options));
  EXPECT_THAT(max.scores, ElementsAre(0.1, 0.9, 0.6));
}

TEST(GroupingTest, ConflictingLabelsNameRowsNotPatients) {
  const std::vector<std::string> ids = {"PATIENT-SECRET/L", "PATIENT-SECRET/L"};
  GroupAggregationOptions options;
  options.labels = LabelAggregation::kRequireConsistent;
  const absl::StatusOr<GroupedScores> r =
      AggregateByGroup(ids, {0.1, 0.2}, {0, 1}, options);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument,
                          AllOf(HasSubstr("row 1"), HasSubstr("row 0"),
                                Not(HasSubstr("SECRET")))));
  // The default (any positive row makes the group positive) accepts it.
  MVL_ASSERT_OK_AND_ASSIGN(GroupedScores g,
                           AggregateByGroup(ids, {0.1, 0.2}, {0, 1}));
  EXPECT_THAT(g.labels, ElementsAre(1));
  EXPECT_THAT(AggregateByGroup({"a", ""}, {0.1, 0.2}, {0, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("row 1 is empty")));
  EXPECT_THAT(
      AggregateByGroup({"a"}, {kNaN}, {0}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scores[0]")));
}

}  // namespace
}  // namespace mammovl::eval
