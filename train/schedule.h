// Learning-rate schedules: a pure function from the 0-based optimiser step to
// the learning rate used by that step, so the only state to checkpoint is the
// step itself. No LibTorch.
//
//   constant        lr, after an optional linear warm-up from 0.
//   warmup_cosine   `CosineAnnealingWarmupRestarts` as MaMA/MGCA use it:
//                   per cycle a linear warm-up from warmup_start_lr to the
//                   cycle's peak lr * gamma^cycle, then a half cosine down to
//                   min_lr; cycles after the first are (len - warmup) *
//                   cycle_mult + warmup steps long (truncated to an integer).
//                   With warmup_start_lr = min_lr = 0 this is Mammo-CLIP's and
//                   FPN-MIL's LambdaLR "step/W, then cos^2(pi/2 * progress)".
//   step            StepLR (every step_size steps) or MultiStepLR
//                   (milestones): lr * gamma^(number of boundaries passed).
#ifndef MAMMOVL_TRAIN_SCHEDULE_H_
#define MAMMOVL_TRAIN_SCHEDULE_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "train/train_config.pb.h"

namespace mammovl::train {

// Returns the learning rate of optimiser step `step` (0-based).
using LrSchedule = std::function<double(int64_t step)>;

// Checks `config` against the run length; errors are InvalidArgument naming
// the field, e.g. "schedule.warmup_cosine.warmup_steps must be < cycle length".
absl::Status ValidateScheduleConfig(const ScheduleConfig& config,
                                    int64_t max_steps);

// Builds the schedule with peak learning rate `base_lr` (the optimiser's lr)
// for a run of `max_steps` optimiser steps. Validates first.
absl::StatusOr<LrSchedule> BuildLrSchedule(const ScheduleConfig& config,
                                           double base_lr, int64_t max_steps);

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_SCHEDULE_H_
