// Tensor operations on boxes for RetinaNet (shared/reference/mammoclip.md
// §8.4): the IoU matrix, anchor-relative encoding and decoding, clipping to
// the image, and greedy non-maximum suppression (torchvision's `nms` and
// `batched_nms`). Boxes are [N, 4] float32 (x1, y1, x2, y2) on the CPU
// unless stated. These functions check shapes with TORCH_CHECK; callers
// reach them through a Status boundary (core/torch_status.h).
#ifndef MAMMOVL_DETECTION_BOX_OPS_H_
#define MAMMOVL_DETECTION_BOX_OPS_H_

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "detection/detection_config.pb.h"

namespace mammovl::detection {

// Returns the [N, M] IoU of every box in `a` [N, 4] with every box in `b`
// [M, 4], as the reference's `calc_iou`: the union is clamped at 1e-8, so
// degenerate boxes give 0 where torchvision's `box_iou` gives NaN; otherwise
// the two agree.
at::Tensor BoxIouMatrix(const at::Tensor& a, const at::Tensor& b);

// InvalidArgument naming the field: `std` not 4 positive values, NaN clamp.
absl::Status ValidateBoxCoderConfig(const BoxCoderConfig& config);

// Returns the regression targets [N, 4] of boxes `gt` [N, 4] relative to
// `anchors` [N, 4] (row i against row i): (dx, dy, dw, dh) / std, ground
// truth width and height clamped >= 1 before the log.
at::Tensor EncodeBoxes(const at::Tensor& anchors, const at::Tensor& gt,
                       const BoxCoderConfig& config);

// Inverse of EncodeBoxes: `deltas` [..., N, 4] against `anchors` [N, 4]
// gives boxes [..., N, 4]. dw and dh are clamped at `max_log_scale`.
at::Tensor DecodeBoxes(const at::Tensor& anchors, const at::Tensor& deltas,
                       const BoxCoderConfig& config);

// Clamps x to [0, width] and y to [0, height]; `boxes` [..., 4].
at::Tensor ClipBoxes(const at::Tensor& boxes, double height, double width);

// Greedy NMS as torchvision's CPU kernel: boxes in descending score order
// (stable on ties); a box is suppressed when its IoU with a kept box is
// > `iou_threshold` (computed in float32; zero-area pairs give NaN and are
// never suppressed). Returns the kept indices [K] int64 in descending score
// order. `boxes` [N, 4], `scores` [N], both float32.
at::Tensor Nms(const at::Tensor& boxes, const at::Tensor& scores,
               double iou_threshold);

// NMS within each label of `labels` [N] int64; the kept indices of all
// labels in descending score order (ties: lower index first), which is what
// torchvision's `batched_nms` returns.
at::Tensor BatchedNms(const at::Tensor& boxes, const at::Tensor& scores,
                      const at::Tensor& labels, double iou_threshold);

// Index-based core of Nms over raw arrays: `boxes` holds 4 * n floats,
// `order` the candidate indices already in processing order.
std::vector<int64_t> GreedyNms(const float* boxes,
                               const std::vector<int64_t>& order,
                               float iou_threshold);

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_BOX_OPS_H_
