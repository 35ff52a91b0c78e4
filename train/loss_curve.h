// The loss-curve PNG of a training run, drawn by core/plot from the series
// the trainer logged. Pass `WriteLossCurve` as `TrainerOptions::on_finish`.
// No LibTorch.
#ifndef MAMMOVL_TRAIN_LOSS_CURVE_H_
#define MAMMOVL_TRAIN_LOSS_CURVE_H_

#include <string>

#include "absl/status/status.h"
#include "train/metrics_log.h"

namespace mammovl::train {

// Writes `<run_dir>/loss_curve.png`: every series whose name is "loss" or
// starts with "loss" (per-term losses such as "loss_i2t"), against the step,
// with TensorBoard-style smoothing when there are many points. Non-finite
// points (from skipped steps) are left out. InvalidArgument if there is no
// finite loss point at all.
absl::Status WriteLossCurve(const MetricsSeries& series,
                            const std::string& run_dir);

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_LOSS_CURVE_H_
