#include "detection/postprocess.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "detection/box_ops.h"

namespace mammovl::detection {

absl::Status ValidatePostprocessConfig(const PostprocessConfig& config) {
  if (!std::isfinite(config.score_threshold())) {
    return absl::InvalidArgumentError("postprocess.score_threshold must be finite");
  }
  const double iou = config.nms_iou_threshold();
  if (!(iou > 0 && iou <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "postprocess.nms_iou_threshold must be in (0, 1] (got ", iou, ")"));
  }
  if (config.nms_mode() == PostprocessConfig::NMS_MODE_UNSPECIFIED) {
    return absl::InvalidArgumentError("postprocess.nms_mode is unset");
  }
  if (config.pre_nms_top_k() < 0 || config.max_detections() < 0) {
    return absl::InvalidArgumentError(
        "postprocess.pre_nms_top_k and max_detections must be >= 0");
  }
  return absl::OkStatus();
}

namespace {

// Keeps the `k` highest of `scores` (stable on ties); returns positions into
// `scores`, in their original order.
at::Tensor TopK(const at::Tensor& scores, int64_t k) {
  if (k <= 0 || scores.size(0) <= k) return at::arange(scores.size(0), at::kLong);
  const at::Tensor order =
      std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  return std::get<0>(order.slice(0, 0, k).sort());
}

ImageDetections ToDetections(const at::Tensor& boxes, const at::Tensor& scores,
                             const at::Tensor& labels, int64_t limit) {
  ImageDetections out;
  int64_t n = scores.size(0);
  if (limit > 0) n = std::min(n, limit);
  const at::Tensor b = boxes.to(at::kFloat).contiguous();
  const at::Tensor s = scores.to(at::kFloat).contiguous();
  const at::Tensor l = labels.to(at::kLong).contiguous();
  const float* bp = b.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    out.boxes.push_back({bp[4 * i], bp[4 * i + 1], bp[4 * i + 2], bp[4 * i + 3]});
    out.scores.push_back(s.data_ptr<float>()[i]);
    out.labels.push_back(static_cast<int>(l.data_ptr<int64_t>()[i]));
  }
  return out;
}

}  // namespace

absl::StatusOr<ImageDetections> PostprocessDetections(
    const at::Tensor& classification, const at::Tensor& regression,
    const at::Tensor& anchors, int64_t height, int64_t width,
    const BoxCoderConfig& coder_config, const PostprocessConfig& config) {
  MVL_RETURN_IF_ERROR(ValidatePostprocessConfig(config));
  MVL_RETURN_IF_ERROR(ValidateBoxCoderConfig(coder_config));
  if (classification.dim() != 2 || regression.dim() != 2 ||
      regression.size(1) != 4 || anchors.dim() != 2 || anchors.size(1) != 4 ||
      classification.size(0) != regression.size(0) ||
      classification.size(0) != anchors.size(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "postprocess: expected classification [A, K], regression [A, 4], "
        "anchors [A, 4]; got ",
        c10::str(classification.sizes()), ", ", c10::str(regression.sizes()),
        ", ", c10::str(anchors.sizes())));
  }
  if (height < 1 || width < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "postprocess: image size must be positive (got ", height, "x", width, ")"));
  }
  return core::RunTorch("postprocess", [&]() -> ImageDetections {
    at::NoGradGuard no_grad;
    const at::Tensor cls = classification.to(at::kFloat);
    const at::Tensor boxes = ClipBoxes(
        DecodeBoxes(anchors.to(at::kFloat), regression.to(at::kFloat), coder_config),
        static_cast<double>(height), static_cast<double>(width));
    const double thr = config.score_threshold();
    const int64_t limit = config.max_detections();
    if (config.nms_mode() == PostprocessConfig::CLASS_AGNOSTIC) {
      auto [scores, labels] = cls.max(/*dim=*/1);
      at::Tensor idx = scores.gt(thr).nonzero().squeeze(1);
      idx = idx.index_select(0, TopK(scores.index_select(0, idx), config.pre_nms_top_k()));
      const at::Tensor b = boxes.index_select(0, idx);
      const at::Tensor s = scores.index_select(0, idx);
      const at::Tensor keep = Nms(b, s, config.nms_iou_threshold());
      return ToDetections(b.index_select(0, keep), s.index_select(0, keep),
                          labels.index_select(0, idx).index_select(0, keep), limit);
    }
    // Per class: candidate (anchor, class) pairs above the threshold.
    const at::Tensor pairs = cls.gt(thr).nonzero();  // [P, 2]
    const at::Tensor anchor_idx = pairs.select(1, 0);
    const at::Tensor class_idx = pairs.select(1, 1);
    at::Tensor scores = cls.index({anchor_idx, class_idx});
    const at::Tensor top = TopK(scores, config.pre_nms_top_k());
    const at::Tensor a = anchor_idx.index_select(0, top);
    const at::Tensor l = class_idx.index_select(0, top);
    scores = scores.index_select(0, top);
    const at::Tensor b = boxes.index_select(0, a);
    const at::Tensor keep = BatchedNms(b, scores, l, config.nms_iou_threshold());
    return ToDetections(b.index_select(0, keep), scores.index_select(0, keep),
                        l.index_select(0, keep), limit);
  });
}

}  // namespace mammovl::detection
