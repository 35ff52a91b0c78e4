#include "eval/linear_probe.h"

#include <ATen/ATen.h>
#include <torch/types.h>

#include <random>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace mammovl::eval {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

ClassifierConfig Parse(const std::string& text) {
  ClassifierConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config));
  return config;
}

// Features N(0, 1) in `dim` dimensions; the class is the argmax of W x + b
// for a fixed random W (2 classes: the sign of one direction), and a share
// `flip` of labels is replaced by a random other class.
FeatureSet Separable(int n, int dim, int classes, double flip, uint64_t seed) {
  at::manual_seed(1234);  // the same W for every set
  at::Tensor w = at::randn({classes, dim});
  at::manual_seed(seed);
  FeatureSet set;
  set.features = at::randn({n, dim});
  at::Tensor logits = at::matmul(set.features, w.t());
  at::Tensor y = logits.argmax(1);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < n; ++i) {
    int label = static_cast<int>(y[i].item<int64_t>());
    if (u(rng) < flip) label = (label + 1 + rng() % (classes - 1)) % classes;
    set.labels.push_back(label);
    set.sample_ids.push_back("s" + std::to_string(i));
    set.patient_ids.push_back("p" + std::to_string(i / 2));
    set.lateralities.push_back(i % 2 ? "L" : "R");
  }
  return set;
}

TaskMetrics Evaluate(TrainedHead& trained, const FeatureSet& set,
                     const ClassifierConfig& config) {
  auto p = PredictFeatures(trained.head, set, "t", ClassNames(config));
  EXPECT_TRUE(p.ok()) << p.status();
  ReportConfig report;
  report.set_bootstrap_resamples(0);
  auto m = EvaluateTask(*p, config.grouping(), report);
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

TEST(LinearProbeTest, ReachesTheBayesAccuracyOfANoisyLinearRule) {
  // 10 % of labels flipped: the true rule's accuracy (the best possible) is
  // about 0.9 on the test set; count it exactly.
  const FeatureSet train = Separable(3000, 16, 2, 0.1, 1);
  const FeatureSet val = Separable(1000, 16, 2, 0.1, 2);
  const FeatureSet test = Separable(2000, 16, 2, 0.1, 3);
  const FeatureSet clean = Separable(2000, 16, 2, 0.0, 3);
  double bayes = 0;
  for (size_t i = 0; i < test.labels.size(); ++i) bayes += test.labels[i] == clean.labels[i];
  bayes /= static_cast<double>(test.labels.size());
  EXPECT_NEAR(bayes, 0.9, 0.03);
  const ClassifierConfig config = Parse(R"pb(
    label: "mass" loss { weighted_bce {} } epochs: 15 batch_size: 64 patience: 5
    optimizer { adamw { lr: 0.02 weight_decay: 0 } } select_by_auc: false
  )pb");
  MVL_ASSERT_OK_AND_ASSIGN(TrainedHead trained, TrainLinearProbe(train, val, config));
  EXPECT_GE(trained.best_epoch, 0);
  EXPECT_FALSE(trained.history.empty());
  EXPECT_LT(trained.history.back().train_loss, trained.history.front().train_loss);
  const TaskMetrics m = Evaluate(trained, test, config);
  // scikit-learn's unregularised logistic regression on the same kind of
  // data reaches 0.866 against 0.890 for the true rule.
  EXPECT_GT(m.Get("accuracy"), bayes - 0.04);
  EXPECT_LT(m.Get("accuracy"), bayes + 0.01);  // cannot beat the label noise
  EXPECT_GT(m.Get("roc_auc"), 0.85);
}

TEST(LinearProbeTest, MulticlassCrossEntropyWithTwoLinearHead) {
  const FeatureSet train = Separable(900, 12, 3, 0.0, 4);
  const FeatureSet val = Separable(300, 12, 3, 0.0, 5);
  const ClassifierConfig config = Parse(R"pb(
    label: "density" num_classes: 3 two_linear { hidden: 32 } epochs: 20
    batch_size: 64 optimizer { adamw { lr: 0.01 } } select_by_auc: false
  )pb");
  MVL_ASSERT_OK_AND_ASSIGN(TrainedHead trained, TrainLinearProbe(train, val, config));
  const TaskMetrics m = Evaluate(trained, val, config);
  EXPECT_GT(m.Get("accuracy"), 0.93);
  EXPECT_GT(m.Get("roc_auc"), 0.98);
  EXPECT_DOUBLE_EQ(trained.best_val_metric,
                   trained.history[trained.best_epoch].val_metric);
  auto names = trained.head->named_parameters();
  EXPECT_NE(names.find("fc1.weight"), nullptr);
  EXPECT_EQ(names["fc2.weight"].size(0), 3);
}

TEST(LinearProbeTest, EarlyStoppingKeepsTheBestEpoch) {
  const FeatureSet train = Separable(100, 4, 2, 0.0, 6);
  const FeatureSet val = Separable(50, 4, 2, 0.0, 7);
  // lr 1e-12 leaves float32 weights as they are: the metric never improves
  // after epoch 0, so patience 2 stops after epoch 2.
  const ClassifierConfig config = Parse(R"pb(
    label: "x" epochs: 30 patience: 2 optimizer { sgd { lr: 1e-12 momentum: 0 } }
  )pb");
  MVL_ASSERT_OK_AND_ASSIGN(TrainedHead trained, TrainLinearProbe(train, val, config));
  EXPECT_EQ(trained.history.size(), 3u);
  EXPECT_EQ(trained.best_epoch, 0);
}

TEST(LinearProbeTest, BalancedOrderDrawsClassesEqually) {
  std::vector<int> labels(1000, 0);
  for (int i = 0; i < 50; ++i) labels[i * 20] = 1;
  std::mt19937_64 rng(3);
  const std::vector<int64_t> order = EpochOrder(labels, 2, true, rng);
  ASSERT_EQ(order.size(), 1000u);
  int positives = 0;
  for (int64_t i : order) positives += labels[i];
  EXPECT_GT(positives, 430);
  EXPECT_LT(positives, 570);
  const std::vector<int64_t> plain = EpochOrder(labels, 2, false, rng);
  std::vector<int64_t> sorted = plain;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
}

TEST(LinearProbeTest, BalancedSamplingHelpsTheRareClass) {
  // 5 % positives: with balanced sampling the probe's sensitivity at the
  // argmax threshold is high.
  FeatureSet train = Separable(800, 8, 2, 0.0, 8);
  FeatureSet kept;
  std::vector<int64_t> rows;
  int positives = 0;
  for (int64_t i = 0; i < 800; ++i) {
    if (train.labels[i] == 1 && positives >= 30) continue;
    positives += train.labels[i];
    rows.push_back(i);
  }
  kept.features = train.features.index_select(0, at::tensor(rows, at::kLong));
  for (int64_t i : rows) {
    kept.labels.push_back(train.labels[i]);
    kept.sample_ids.push_back(train.sample_ids[i]);
    kept.patient_ids.push_back(train.patient_ids[i]);
    kept.lateralities.push_back(train.lateralities[i]);
  }
  const FeatureSet val = Separable(400, 8, 2, 0.0, 9);
  const ClassifierConfig config = Parse(R"pb(
    label: "x" epochs: 10 batch_size: 16 balanced_sampling: true
    optimizer { adamw { lr: 0.02 } }
  )pb");
  MVL_ASSERT_OK_AND_ASSIGN(TrainedHead trained, TrainLinearProbe(kept, val, config));
  const TaskMetrics m = Evaluate(trained, val, config);
  EXPECT_GT(m.Get("sensitivity"), 0.85);
  EXPECT_GT(m.Get("balanced_accuracy"), 0.88);
}

TEST(LinearProbeTest, BadInputIsInvalidArgument) {
  const FeatureSet train = Separable(20, 4, 2, 0.0, 1);
  FeatureSet val = Separable(10, 5, 2, 0.0, 2);
  const ClassifierConfig config = Parse("label: 'x' epochs: 1");
  EXPECT_THAT(TrainLinearProbe(train, val, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("wide")));
  val = Separable(10, 4, 2, 0.0, 2);
  val.labels[3] = 2;
  EXPECT_THAT(TrainLinearProbe(train, val, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("row 3")));
  EXPECT_THAT(TrainLinearProbe(train, train, Parse("label: 'x' num_classes: 3 loss { focal {} }")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_classes 2")));
  EXPECT_THAT(TrainLinearProbe(train, train, Parse("label: 'x' loss { clip {} }")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("loss")));
  EXPECT_THAT(TrainLinearProbe(train, train, Parse("epochs: 1")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("label")));
}

TEST(ClassifierHeadTest, LogitsAndProbabilities) {
  EXPECT_EQ(NumLogits(Parse("label: 'x' loss { weighted_bce {} }")), 1);
  EXPECT_EQ(NumLogits(Parse("label: 'x' num_classes: 4")), 4);
  at::Tensor p = ClassProbabilities(at::tensor({0.0f, 2.0f}).view({2, 1}));
  EXPECT_NEAR(p[0][1].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(p[1][1].item<double>(), 1 / (1 + std::exp(-2.0)), 1e-7);
  EXPECT_NEAR(p[1][0].item<double>() + p[1][1].item<double>(), 1, 1e-12);
  // Weighted BCE with pos_weight 3: -3 log(sigmoid(0)) for a positive.
  const ClassifierConfig bce = Parse("label: 'x' loss { weighted_bce { pos_weight: 3 } }");
  at::Tensor loss = ClassifierLoss(at::zeros({1, 1}), at::ones({1}, at::kLong), bce);
  EXPECT_NEAR(loss.item<double>(), 3 * std::log(2.0), 1e-6);
}

}  // namespace
}  // namespace mammovl::eval
