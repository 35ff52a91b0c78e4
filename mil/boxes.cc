#include "mil/boxes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "opencv2/imgproc.hpp"

namespace mammovl::mil {
namespace {

double Intersection(double ax0, double ay0, double ax1, double ay1, double bx0,
                    double by0, double bx1, double by1) {
  const double w = std::min(ax1, bx1) - std::max(ax0, bx0);
  const double h = std::min(ay1, by1) - std::max(ay0, by0);
  return std::max(0.0, w) * std::max(0.0, h);
}

double Area(const ScoredBox& b) { return (b.x1 - b.x0) * (b.y1 - b.y0); }

double IoU(const ScoredBox& a, const ScoredBox& b) {
  const double inter = Intersection(a.x0, a.y0, a.x1, a.y1, b.x0, b.y0, b.x1, b.y1);
  const double uni = Area(a) + Area(b) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

}  // namespace

absl::Status ValidateBoxExtractionConfig(const BoxExtractionConfig& config) {
  if (!(config.quantile() >= 0 && config.quantile() <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "boxes.quantile must be in [0, 1] (got ", config.quantile(), ")"));
  }
  if (config.min_area() < 0) {
    return absl::InvalidArgumentError("boxes.min_area must be >= 0");
  }
  if (config.max_boxes() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "boxes.max_boxes must be >= 1 (got ", config.max_boxes(), ")"));
  }
  if (!(config.nms_iou() >= 0 && config.nms_iou() <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "boxes.nms_iou must be in [0, 1] (got ", config.nms_iou(), ")"));
  }
  if (!std::isfinite(config.min_value()) || !std::isfinite(config.containment())) {
    return absl::InvalidArgumentError(
        "boxes.min_value and boxes.containment must be finite");
  }
  return absl::OkStatus();
}

absl::Status ValidateBoxMatchingConfig(const BoxMatchingConfig& config) {
  if (config.overlap() == BoxMatchingConfig::OVERLAP_UNSPECIFIED) {
    return absl::InvalidArgumentError("matching.overlap is unset");
  }
  if (!(config.threshold() > 0 && config.threshold() <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "matching.threshold must be in (0, 1] (got ", config.threshold(), ")"));
  }
  return absl::OkStatus();
}

double Quantile(std::vector<double>& values, double q) {
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + lo, values.end());
  const double v_lo = values[lo];
  double v_hi = v_lo;
  if (hi != lo) {
    v_hi = *std::min_element(values.begin() + lo + 1, values.end());
  }
  const double frac = pos - static_cast<double>(lo);
  // NumPy's _lerp: a + (b - a) t, or b - (b - a)(1 - t) for t >= 0.5.
  const double diff = v_hi - v_lo;
  return frac >= 0.5 ? v_hi - diff * (1.0 - frac) : v_lo + diff * frac;
}

std::vector<int> NonMaximumSuppression(const std::vector<ScoredBox>& boxes,
                                       double iou_threshold) {
  std::vector<int> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return boxes[a].score > boxes[b].score;
  });
  std::vector<bool> suppressed(boxes.size(), false);
  std::vector<int> keep;
  for (size_t i = 0; i < order.size(); ++i) {
    const int a = order[i];
    if (suppressed[a]) continue;
    keep.push_back(a);
    for (size_t j = i + 1; j < order.size(); ++j) {
      const int b = order[j];
      if (!suppressed[b] && IoU(boxes[a], boxes[b]) > iou_threshold) {
        suppressed[b] = true;
      }
    }
  }
  return keep;
}

absl::StatusOr<std::vector<ScoredBox>> BoxesFromHeatmap(
    const cv::Mat& heatmap, const BoxExtractionConfig& config) {
  if (absl::Status s = ValidateBoxExtractionConfig(config); !s.ok()) return s;
  if (heatmap.empty() || heatmap.channels() != 1 ||
      (heatmap.depth() != CV_32F && heatmap.depth() != CV_64F)) {
    return absl::InvalidArgumentError(
        "BoxesFromHeatmap: expected a non-empty one-channel CV_32F/CV_64F map");
  }
  cv::Mat map;
  heatmap.convertTo(map, CV_64F);
  std::vector<double> values(map.begin<double>(), map.end<double>());
  const double q = Quantile(values, config.quantile());
  cv::Mat mask = (map > q) & (map > config.min_value());  // CV_8U 0/255
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids,
                                                 /*connectivity=*/4, CV_32S);
  // Component order: raster order of each component's first pixel, as
  // SciPy's label numbers them.
  std::vector<std::pair<int64_t, int>> first_pixel;
  for (int l = 1; l < n; ++l) {
    if (stats.at<int>(l, cv::CC_STAT_AREA) < config.min_area()) continue;
    const int top = stats.at<int>(l, cv::CC_STAT_TOP);
    const int left = stats.at<int>(l, cv::CC_STAT_LEFT);
    const int width = stats.at<int>(l, cv::CC_STAT_WIDTH);
    int64_t first = std::numeric_limits<int64_t>::max();
    const int* row = labels.ptr<int>(top);
    for (int x = left; x < left + width; ++x) {
      if (row[x] == l) {
        first = static_cast<int64_t>(top) * map.cols + x;
        break;
      }
    }
    first_pixel.push_back({first, l});
  }
  std::sort(first_pixel.begin(), first_pixel.end());
  cv::Mat integral;
  cv::integral(map, integral, CV_64F);
  std::vector<ScoredBox> boxes;
  for (const auto& [first, l] : first_pixel) {
    const int x0 = stats.at<int>(l, cv::CC_STAT_LEFT);
    const int y0 = stats.at<int>(l, cv::CC_STAT_TOP);
    const int x1 = x0 + stats.at<int>(l, cv::CC_STAT_WIDTH);
    const int y1 = y0 + stats.at<int>(l, cv::CC_STAT_HEIGHT);
    if (static_cast<int64_t>(x1 - x0) * (y1 - y0) < config.min_area()) continue;
    const double score = integral.at<double>(y1, x1) - integral.at<double>(y0, x1) -
                         integral.at<double>(y1, x0) + integral.at<double>(y0, x0);
    boxes.push_back({static_cast<double>(x0), static_cast<double>(y0),
                     static_cast<double>(x1), static_cast<double>(y1), score});
  }
  std::stable_sort(boxes.begin(), boxes.end(), [](const ScoredBox& a, const ScoredBox& b) {
    return a.score > b.score;
  });
  std::vector<int> keep = NonMaximumSuppression(boxes, config.nms_iou());
  if (static_cast<int>(keep.size()) > config.max_boxes()) keep.resize(config.max_boxes());
  std::vector<ScoredBox> kept;
  for (int k : keep) kept.push_back(boxes[k]);
  if (config.containment() <= 0) return kept;
  return ContainmentFilter(kept, config.containment());
}

std::vector<ScoredBox> ContainmentFilter(const std::vector<ScoredBox>& boxes,
                                         double fraction) {
  std::vector<ScoredBox> out;
  for (size_t i = 0; i < boxes.size(); ++i) {
    bool drop = false;
    for (size_t j = 0; j < boxes.size() && !drop; ++j) {
      if (i == j) continue;
      const double inter =
          Intersection(boxes[i].x0, boxes[i].y0, boxes[i].x1, boxes[i].y1, boxes[j].x0,
                       boxes[j].y0, boxes[j].x1, boxes[j].y1);
      drop = inter >= Area(boxes[i]) * fraction;
    }
    if (!drop) out.push_back(boxes[i]);
  }
  return out;
}

double BoxOverlap(const ScoredBox& a, const BoxF& b,
                  BoxMatchingConfig::Overlap method) {
  const double inter = Intersection(a.x0, a.y0, a.x1, a.y1, b.x0, b.y0, b.x1, b.y1);
  const double area_a = Area(a);
  const double area_b = (b.x1 - b.x0) * (b.y1 - b.y0);
  switch (method) {
    case BoxMatchingConfig::IOBB_DETECTION:
      return area_a > 0 ? std::clamp(inter / area_a, 0.0, 1.0) : 0.0;
    case BoxMatchingConfig::IOBB_ANNOTATION:
      return area_b > 0 ? std::clamp(inter / area_b, 0.0, 1.0) : 0.0;
    default: {
      const double uni = std::max(area_a + area_b - inter,
                                  std::numeric_limits<double>::epsilon());
      return inter / uni;
    }
  }
}

ImageMatch MatchDetections(const std::vector<ScoredBox>& detections,
                           const std::vector<BoxF>& ground_truth,
                           const BoxMatchingConfig& config) {
  ImageMatch match;
  std::vector<bool> matched(ground_truth.size(), false);
  for (const ScoredBox& d : detections) {
    match.scores.push_back(d.score);
    if (ground_truth.empty()) {
      match.true_positive.push_back(0);
      match.best_overlap.push_back(0.0);
      continue;
    }
    size_t best = 0;
    double best_overlap = -1;
    for (size_t g = 0; g < ground_truth.size(); ++g) {
      const double o = BoxOverlap(d, ground_truth[g], config.overlap());
      if (o > best_overlap) {
        best_overlap = o;
        best = g;
      }
    }
    match.best_overlap.push_back(best_overlap);
    if (best_overlap >= config.threshold() && !matched[best]) {
      matched[best] = true;
      match.true_positive.push_back(1);
    } else {
      match.true_positive.push_back(0);
    }
  }
  return match;
}

ImageMatch DetectionAccumulator::AddImage(const std::vector<ScoredBox>& detections,
                                          const std::vector<BoxF>& ground_truth) {
  ImageMatch match = MatchDetections(detections, ground_truth, config_);
  scores_.insert(scores_.end(), match.scores.begin(), match.scores.end());
  true_positive_.insert(true_positive_.end(), match.true_positive.begin(),
                        match.true_positive.end());
  num_ground_truth_ += static_cast<int64_t>(ground_truth.size());
  return match;
}

absl::StatusOr<AveragePrecisionResult> DetectionAccumulator::Result() const {
  if (num_ground_truth_ == 0) {
    return absl::FailedPreconditionError(
        "average precision: no ground-truth boxes were added");
  }
  std::vector<size_t> order(scores_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores_[a] > scores_[b]; });
  AveragePrecisionResult result;
  result.num_detections = static_cast<int64_t>(scores_.size());
  result.num_ground_truth = num_ground_truth_;
  double tp = 0, fp = 0;
  for (size_t i : order) {
    if (true_positive_[i]) {
      tp += 1;
    } else {
      fp += 1;
    }
    result.recall.push_back(tp / static_cast<double>(num_ground_truth_));
    result.precision.push_back(tp / std::max(tp + fp, 0.0009765625));
  }
  result.num_true_positives = static_cast<int64_t>(tp);
  // All-point: envelope from the right, sum at recall changes.
  std::vector<double> mrec = {0.0}, mpre = {0.0};
  mrec.insert(mrec.end(), result.recall.begin(), result.recall.end());
  mpre.insert(mpre.end(), result.precision.begin(), result.precision.end());
  mrec.push_back(1.0);
  mpre.push_back(0.0);
  for (size_t i = mpre.size() - 1; i > 0; --i) mpre[i - 1] = std::max(mpre[i - 1], mpre[i]);
  for (size_t i = 0; i + 1 < mrec.size(); ++i) {
    if (mrec[i + 1] != mrec[i]) result.ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  }
  for (int k = 0; k <= 10; ++k) {
    const double thr = 0.0 + k * 0.1;  // np.arange(0, 1.1, 0.1)
    double best = 0.0;
    for (size_t i = 0; i < result.recall.size(); ++i) {
      if (result.recall[i] >= thr) best = std::max(best, result.precision[i]);
    }
    result.ap_11_point += best;
  }
  result.ap_11_point /= 11.0;
  return result;
}

bool InSizeBin(const BoxF& box, SizeBin bin) {
  const double area = (box.x1 - box.x0) * (box.y1 - box.y0);
  switch (bin) {
    case SizeBin::kSmall: return area < 128.0 * 128.0;
    case SizeBin::kMedium: return area >= 128.0 * 128.0 && area < 256.0 * 256.0;
    case SizeBin::kLarge: return area >= 256.0 * 256.0;
    default: return true;
  }
}

}  // namespace mammovl::mil
