#include "detection/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"

namespace mammovl::detection {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

absl::Status CheckBox(const Box& b, const char* what, size_t image,
                      size_t index) {
  if (!std::isfinite(b.x1) || !std::isfinite(b.y1) || !std::isfinite(b.x2) ||
      !std::isfinite(b.y2)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " ", index, " of image ", image, ": non-finite coordinate"));
  }
  if (b.x2 < b.x1 || b.y2 < b.y1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s %d of image %d: inverted box (%g, %g, %g, %g); expected x2 >= x1 "
        "and y2 >= y1",
        what, index, image, b.x1, b.y1, b.x2, b.y2));
  }
  return absl::OkStatus();
}

absl::Status CheckLabel(int label, int num_classes, const char* what,
                        size_t image, size_t index) {
  if (label < 0 || label >= num_classes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", index, " of image ", image, ": label ", label,
                     " outside [0, ", num_classes, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckLabelArgument(int label) {
  if (label < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("label must be >= 0 (got ", label, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckIouThreshold(double t, absl::string_view name) {
  if (!(t > 0.0 && t <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be in (0, 1] (got ", t, ")"));
  }
  return absl::OkStatus();
}

// Validates shapes and values for any label (labels only >= 0).
absl::Status ValidateInputs(const std::vector<ImageDetections>& detections,
                            const std::vector<ImageGroundTruth>& ground_truth,
                            int num_classes) {
  if (detections.size() != ground_truth.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "detections cover ", detections.size(), " images, ground truth ",
        ground_truth.size()));
  }
  for (size_t i = 0; i < detections.size(); ++i) {
    const ImageDetections& d = detections[i];
    if (d.scores.size() != d.boxes.size() ||
        d.labels.size() != d.boxes.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "detections of image ", i, ": ", d.boxes.size(), " boxes, ",
          d.scores.size(), " scores, ", d.labels.size(), " labels"));
    }
    for (size_t j = 0; j < d.boxes.size(); ++j) {
      MVL_RETURN_IF_ERROR(CheckBox(d.boxes[j], "detection", i, j));
      if (!std::isfinite(d.scores[j])) {
        return absl::InvalidArgumentError(absl::StrCat(
            "detection ", j, " of image ", i, ": non-finite score"));
      }
      MVL_RETURN_IF_ERROR(CheckLabel(d.labels[j], num_classes, "detection", i, j));
    }
    const ImageGroundTruth& g = ground_truth[i];
    if (g.labels.size() != g.boxes.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ground truth of image ", i, ": ", g.boxes.size(),
                       " boxes, ", g.labels.size(), " labels"));
    }
    for (size_t j = 0; j < g.boxes.size(); ++j) {
      MVL_RETURN_IF_ERROR(CheckBox(g.boxes[j], "ground-truth box", i, j));
      MVL_RETURN_IF_ERROR(
          CheckLabel(g.labels[j], num_classes, "ground-truth box", i, j));
    }
  }
  return absl::OkStatus();
}

// Indices of the detections of `label` in image `d`, by descending score
// (stable), at most `limit` of them (0 = all).
std::vector<int> SortedIndices(const ImageDetections& d, int label,
                               int limit = 0) {
  std::vector<int> idx;
  for (size_t j = 0; j < d.labels.size(); ++j) {
    if (d.labels[j] == label) idx.push_back(static_cast<int>(j));
  }
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int a, int b) { return d.scores[a] > d.scores[b]; });
  if (limit > 0 && idx.size() > static_cast<size_t>(limit)) idx.resize(limit);
  return idx;
}

std::vector<Box> BoxesOf(const ImageGroundTruth& g, int label) {
  std::vector<Box> out;
  for (size_t j = 0; j < g.labels.size(); ++j) {
    if (g.labels[j] == label) out.push_back(g.boxes[j]);
  }
  return out;
}

// Positions 0..n-1 ordered by descending score, stable.
std::vector<size_t> DescendingOrder(const std::vector<double>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return scores[a] > scores[b];
  });
  return order;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? kNaN : s / static_cast<double>(v.size());
}

// NumPy's linspace(start, stop, num) with endpoint.
std::vector<double> Linspace(double start, double stop, int num) {
  std::vector<double> out(num);
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

void AppendJsonNumber(std::string* out, double v) {
  if (!std::isfinite(v)) {
    out->append("null");
  } else {
    absl::StrAppend(out, absl::StrFormat("%.10g", v));
  }
}


std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", c));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string ThresholdKey(double t) { return absl::StrFormat("%g", t); }

}  // namespace

absl::Status ValidateDetectionInputs(
    const std::vector<ImageDetections>& detections,
    const std::vector<ImageGroundTruth>& ground_truth, int num_classes) {
  if (num_classes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_classes must be >= 1 (got ", num_classes, ")"));
  }
  return ValidateInputs(detections, ground_truth, num_classes);
}

std::vector<ImageDetections> FilterDetections(
    const std::vector<ImageDetections>& detections, double score_threshold,
    int max_per_image) {
  std::vector<ImageDetections> out(detections.size());
  for (size_t i = 0; i < detections.size(); ++i) {
    const ImageDetections& d = detections[i];
    std::vector<int> idx;
    for (size_t j = 0; j < d.scores.size(); ++j) {
      if (static_cast<double>(d.scores[j]) > score_threshold) {
        idx.push_back(static_cast<int>(j));
      }
    }
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int a, int b) { return d.scores[a] > d.scores[b]; });
    if (max_per_image > 0 && idx.size() > static_cast<size_t>(max_per_image)) {
      idx.resize(max_per_image);
    }
    for (int j : idx) {
      out[i].boxes.push_back(d.boxes[j]);
      out[i].scores.push_back(d.scores[j]);
      out[i].labels.push_back(d.labels[j]);
    }
  }
  return out;
}

absl::StatusOr<VocAp> VocAveragePrecision(
    const std::vector<ImageDetections>& detections,
    const std::vector<ImageGroundTruth>& ground_truth, int label,
    double iou_threshold) {
  MVL_RETURN_IF_ERROR(CheckLabelArgument(label));
  MVL_RETURN_IF_ERROR(CheckIouThreshold(iou_threshold, "iou_threshold"));
  MVL_RETURN_IF_ERROR(ValidateInputs(detections, ground_truth,
                                     std::numeric_limits<int>::max()));
  VocAp result;
  std::vector<double> scores;
  std::vector<char> is_tp;
  for (size_t i = 0; i < detections.size(); ++i) {
    const ImageDetections& d = detections[i];
    const std::vector<Box> gt = BoxesOf(ground_truth[i], label);
    result.num_ground_truth += static_cast<int64_t>(gt.size());
    std::vector<char> detected(gt.size(), 0);
    for (int j : SortedIndices(d, label)) {
      scores.push_back(d.scores[j]);
      if (gt.empty()) {
        is_tp.push_back(0);
        continue;
      }
      size_t best = 0;
      double best_iou = -1;
      for (size_t g = 0; g < gt.size(); ++g) {
        const double iou = BoxIou(d.boxes[j], gt[g]);
        if (iou > best_iou) {  // first maximum, as np.argmax
          best_iou = iou;
          best = g;
        }
      }
      if (best_iou >= iou_threshold && !detected[best]) {
        detected[best] = 1;
        is_tp.push_back(1);
      } else {
        is_tp.push_back(0);
      }
    }
  }
  result.num_detections = static_cast<int64_t>(scores.size());
  if (result.num_ground_truth == 0) {
    result.ap = kNaN;
    return result;
  }
  const std::vector<size_t> order = DescendingOrder(scores);
  const double n_gt = static_cast<double>(result.num_ground_truth);
  double tp = 0, fp = 0;
  PrCurve& curve = result.curve;
  for (size_t k : order) {
    tp += is_tp[k];
    fp += 1 - is_tp[k];
    curve.recall.push_back(tp / n_gt);
    curve.precision.push_back(tp / std::max(tp + fp, DBL_EPSILON));
    curve.scores.push_back(scores[k]);
  }
  // All-point interpolation with sentinels (0, 0) and (1, 0).
  std::vector<double> mrec = {0.0}, mpre = {0.0};
  mrec.insert(mrec.end(), curve.recall.begin(), curve.recall.end());
  mpre.insert(mpre.end(), curve.precision.begin(), curve.precision.end());
  mrec.push_back(1.0);
  mpre.push_back(0.0);
  for (size_t i = mpre.size() - 1; i > 0; --i) {
    mpre[i - 1] = std::max(mpre[i - 1], mpre[i]);
  }
  double ap = 0;
  for (size_t i = 0; i + 1 < mrec.size(); ++i) {
    if (mrec[i + 1] != mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  }
  result.ap = ap;
  return result;
}

absl::StatusOr<CocoAp> CocoAveragePrecision(
    const std::vector<ImageDetections>& detections,
    const std::vector<ImageGroundTruth>& ground_truth, int label,
    int max_detections) {
  MVL_RETURN_IF_ERROR(CheckLabelArgument(label));
  if (max_detections < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_detections must be >= 1 (got ", max_detections, ")"));
  }
  MVL_RETURN_IF_ERROR(ValidateInputs(detections, ground_truth,
                                     std::numeric_limits<int>::max()));
  const std::vector<double> iou_thresholds = Linspace(0.5, 0.95, 10);
  const std::vector<double> recall_thresholds = Linspace(0.0, 1.0, 101);
  const size_t num_t = iou_thresholds.size();

  std::vector<double> scores;               // all images, image order
  std::vector<std::vector<char>> matched(num_t);  // [t][detection]
  int64_t num_gt = 0;
  for (size_t i = 0; i < detections.size(); ++i) {
    const ImageDetections& d = detections[i];
    const std::vector<Box> gt = BoxesOf(ground_truth[i], label);
    const std::vector<int> dets = SortedIndices(d, label, max_detections);
    num_gt += static_cast<int64_t>(gt.size());
    if (dets.empty()) continue;
    std::vector<double> ious(dets.size() * gt.size());
    for (size_t a = 0; a < dets.size(); ++a) {
      for (size_t g = 0; g < gt.size(); ++g) {
        ious[a * gt.size() + g] = BoxIou(d.boxes[dets[a]], gt[g]);
      }
    }
    for (size_t t = 0; t < num_t; ++t) {
      std::vector<char> gt_matched(gt.size(), 0);
      for (size_t a = 0; a < dets.size(); ++a) {
        double iou = std::min(iou_thresholds[t], 1 - 1e-10);
        int m = -1;
        for (size_t g = 0; g < gt.size(); ++g) {
          if (gt_matched[g]) continue;
          if (ious[a * gt.size() + g] < iou) continue;
          iou = ious[a * gt.size() + g];
          m = static_cast<int>(g);
        }
        if (m >= 0) gt_matched[m] = 1;
        matched[t].push_back(m >= 0 ? 1 : 0);
      }
    }
    for (int j : dets) scores.push_back(d.scores[j]);
  }
  CocoAp result;
  if (num_gt == 0) {
    result.ap = result.ap50 = result.ap75 = result.recall = kNaN;
    result.ap_per_threshold.assign(num_t, kNaN);
    return result;
  }
  const std::vector<size_t> order = DescendingOrder(scores);
  const size_t nd = order.size();
  const double npig = static_cast<double>(num_gt);
  const double eps = std::nextafter(1.0, 2.0) - 1.0;  // np.spacing(1)
  double recall_sum = 0;
  for (size_t t = 0; t < num_t; ++t) {
    std::vector<double> rc(nd), pr(nd);
    double tp = 0, fp = 0;
    for (size_t k = 0; k < nd; ++k) {
      const bool hit = matched[t][order[k]] != 0;
      tp += hit;
      fp += !hit;
      rc[k] = tp / npig;
      pr[k] = tp / (fp + tp + eps);
    }
    recall_sum += nd ? rc[nd - 1] : 0.0;
    for (size_t k = nd; k-- > 1;) {
      if (pr[k] > pr[k - 1]) pr[k - 1] = pr[k];
    }
    double q_sum = 0;
    for (double r : recall_thresholds) {
      const size_t pos = std::lower_bound(rc.begin(), rc.end(), r) - rc.begin();
      if (pos >= nd) break;  // COCOeval stops at the first recall not reached
      q_sum += pr[pos];
    }
    result.ap_per_threshold.push_back(
        q_sum / static_cast<double>(recall_thresholds.size()));
  }
  result.ap = Mean(result.ap_per_threshold);
  result.ap50 = result.ap_per_threshold[0];
  result.ap75 = result.ap_per_threshold[5];
  result.recall = recall_sum / static_cast<double>(num_t);
  return result;
}

absl::StatusOr<Froc> ComputeFroc(
    const std::vector<ImageDetections>& detections,
    const std::vector<ImageGroundTruth>& ground_truth, int label,
    double iou_threshold, const std::vector<double>& fps_per_image) {
  MVL_RETURN_IF_ERROR(CheckLabelArgument(label));
  MVL_RETURN_IF_ERROR(CheckIouThreshold(iou_threshold, "iou_threshold"));
  for (double r : fps_per_image) {
    if (!(r >= 0) || !std::isfinite(r)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fps_per_image values must be finite and >= 0 (got ", r, ")"));
    }
  }
  MVL_RETURN_IF_ERROR(ValidateInputs(detections, ground_truth,
                                     std::numeric_limits<int>::max()));
  Froc result;
  result.num_images = static_cast<int64_t>(detections.size());
  std::vector<double> scores;
  std::vector<char> kind;  // 1 hit, 0 ignored, -1 false positive
  for (size_t i = 0; i < detections.size(); ++i) {
    const ImageDetections& d = detections[i];
    const std::vector<Box> gt = BoxesOf(ground_truth[i], label);
    result.num_lesions += static_cast<int64_t>(gt.size());
    std::vector<char> found(gt.size(), 0);
    for (int j : SortedIndices(d, label)) {
      int best = -1;
      double best_iou = iou_threshold;
      bool overlaps_found = false;
      for (size_t g = 0; g < gt.size(); ++g) {
        const double iou = BoxIou(d.boxes[j], gt[g]);
        if (!found[g] && iou >= best_iou) {
          best = static_cast<int>(g);
          best_iou = iou;
        }
        if (found[g] && iou >= iou_threshold) overlaps_found = true;
      }
      scores.push_back(d.scores[j]);
      if (best >= 0) {
        found[best] = 1;
        kind.push_back(1);
      } else {
        kind.push_back(overlaps_found ? 0 : -1);
      }
    }
  }
  if (result.num_lesions == 0 || result.num_images == 0) {
    result.sensitivity.assign(fps_per_image.size(), kNaN);
    result.mean_sensitivity = kNaN;
    return result;
  }
  const std::vector<size_t> order = DescendingOrder(scores);
  const double n_images = static_cast<double>(result.num_images);
  const double n_lesions = static_cast<double>(result.num_lesions);
  result.curve.push_back({0.0, 0.0, std::numeric_limits<double>::infinity()});
  double tp = 0, fp = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    tp += kind[order[k]] == 1;
    fp += kind[order[k]] == -1;
    if (k + 1 == order.size() || scores[order[k + 1]] != scores[order[k]]) {
      result.curve.push_back({fp / n_images, tp / n_lesions, scores[order[k]]});
    }
  }
  for (double rate : fps_per_image) {
    double best = 0;
    for (const FrocPoint& p : result.curve) {
      if (p.fps_per_image <= rate) best = std::max(best, p.sensitivity);
    }
    result.sensitivity.push_back(best);
  }
  result.mean_sensitivity = Mean(result.sensitivity);
  return result;
}

absl::Status ValidateDetectionEvalConfig(const DetectionEvalConfig& config) {
  if (!std::isfinite(config.score_threshold())) {
    return absl::InvalidArgumentError("eval.score_threshold must be finite");
  }
  if (config.max_detections_per_image() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("eval.max_detections_per_image must be >= 0 (got ",
                     config.max_detections_per_image(), ")"));
  }
  for (double t : config.voc_iou_thresholds()) {
    MVL_RETURN_IF_ERROR(CheckIouThreshold(t, "eval.voc_iou_thresholds"));
  }
  MVL_RETURN_IF_ERROR(
      CheckIouThreshold(config.froc_iou_threshold(), "eval.froc_iou_threshold"));
  for (double r : config.froc_fps_per_image()) {
    if (!(r >= 0) || !std::isfinite(r)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "eval.froc_fps_per_image values must be finite and >= 0 (got ", r,
          ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DetectionMetrics> EvaluateDetections(
    const std::vector<ImageDetections>& detections,
    const std::vector<ImageGroundTruth>& ground_truth, int num_classes,
    const DetectionEvalConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateDetectionEvalConfig(config));
  MVL_RETURN_IF_ERROR(
      ValidateDetectionInputs(detections, ground_truth, num_classes));
  if (config.class_names_size() > 0 && config.class_names_size() != num_classes) {
    return absl::InvalidArgumentError(
        absl::StrCat("eval.class_names has ", config.class_names_size(),
                     " names for ", num_classes, " classes"));
  }
  DetectionMetrics m;
  m.num_images = static_cast<int64_t>(detections.size());
  m.coco = config.coco();
  m.voc_iou_thresholds.assign(config.voc_iou_thresholds().begin(),
                              config.voc_iou_thresholds().end());
  if (m.voc_iou_thresholds.empty()) m.voc_iou_thresholds = {0.5};
  m.froc_fps_per_image.assign(config.froc_fps_per_image().begin(),
                              config.froc_fps_per_image().end());
  if (m.froc_fps_per_image.empty()) m.froc_fps_per_image = {0.5, 1, 2, 4};
  const std::vector<ImageDetections> kept =
      FilterDetections(detections, config.score_threshold(),
                       config.max_detections_per_image());

  std::vector<std::vector<double>> voc_means(m.voc_iou_thresholds.size());
  std::vector<std::vector<double>> froc_means(m.froc_fps_per_image.size());
  std::vector<double> coco_ap, coco_ap50, coco_ap75;
  for (int label = 0; label < num_classes; ++label) {
    ClassDetectionMetrics c;
    c.label = label;
    c.name = config.class_names_size() > 0 ? config.class_names(label)
                                           : absl::StrCat("class_", label);
    for (size_t i = 0; i < ground_truth.size(); ++i) {
      const auto& labels = ground_truth[i].labels;
      if (std::count(labels.begin(), labels.end(), label) > 0) {
        ++c.num_images_with_ground_truth;
      }
    }
    for (size_t t = 0; t < m.voc_iou_thresholds.size(); ++t) {
      MVL_ASSIGN_OR_RETURN(
          VocAp voc, VocAveragePrecision(kept, ground_truth, label,
                                         m.voc_iou_thresholds[t]));
      c.voc_ap.push_back(voc.ap);
      if (t == 0) {
        c.num_ground_truth = voc.num_ground_truth;
        c.num_detections = voc.num_detections;
        c.pr_curve = std::move(voc.curve);
      }
    }
    if (m.coco) {
      MVL_ASSIGN_OR_RETURN(c.coco,
                           CocoAveragePrecision(kept, ground_truth, label));
    }
    MVL_ASSIGN_OR_RETURN(
        c.froc, ComputeFroc(kept, ground_truth, label,
                            config.froc_iou_threshold(), m.froc_fps_per_image));
    if (c.num_ground_truth > 0) {
      for (size_t t = 0; t < c.voc_ap.size(); ++t) voc_means[t].push_back(c.voc_ap[t]);
      for (size_t r = 0; r < c.froc.sensitivity.size(); ++r) {
        froc_means[r].push_back(c.froc.sensitivity[r]);
      }
      if (m.coco) {
        coco_ap.push_back(c.coco.ap);
        coco_ap50.push_back(c.coco.ap50);
        coco_ap75.push_back(c.coco.ap75);
      }
    }
    m.classes.push_back(std::move(c));
  }
  for (const auto& v : voc_means) m.mean_voc_ap.push_back(Mean(v));
  for (const auto& v : froc_means) m.mean_froc_sensitivity.push_back(Mean(v));
  m.mean_coco_ap = m.coco ? Mean(coco_ap) : kNaN;
  m.mean_coco_ap50 = m.coco ? Mean(coco_ap50) : kNaN;
  m.mean_coco_ap75 = m.coco ? Mean(coco_ap75) : kNaN;
  return m;
}

std::string DetectionMetricsToJson(const DetectionMetrics& m) {
  std::string out = "{\n";
  absl::StrAppend(&out, "  \"num_images\": ", m.num_images, ",\n");
  auto append_voc = [&](const std::vector<double>& aps, const char* indent) {
    absl::StrAppend(&out, indent, "\"voc_ap\": {");
    for (size_t t = 0; t < aps.size(); ++t) {
      absl::StrAppend(&out, t ? ", " : "", "\"",
                      ThresholdKey(m.voc_iou_thresholds[t]), "\": ");
      AppendJsonNumber(&out, aps[t]);
    }
    out.append("},\n");
  };
  auto append_froc = [&](const std::vector<double>& sens, const char* indent) {
    absl::StrAppend(&out, indent, "\"froc_sensitivity\": {");
    for (size_t r = 0; r < sens.size(); ++r) {
      absl::StrAppend(&out, r ? ", " : "", "\"",
                      ThresholdKey(m.froc_fps_per_image[r]), "\": ");
      AppendJsonNumber(&out, sens[r]);
    }
    out.append("}");
  };
  out.append("  \"mean\": {\n");
  append_voc(m.mean_voc_ap, "    ");
  if (m.coco) {
    out.append("    \"coco_ap\": ");
    AppendJsonNumber(&out, m.mean_coco_ap);
    out.append(", \"coco_ap50\": ");
    AppendJsonNumber(&out, m.mean_coco_ap50);
    out.append(", \"coco_ap75\": ");
    AppendJsonNumber(&out, m.mean_coco_ap75);
    out.append(",\n");
  }
  append_froc(m.mean_froc_sensitivity, "    ");
  out.append("\n  },\n  \"classes\": [");
  for (size_t k = 0; k < m.classes.size(); ++k) {
    const ClassDetectionMetrics& c = m.classes[k];
    absl::StrAppend(&out, k ? ",\n" : "\n", "    {\n      \"label\": ", c.label,
                    ", \"name\": ", JsonString(c.name),
                    ", \"num_ground_truth\": ", c.num_ground_truth,
                    ", \"num_images_with_ground_truth\": ",
                    c.num_images_with_ground_truth,
                    ", \"num_detections\": ", c.num_detections, ",\n");
    append_voc(c.voc_ap, "      ");
    if (m.coco) {
      out.append("      \"coco\": {\"ap\": ");
      AppendJsonNumber(&out, c.coco.ap);
      out.append(", \"ap50\": ");
      AppendJsonNumber(&out, c.coco.ap50);
      out.append(", \"ap75\": ");
      AppendJsonNumber(&out, c.coco.ap75);
      out.append(", \"recall\": ");
      AppendJsonNumber(&out, c.coco.recall);
      out.append("},\n");
    }
    append_froc(c.froc.sensitivity, "      ");
    out.append(",\n      \"froc_mean_sensitivity\": ");
    AppendJsonNumber(&out, c.froc.mean_sensitivity);
    out.append("\n    }");
  }
  out.append("\n  ]\n}\n");
  return out;
}

}  // namespace mammovl::detection
