#include "detection/box_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"

namespace mammovl::detection {
namespace {

std::vector<double> Stds(const BoxCoderConfig& c) {
  if (c.std_size() == 0) return {0.1, 0.1, 0.2, 0.2};
  return {c.std().begin(), c.std().end()};
}

void CheckBoxes(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.dim() >= 1 && t.size(-1) == 4, name,
              ": expected [..., 4] boxes, got ", t.sizes());
}

}  // namespace

at::Tensor BoxIouMatrix(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.dim() == 2 && a.size(1) == 4, "BoxIouMatrix: a must be [N, 4], got ",
              a.sizes());
  TORCH_CHECK(b.dim() == 2 && b.size(1) == 4, "BoxIouMatrix: b must be [M, 4], got ",
              b.sizes());
  const at::Tensor area_b = (b.select(1, 2) - b.select(1, 0)) *
                            (b.select(1, 3) - b.select(1, 1));
  const at::Tensor iw =
      at::clamp_min(at::min(a.slice(1, 2, 3), b.select(1, 2)) -
                        at::max(a.slice(1, 0, 1), b.select(1, 0)),
                    0);
  const at::Tensor ih =
      at::clamp_min(at::min(a.slice(1, 3, 4), b.select(1, 3)) -
                        at::max(a.slice(1, 1, 2), b.select(1, 1)),
                    0);
  const at::Tensor area_a = ((a.select(1, 2) - a.select(1, 0)) *
                             (a.select(1, 3) - a.select(1, 1)))
                                .unsqueeze(1);
  const at::Tensor inter = iw * ih;
  const at::Tensor uni = at::clamp_min(area_a + area_b - inter, 1e-8);
  return inter / uni;
}

absl::Status ValidateBoxCoderConfig(const BoxCoderConfig& config) {
  if (config.std_size() != 0 && config.std_size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "box_coder.std must have 4 values (got ", config.std_size(), ")"));
  }
  for (int i = 0; i < config.std_size(); ++i) {
    if (!(config.std(i) > 0) || !std::isfinite(config.std(i))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "box_coder.std[", i, "] must be > 0 (got ", config.std(i), ")"));
    }
  }
  if (std::isnan(config.max_log_scale())) {
    return absl::InvalidArgumentError("box_coder.max_log_scale is NaN");
  }
  return absl::OkStatus();
}

at::Tensor EncodeBoxes(const at::Tensor& anchors, const at::Tensor& gt,
                       const BoxCoderConfig& config) {
  CheckBoxes(anchors, "EncodeBoxes anchors");
  CheckBoxes(gt, "EncodeBoxes gt");
  const std::vector<double> std = Stds(config);
  const at::Tensor aw = anchors.select(-1, 2) - anchors.select(-1, 0);
  const at::Tensor ah = anchors.select(-1, 3) - anchors.select(-1, 1);
  const at::Tensor ax = anchors.select(-1, 0) + 0.5 * aw;
  const at::Tensor ay = anchors.select(-1, 1) + 0.5 * ah;
  at::Tensor gw = gt.select(-1, 2) - gt.select(-1, 0);
  at::Tensor gh = gt.select(-1, 3) - gt.select(-1, 1);
  const at::Tensor gx = gt.select(-1, 0) + 0.5 * gw;
  const at::Tensor gy = gt.select(-1, 1) + 0.5 * gh;
  gw = at::clamp_min(gw, 1);
  gh = at::clamp_min(gh, 1);
  const at::Tensor t = at::stack(
      {(gx - ax) / aw, (gy - ay) / ah, at::log(gw / aw), at::log(gh / ah)}, -1);
  const at::Tensor divisor =
      at::tensor({std[0], std[1], std[2], std[3]}, t.options());
  return t / divisor;
}

at::Tensor DecodeBoxes(const at::Tensor& anchors, const at::Tensor& deltas,
                       const BoxCoderConfig& config) {
  CheckBoxes(anchors, "DecodeBoxes anchors");
  CheckBoxes(deltas, "DecodeBoxes deltas");
  const std::vector<double> std = Stds(config);
  const at::Tensor w = anchors.select(-1, 2) - anchors.select(-1, 0);
  const at::Tensor h = anchors.select(-1, 3) - anchors.select(-1, 1);
  const at::Tensor cx = anchors.select(-1, 0) + 0.5 * w;
  const at::Tensor cy = anchors.select(-1, 1) + 0.5 * h;
  const at::Tensor dx = deltas.select(-1, 0) * std[0];
  const at::Tensor dy = deltas.select(-1, 1) * std[1];
  at::Tensor dw = deltas.select(-1, 2) * std[2];
  at::Tensor dh = deltas.select(-1, 3) * std[3];
  if (config.max_log_scale() > 0) {
    dw = at::clamp_max(dw, config.max_log_scale());
    dh = at::clamp_max(dh, config.max_log_scale());
  }
  const at::Tensor px = cx + dx * w;
  const at::Tensor py = cy + dy * h;
  const at::Tensor pw = at::exp(dw) * w;
  const at::Tensor ph = at::exp(dh) * h;
  return at::stack({px - 0.5 * pw, py - 0.5 * ph, px + 0.5 * pw, py + 0.5 * ph},
                   -1);
}

at::Tensor ClipBoxes(const at::Tensor& boxes, double height, double width) {
  CheckBoxes(boxes, "ClipBoxes");
  return at::stack({boxes.select(-1, 0).clamp(0, width),
                    boxes.select(-1, 1).clamp(0, height),
                    boxes.select(-1, 2).clamp(0, width),
                    boxes.select(-1, 3).clamp(0, height)},
                   -1);
}

std::vector<int64_t> GreedyNms(const float* boxes,
                               const std::vector<int64_t>& order,
                               float iou_threshold) {
  const size_t n = order.size();
  std::vector<float> area(n);
  for (size_t k = 0; k < n; ++k) {
    const float* b = boxes + 4 * order[k];
    area[k] = (b[2] - b[0]) * (b[3] - b[1]);
  }
  std::vector<char> suppressed(n, 0);
  std::vector<int64_t> keep;
  for (size_t i = 0; i < n; ++i) {
    if (suppressed[i]) continue;
    keep.push_back(order[i]);
    const float* bi = boxes + 4 * order[i];
    for (size_t j = i + 1; j < n; ++j) {
      if (suppressed[j]) continue;
      const float* bj = boxes + 4 * order[j];
      const float w = std::max(0.0f, std::min(bi[2], bj[2]) - std::max(bi[0], bj[0]));
      const float h = std::max(0.0f, std::min(bi[3], bj[3]) - std::max(bi[1], bj[1]));
      const float inter = w * h;
      const float ovr = inter / (area[i] + area[j] - inter);
      if (ovr > iou_threshold) suppressed[j] = 1;
    }
  }
  return keep;
}

namespace {

std::vector<int64_t> DescendingOrder(const float* scores, int64_t n) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  return order;
}

at::Tensor ToTensor(const std::vector<int64_t>& v) {
  at::Tensor t = at::empty({static_cast<int64_t>(v.size())}, at::kLong);
  std::copy(v.begin(), v.end(), t.data_ptr<int64_t>());
  return t;
}

void CheckNmsInputs(const at::Tensor& boxes, const at::Tensor& scores) {
  TORCH_CHECK(boxes.dim() == 2 && boxes.size(1) == 4,
              "Nms: boxes must be [N, 4], got ", boxes.sizes());
  TORCH_CHECK(scores.dim() == 1 && scores.size(0) == boxes.size(0),
              "Nms: scores must be [N] with N = ", boxes.size(0), ", got ",
              scores.sizes());
}

}  // namespace

at::Tensor Nms(const at::Tensor& boxes, const at::Tensor& scores,
               double iou_threshold) {
  CheckNmsInputs(boxes, scores);
  const at::Tensor b = boxes.to(at::kFloat).contiguous();
  const at::Tensor s = scores.to(at::kFloat).contiguous();
  const std::vector<int64_t> order = DescendingOrder(s.data_ptr<float>(), s.size(0));
  return ToTensor(GreedyNms(b.data_ptr<float>(), order,
                            static_cast<float>(iou_threshold)));
}

at::Tensor BatchedNms(const at::Tensor& boxes, const at::Tensor& scores,
                      const at::Tensor& labels, double iou_threshold) {
  CheckNmsInputs(boxes, scores);
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == boxes.size(0),
              "BatchedNms: labels must be [N], got ", labels.sizes());
  const at::Tensor b = boxes.to(at::kFloat).contiguous();
  const at::Tensor s = scores.to(at::kFloat).contiguous();
  const at::Tensor l = labels.to(at::kLong).contiguous();
  const float* sp = s.data_ptr<float>();
  const int64_t* lp = l.data_ptr<int64_t>();
  const std::vector<int64_t> order = DescendingOrder(sp, s.size(0));
  // Split the global order by label: each label's candidates keep their
  // relative (descending score, stable) order.
  std::vector<int64_t> label_values(lp, lp + l.size(0));
  std::sort(label_values.begin(), label_values.end());
  label_values.erase(std::unique(label_values.begin(), label_values.end()),
                     label_values.end());
  std::vector<char> kept(s.size(0), 0);
  for (int64_t label : label_values) {
    std::vector<int64_t> sub;
    for (int64_t i : order) {
      if (lp[i] == label) sub.push_back(i);
    }
    for (int64_t i : GreedyNms(b.data_ptr<float>(), sub,
                               static_cast<float>(iou_threshold))) {
      kept[i] = 1;
    }
  }
  std::vector<int64_t> keep;
  for (int64_t i : order) {
    if (kept[i]) keep.push_back(i);
  }
  return ToTensor(keep);
}

}  // namespace mammovl::detection
