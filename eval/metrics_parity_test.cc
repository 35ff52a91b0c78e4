// Checks eval/metrics against scikit-learn 1.2 on the generated cases in
// eval/testdata/metrics/cases.txt (tools/fixtures/make_metric_fixtures.py):
// every output to 1e-9, and every refused input with the documented status.
#include <cmath>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "eval/metrics.h"
#include "eval/metrics_bootstrap.h"
#include "eval/metrics_grouping.h"
#include "gtest/gtest.h"

namespace mammovl::eval {
namespace {

constexpr char kCasesPath[] = "eval/testdata/metrics/cases.txt";
constexpr double kTolerance = 1e-9;

struct Case {
  int id = -1;
  std::string metric;
  std::map<std::string, std::string> opts;
  std::map<std::string, std::vector<int>> ints;
  std::map<std::string, std::vector<double>> dbls;
  std::map<std::string, std::vector<std::string>> strs;
  std::map<std::string, std::vector<double>> outs;
  std::map<std::string, std::vector<std::string>> outstrs;
  std::string err;  // expected absl status code name, empty for success

  const std::string& Opt(const std::string& name,
                         const std::string& fallback = "") const {
    auto it = opts.find(name);
    return it == opts.end() ? fallback : it->second;
  }
  double OptDouble(const std::string& name, double fallback) const {
    double v = fallback;
    if (opts.count(name)) {
      EXPECT_TRUE(absl::SimpleAtod(opts.at(name), &v)) << name;
    }
    return v;
  }
  std::vector<int> Ints(const std::string& name) const {
    auto it = ints.find(name);
    return it == ints.end() ? std::vector<int>() : it->second;
  }
  std::vector<double> Dbls(const std::string& name) const {
    auto it = dbls.find(name);
    return it == dbls.end() ? std::vector<double>() : it->second;
  }
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << "case " << c.id << " (" << c.metric << ")";
}

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  absl::StatusOr<std::string> text = core::ReadFileToString(kCasesPath);
  if (!text.ok()) return cases;  // CasesArePresent reports this
  Case current;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> tok = absl::StrSplit(line, ' ', absl::SkipEmpty());
    const std::string& kind = tok[0];
    if (kind == "case") {
      current = Case();
      current.id = std::stoi(tok[1]);
      current.metric = tok[2];
    } else if (kind == "end") {
      cases.push_back(current);
    } else if (kind == "opt") {
      current.opts[tok[1]] = tok[2];
    } else if (kind == "err") {
      current.err = tok[1];
    } else if (kind == "str" || kind == "outstr") {
      auto& dst =
          kind == "str" ? current.strs[tok[1]] : current.outstrs[tok[1]];
      dst.assign(tok.begin() + 2, tok.end());
    } else if (kind == "int") {
      auto& dst = current.ints[tok[1]];
      for (size_t i = 2; i < tok.size(); ++i) dst.push_back(std::stoi(tok[i]));
    } else if (kind == "dbl" || kind == "out") {
      auto& dst = kind == "dbl" ? current.dbls[tok[1]] : current.outs[tok[1]];
      for (size_t i = 2; i < tok.size(); ++i) {
        double v = 0;
        if (!absl::SimpleAtod(tok[i], &v))
          v = -12345.678;  // fails the comparison
        dst.push_back(v);
      }
    }
  }
  return cases;
}

const std::vector<Case>& AllCases() {
  static const auto* cases = new std::vector<Case>(LoadCases());
  return *cases;
}

// What a case computed, by output name.
struct Outputs {
  std::map<std::string, std::vector<double>> values;
  std::map<std::string, std::vector<std::string>> strings;
};

std::vector<double> ToDoubles(const std::vector<int>& v) {
  return std::vector<double>(v.begin(), v.end());
}

std::vector<std::vector<double>> Rows(const std::vector<double>& flat, int k) {
  std::vector<std::vector<double>> rows;
  for (size_t i = 0; i + k <= flat.size(); i += k) {
    rows.emplace_back(flat.begin() + i, flat.begin() + i + k);
  }
  return rows;
}

absl::StatusOr<Outputs> RunCase(const Case& c) {
  Outputs o;
  const std::vector<int> y = c.Ints("y");
  const std::vector<double> s = c.Dbls("s");
  const std::vector<double> w = c.Dbls("w");
  if (c.metric == "roc_auc") {
    RocAucOptions options;
    options.max_fpr = c.OptDouble("max_fpr", 1.0);
    MVL_ASSIGN_OR_RETURN(double v, RocAuc(y, s, options, w));
    o.values["value"] = {v};
  } else if (c.metric == "roc_curve") {
    RocCurveOptions options;
    options.drop_intermediate = c.Opt("drop_intermediate") == "1";
    MVL_ASSIGN_OR_RETURN(RocCurve roc, ComputeRocCurve(y, s, options, w));
    o.values["fpr"] = roc.fpr;
    o.values["tpr"] = roc.tpr;
    o.values["thresholds"] = roc.thresholds;
  } else if (c.metric == "pr_curve") {
    MVL_ASSIGN_OR_RETURN(PrecisionRecallCurve pr,
                         ComputePrecisionRecallCurve(y, s, w));
    o.values["precision"] = pr.precision;
    o.values["recall"] = pr.recall;
    o.values["thresholds"] = pr.thresholds;
  } else if (c.metric == "average_precision") {
    MVL_ASSIGN_OR_RETURN(double v, AveragePrecision(y, s, w));
    o.values["value"] = {v};
  } else if (c.metric == "multiclass_auc") {
    MulticlassAucOptions options;
    options.scheme = c.Opt("scheme") == "ovo" ? MulticlassScheme::kOneVsOne
                                              : MulticlassScheme::kOneVsRest;
    const std::string& avg = c.Opt("average");
    options.average = avg == "weighted" ? MulticlassAverage::kWeighted
                      : avg == "micro"  ? MulticlassAverage::kMicro
                                        : MulticlassAverage::kMacro;
    const int k = std::stoi(c.Opt("k", "0"));
    MVL_ASSIGN_OR_RETURN(MulticlassAuc auc,
                         MulticlassRocAuc(y, Rows(c.Dbls("P"), k), options, w));
    o.values["value"] = {auc.value};
    o.values["per_class"] = auc.per_class;
  } else if (c.metric == "operating_point") {
    OperatingPointOptions options;
    options.rule = c.Opt("rule") == "closest" ? OperatingPointRule::kClosest
                                              : OperatingPointRule::kAtLeast;
    options.drop_intermediate = c.Opt("drop_intermediate") == "1";
    const double target = c.OptDouble("target", -1.0);
    absl::StatusOr<OperatingPoint> point =
        c.Opt("which") == "sens_at_spec"
            ? SensitivityAtSpecificity(y, s, target, options, w)
            : SpecificityAtSensitivity(y, s, target, options, w);
    MVL_RETURN_IF_ERROR(point.status());
    o.values["sensitivity"] = {point->sensitivity};
    o.values["specificity"] = {point->specificity};
    o.values["threshold"] = {point->threshold};
  } else if (c.metric == "accuracy") {
    MVL_ASSIGN_OR_RETURN(double v, Accuracy(y, c.Ints("p"), w));
    o.values["value"] = {v};
  } else if (c.metric == "balanced_accuracy") {
    MVL_ASSIGN_OR_RETURN(
        double v,
        BalancedAccuracy(y, c.Ints("p"), c.Opt("adjusted") == "1", w));
    o.values["value"] = {v};
  } else if (c.metric == "prf") {
    PrecisionRecallFOptions options;
    const std::string& avg = c.Opt("average");
    options.average = avg == "binary"     ? Average::kBinary
                      : avg == "micro"    ? Average::kMicro
                      : avg == "macro"    ? Average::kMacro
                      : avg == "weighted" ? Average::kWeighted
                                          : Average::kNone;
    const std::string& zd = c.Opt("zero_division");
    options.zero_division = zd == "1"   ? ZeroDivision::kOne
                            : zd == "0" ? ZeroDivision::kZero
                                        : ZeroDivision::kWarn;
    options.beta = c.OptDouble("beta", 1.0);
    options.pos_label = std::stoi(c.Opt("pos_label", "1"));
    options.labels = c.Ints("labels");
    MVL_ASSIGN_OR_RETURN(PrecisionRecallF r,
                         ComputePrecisionRecallF(y, c.Ints("p"), options, w));
    o.values["labels"] = ToDoubles(r.labels);
    o.values["precision"] = r.precision;
    o.values["recall"] = r.recall;
    o.values["f"] = r.f_score;
    o.values["support"] = r.support;
    o.values["avg_precision"] = {r.avg_precision};
    o.values["avg_recall"] = {r.avg_recall};
    o.values["avg_f"] = {r.avg_f_score};
  } else if (c.metric == "confusion_matrix") {
    ConfusionMatrixOptions options;
    options.labels = c.Ints("labels");
    const std::string& norm = c.Opt("normalize");
    options.normalize = norm == "true"   ? ConfusionNormalization::kTrue
                        : norm == "pred" ? ConfusionNormalization::kPred
                        : norm == "all"  ? ConfusionNormalization::kAll
                                         : ConfusionNormalization::kNone;
    MVL_ASSIGN_OR_RETURN(ConfusionMatrix cm,
                         ComputeConfusionMatrix(y, c.Ints("p"), options, w));
    o.values["labels"] = ToDoubles(cm.labels);
    auto& counts = o.values["counts"];
    for (const auto& row : cm.counts)
      counts.insert(counts.end(), row.begin(), row.end());
  } else if (c.metric == "cohen_kappa") {
    CohenKappaOptions options;
    const std::string& weighting = c.Opt("weighting");
    options.weighting = weighting == "linear"      ? KappaWeighting::kLinear
                        : weighting == "quadratic" ? KappaWeighting::kQuadratic
                                                   : KappaWeighting::kNone;
    options.labels = c.Ints("labels");
    MVL_ASSIGN_OR_RETURN(double v,
                         CohenKappa(c.Ints("y1"), c.Ints("y2"), options, w));
    o.values["value"] = {v};
  } else if (c.metric == "binary_rates") {
    MVL_ASSIGN_OR_RETURN(BinaryRates r, ComputeBinaryRates(y, c.Ints("p"), w));
    o.values = {{"tp", {r.tp}},
                {"fp", {r.fp}},
                {"tn", {r.tn}},
                {"fn", {r.fn}},
                {"sensitivity", {r.sensitivity}},
                {"specificity", {r.specificity}},
                {"ppv", {r.ppv}},
                {"npv", {r.npv}},
                {"f1", {r.f1}}};
  } else if (c.metric == "pfbeta") {
    MVL_ASSIGN_OR_RETURN(double v,
                         ProbabilisticFBeta(y, s, c.OptDouble("beta", 1.0)));
    o.values["value"] = {v};
  } else if (c.metric == "bootstrap_auc") {
    BootstrapOptions options;
    EXPECT_TRUE(absl::SimpleAtoi(c.Opt("seed"), &options.seed));
    options.num_resamples = std::stoi(c.Opt("resamples"));
    options.confidence = c.OptDouble("confidence", 0.95);
    options.stratified = c.Opt("stratified") == "1";
    MVL_ASSIGN_OR_RETURN(ConfidenceInterval ci, BootstrapRocAuc(y, s, options));
    o.values = {{"estimate", {ci.estimate}},
                {"lower", {ci.lower}},
                {"upper", {ci.upper}},
                {"used", {static_cast<double>(ci.num_resamples_used)}},
                {"skipped", {static_cast<double>(ci.num_resamples_skipped)}}};
  } else if (c.metric == "quantile") {
    MVL_ASSIGN_OR_RETURN(double v,
                         Quantile(c.Dbls("v"), c.OptDouble("q", -1.0)));
    o.values["value"] = {v};
  } else if (c.metric == "grouping") {
    GroupAggregationOptions options;
    options.scores = c.Opt("scores") == "max" ? ScoreAggregation::kMax
                                              : ScoreAggregation::kMean;
    options.labels = c.Opt("labels") == "consistent"
                         ? LabelAggregation::kRequireConsistent
                         : LabelAggregation::kMax;
    const auto ids_it = c.strs.find("g");
    const std::vector<std::string> ids =
        ids_it == c.strs.end() ? std::vector<std::string>() : ids_it->second;
    MVL_ASSIGN_OR_RETURN(GroupedScores g, AggregateByGroup(ids, s, y, options));
    o.strings["groups"] = g.group_ids;
    o.values["scores"] = g.scores;
    o.values["labels"] = ToDoubles(g.labels);
    o.values["counts"] = ToDoubles(g.counts);
    // The aggregated AUC; NaN in the fixture stands for "undefined".
    absl::StatusOr<double> auc = RocAuc(g.labels, g.scores);
    if (auc.ok()) {
      o.values["auc"] = {*auc};
    } else if (absl::IsFailedPrecondition(auc.status())) {
      o.values["auc"] = {std::nan("")};
    } else {
      return auc.status();
    }
  } else {
    return absl::UnimplementedError(
        absl::StrCat("no runner for metric ", c.metric));
  }
  return o;
}

class MetricParityTest : public ::testing::TestWithParam<Case> {};

TEST_P(MetricParityTest, MatchesScikitLearn) {
  const Case& c = GetParam();
  absl::StatusOr<Outputs> got = RunCase(c);
  if (!c.err.empty()) {
    ASSERT_FALSE(got.ok()) << "expected " << c.err;
    EXPECT_EQ(absl::StatusCodeToString(got.status().code()), c.err)
        << got.status();
    // Messages name the metric or the function that refused.
    EXPECT_FALSE(got.status().message().empty());
    return;
  }
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_FALSE(c.outs.empty() && c.outstrs.empty());
  for (const auto& [name, expected] : c.outs) {
    auto it = got->values.find(name);
    ASSERT_NE(it, got->values.end()) << "no output " << name;
    const std::vector<double>& actual = it->second;
    ASSERT_EQ(actual.size(), expected.size()) << name;
    for (size_t i = 0; i < expected.size(); ++i) {
      if (std::isnan(expected[i])) {
        EXPECT_TRUE(std::isnan(actual[i]))
            << name << "[" << i << "] = " << actual[i];
      } else if (std::isinf(expected[i])) {
        EXPECT_EQ(actual[i], expected[i]) << name << "[" << i << "]";
      } else {
        EXPECT_NEAR(actual[i], expected[i], kTolerance)
            << name << "[" << i << "]";
      }
    }
  }
  for (const auto& [name, expected] : c.outstrs) {
    auto it = got->strings.find(name);
    ASSERT_NE(it, got->strings.end()) << "no output " << name;
    EXPECT_EQ(it->second, expected) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(ScikitLearn, MetricParityTest,
                         ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return absl::StrCat(info.param.metric, "_",
                                               info.param.id);
                         });

TEST(MetricParityCasesTest, CasesArePresent) {
  const std::vector<Case>& cases = AllCases();
  ASSERT_GE(cases.size(), 200u) << "read " << kCasesPath;
  std::map<std::string, int> per_metric;
  int errors = 0;
  for (const Case& c : cases) {
    ++per_metric[c.metric];
    errors += !c.err.empty();
  }
  for (const char* metric :
       {"roc_auc", "roc_curve", "pr_curve", "average_precision",
        "multiclass_auc", "operating_point", "accuracy", "balanced_accuracy",
        "prf", "confusion_matrix", "cohen_kappa", "binary_rates", "pfbeta",
        "bootstrap_auc", "quantile", "grouping"}) {
    EXPECT_GE(per_metric[metric], 8) << metric;
  }
  EXPECT_GE(errors, 20);  // the refused inputs are exercised too
}

}  // namespace
}  // namespace mammovl::eval
