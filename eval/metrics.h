// Classification metrics with scikit-learn's semantics (checked against
// Debian's python3-sklearn 1.2.1 by eval/metrics_parity_test): ROC and
// precision-recall curves, ROC AUC (binary, partial, multi-class OvR/OvO),
// average precision, accuracy, balanced accuracy, precision/recall/F-beta,
// confusion matrix, Cohen's kappa, operating points (sensitivity at a fixed
// specificity and vice versa), rates from a binary confusion matrix and the
// RSNA probabilistic F-beta. No LibTorch, no OpenCV.
//
// Conventions shared by every function:
// - Binary labels are ints in {0, 1}; 1 is the positive class. Class labels
//   for multi-class metrics are arbitrary ints (e.g. BI-RADS 0..6); for
//   multi-class AUC they are column indices 0..K-1 of the score matrix.
// - `sample_weight` is optional: an empty span means every sample weighs 1.
//   Otherwise it has one finite, non-negative weight per sample with a
//   positive sum. Samples of weight 0 do not influence the result (as in
//   scikit-learn, they are dropped before curves are built).
// - Ties in scores are treated exactly as scikit-learn does: all samples with
//   the same score share one threshold, giving diagonal ROC segments (half
//   credit) and one precision-recall point.
//
// Error policy (never a crash, never a silently wrong number):
// - InvalidArgument: empty input, mismatched lengths, NaN/Inf scores,
//   labels outside the documented range, bad weights, bad options. The
//   message names the metric, the argument and the offending index.
// - FailedPrecondition: the metric is undefined for these labels, where
//   scikit-learn raises (ROC AUC with one class in y_true; multi-class AUC
//   with a class absent from y_true) and for average precision without
//   positives, where scikit-learn 1.2 warns and returns 0. The message starts
//   with the metric's name, e.g. "roc_auc: only one class present in y_true".
// - NaN, where scikit-learn returns NaN with a warning: the FPR (TPR) axis of
//   a ROC curve without negatives (positives); Cohen's kappa when both raters
//   use one and the same label; rates with a zero denominator in
//   `BinaryRates`.
// - Precision/recall/F with a zero denominator follow `ZeroDivision` (the
//   default, like scikit-learn's "warn", gives 0).
#ifndef MAMMOVL_EVAL_METRICS_H_
#define MAMMOVL_EVAL_METRICS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mammovl::eval {

// ---------------------------------------------------------------------------
// Ranking metrics (binary labels, real-valued scores).

// Points of a ROC curve, as `sklearn.metrics.roc_curve`: `fpr` and `tpr`
// rise from (0, 0) to (1, 1); `thresholds[i]` is the lowest score predicted
// positive at point i, decreasing, and `thresholds[0]` = max score + 1 (the
// 1.2 convention; later scikit-learn versions use +inf there).
struct RocCurve {
  std::vector<double> fpr;
  std::vector<double> tpr;
  std::vector<double> thresholds;
};

struct RocCurveOptions {
  // Drops thresholds whose point is collinear with its neighbours (the
  // scikit-learn default); they never change the area or the plotted curve.
  bool drop_intermediate = true;
};

// The ROC curve. Without negatives (positives) in y_true, `fpr` (`tpr`) is
// all NaN, as in scikit-learn.
absl::StatusOr<RocCurve> ComputeRocCurve(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    const RocCurveOptions& options = {},
    absl::Span<const double> sample_weight = {});

struct RocAucOptions {
  // In (0, 1]. Below 1: McClish-standardised partial AUC over FPR in
  // [0, max_fpr] (`roc_auc_score(max_fpr=...)`): 0.5 for chance, 1 for perfect.
  double max_fpr = 1.0;
};

// Area under the ROC curve (`roc_auc_score`, trapezoidal rule). Ties count
// half. FailedPrecondition if y_true holds one class only, or if all
// positives (negatives) have weight 0 (scikit-learn returns NaN there).
absl::StatusOr<double> RocAuc(absl::Span<const int> y_true,
                              absl::Span<const double> y_score,
                              const RocAucOptions& options = {},
                              absl::Span<const double> sample_weight = {});

// Precision-recall pairs, as `precision_recall_curve`: ordered by increasing
// threshold, so recall decreases; the last point is (recall 0, precision 1)
// and has no threshold (`thresholds` is one shorter). A threshold whose
// predicted-positive count is 0 gets precision 0. Without positives in y_true
// recall is 1 everywhere (scikit-learn's convention).
struct PrecisionRecallCurve {
  std::vector<double> precision;
  std::vector<double> recall;
  std::vector<double> thresholds;
};

absl::StatusOr<PrecisionRecallCurve> ComputePrecisionRecallCurve(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    absl::Span<const double> sample_weight = {});

// Average precision, `average_precision_score`: sum over thresholds of
// (R_n - R_{n-1}) * P_n, no interpolation. FailedPrecondition without
// positives in y_true.
absl::StatusOr<double> AveragePrecision(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    absl::Span<const double> sample_weight = {});

enum class MulticlassScheme {
  kOneVsRest,  // multi_class="ovr": class c against all others.
  kOneVsOne,   // multi_class="ovo": Hand & Till, pairs of classes.
};

enum class MulticlassAverage {
  kMacro,     // unweighted mean over classes (pairs for OvO).
  kWeighted,  // OvR: weighted by class support (sum of sample weights);
              // OvO: weighted by the pair's prevalence.
  kMicro,     // OvR only: one binary AUC over all (sample, class) cells.
};

struct MulticlassAucOptions {
  MulticlassScheme scheme = MulticlassScheme::kOneVsRest;
  MulticlassAverage average = MulticlassAverage::kMacro;
};

struct MulticlassAuc {
  double value = 0.0;
  // OvR: AUC of each class against the rest (scikit-learn's average=None).
  // Empty for OvO.
  std::vector<double> per_class;
};

// Multi-class ROC AUC, `roc_auc_score(y, P, multi_class=..., average=...)`.
// `y_score[i]` holds the K class probabilities of sample i (K >= 2, every row
// the same length, rows summing to 1 within numpy's allclose tolerance, else
// InvalidArgument); y_true values are column indices 0..K-1. A class absent
// from y_true gives FailedPrecondition naming it. OvO takes no sample weights.
absl::StatusOr<MulticlassAuc> MulticlassRocAuc(
    absl::Span<const int> y_true,
    const std::vector<std::vector<double>>& y_score,
    const MulticlassAucOptions& options = {},
    absl::Span<const double> sample_weight = {});

// ---------------------------------------------------------------------------
// Operating points on the ROC curve.

struct OperatingPoint {
  double sensitivity = 0.0;  // TPR
  double specificity = 0.0;  // 1 - FPR
  double threshold = 0.0;    // predict positive when score >= threshold
};

enum class OperatingPointRule {
  // The best point meeting the target: highest sensitivity among points with
  // specificity >= target (or the reverse); ties go to the higher threshold.
  kAtLeast,
  // The point whose constrained quantity is closest to the target; ties go
  // to the first such point in curve order (np.argmin over roc_curve), e.g.
  // MaMA's "specificity at 80 % sensitivity".
  kClosest,
};

struct OperatingPointOptions {
  OperatingPointRule rule = OperatingPointRule::kAtLeast;
  // Which curve is searched. kAtLeast gives the same point either way;
  // kClosest can differ on collinear ties (MaMA used scikit-learn's default,
  // true).
  bool drop_intermediate = false;
};

// Sensitivity at a fixed specificity `target` in [0, 1]. FailedPrecondition
// if y_true holds one class only.
absl::StatusOr<OperatingPoint> SensitivityAtSpecificity(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    double target, const OperatingPointOptions& options = {},
    absl::Span<const double> sample_weight = {});

// Specificity at a fixed sensitivity `target` in [0, 1].
absl::StatusOr<OperatingPoint> SpecificityAtSensitivity(
    absl::Span<const int> y_true, absl::Span<const double> y_score,
    double target, const OperatingPointOptions& options = {},
    absl::Span<const double> sample_weight = {});

// ---------------------------------------------------------------------------
// Metrics of hard predictions (integer class labels).

// Fraction of correct predictions (`accuracy_score`), sample-weighted.
absl::StatusOr<double> Accuracy(absl::Span<const int> y_true,
                                absl::Span<const int> y_pred,
                                absl::Span<const double> sample_weight = {});

// Mean per-class recall (`balanced_accuracy_score`). Classes that occur only
// in y_pred are ignored (scikit-learn warns). `adjusted` rescales so that
// chance is 0 and perfect is 1.
absl::StatusOr<double> BalancedAccuracy(
    absl::Span<const int> y_true, absl::Span<const int> y_pred,
    bool adjusted = false, absl::Span<const double> sample_weight = {});

enum class ConfusionNormalization {
  kNone,
  kTrue,  // rows sum to 1
  kPred,  // columns sum to 1
  kAll,   // the matrix sums to 1
};

struct ConfusionMatrixOptions {
  // Row/column order. Empty: the sorted union of the labels in y_true and
  // y_pred. Samples whose true or predicted label is not listed are ignored;
  // at least one listed label must occur in y_true.
  std::vector<int> labels;
  // Empty rows/columns normalise to 0, as scikit-learn.
  ConfusionNormalization normalize = ConfusionNormalization::kNone;
};

struct ConfusionMatrix {
  std::vector<int> labels;
  // counts[i][j]: (weighted) number of samples with true label labels[i]
  // predicted as labels[j]; normalised if requested.
  std::vector<std::vector<double>> counts;
};

absl::StatusOr<ConfusionMatrix> ComputeConfusionMatrix(
    absl::Span<const int> y_true, absl::Span<const int> y_pred,
    const ConfusionMatrixOptions& options = {},
    absl::Span<const double> sample_weight = {});

enum class Average {
  kBinary,    // the class `pos_label` only; at most two labels may occur
  kMicro,     // from the summed counts of the selected labels
  kMacro,     // unweighted mean over labels
  kWeighted,  // mean weighted by each label's support
  kNone,      // per label only; the averaged fields are NaN
};

// What precision (recall) is when nothing is predicted (present) for a label.
enum class ZeroDivision {
  kWarn,  // scikit-learn's default "warn": 0 (we do not log a warning)
  kZero,
  kOne,  // e.g. FPN-MIL's weighted F1 uses zero_division=1
};

struct PrecisionRecallFOptions {
  Average average = Average::kBinary;
  int pos_label = 1;
  // Labels to report and average over, in this order (ignored by kBinary).
  // Empty: the sorted union of y_true and y_pred.
  std::vector<int> labels;
  // F-beta weight, >= 0; +infinity gives F = recall.
  double beta = 1.0;
  ZeroDivision zero_division = ZeroDivision::kWarn;
};

// `precision_recall_fscore_support`.
struct PrecisionRecallF {
  // Per label (one entry, pos_label, for kBinary).
  std::vector<int> labels;
  std::vector<double> precision;
  std::vector<double> recall;
  std::vector<double> f_score;
  std::vector<double> support;  // (weighted) count of the label in y_true
  // Averaged as requested; NaN for Average::kNone.
  double avg_precision = 0.0;
  double avg_recall = 0.0;
  double avg_f_score = 0.0;
};

absl::StatusOr<PrecisionRecallF> ComputePrecisionRecallF(
    absl::Span<const int> y_true, absl::Span<const int> y_pred,
    const PrecisionRecallFOptions& options = {},
    absl::Span<const double> sample_weight = {});

enum class KappaWeighting { kNone, kLinear, kQuadratic };

struct CohenKappaOptions {
  KappaWeighting weighting = KappaWeighting::kNone;
  // As ConfusionMatrixOptions::labels; the weights use positions in this list.
  std::vector<int> labels;
};

// Cohen's kappa between two raters (`cohen_kappa_score`); quadratic weights
// suit ordinal labels such as density or BI-RADS. NaN when the expected
// disagreement is 0 (both raters use one and the same label).
absl::StatusOr<double> CohenKappa(absl::Span<const int> y1,
                                  absl::Span<const int> y2,
                                  const CohenKappaOptions& options = {},
                                  absl::Span<const double> sample_weight = {});

// Counts and rates of binary predictions (labels 0/1). Rates with a zero
// denominator are NaN.
struct BinaryRates {
  double tp = 0, fp = 0, tn = 0, fn = 0;  // (weighted) counts
  double sensitivity = 0;                 // tp / (tp + fn)
  double specificity = 0;                 // tn / (tn + fp)
  double ppv = 0;                         // tp / (tp + fp)
  double npv = 0;                         // tn / (tn + fn)
  double f1 = 0;                          // 2 tp / (2 tp + fp + fn)
};

absl::StatusOr<BinaryRates> ComputeBinaryRates(
    absl::Span<const int> y_true, absl::Span<const int> y_pred,
    absl::Span<const double> sample_weight = {});

// Hard predictions from scores: 1 where score > threshold (FPN-MIL's
// `prob > 0.5`), else 0.
std::vector<int> Binarize(absl::Span<const double> y_score,
                          double threshold = 0.5);

// Index of the largest entry of each row (first one on ties, as np.argmax).
std::vector<int> ArgmaxRows(const std::vector<std::vector<double>>& scores);

// Probabilistic F-beta of the RSNA screening challenge (MaMA's "pF1"):
// predictions clipped to [0, 1], soft TP = sum of p over positives, soft FP =
// sum of p over negatives. 0 when the soft precision or recall is 0.
// FailedPrecondition without positives.
absl::StatusOr<double> ProbabilisticFBeta(absl::Span<const int> y_true,
                                          absl::Span<const double> y_prob,
                                          double beta = 1.0);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_METRICS_H_
