#include "train/schedule.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mammovl::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

double WarmupCosine(const WarmupCosineSchedule& config, double base_lr,
                    int64_t first_cycle, int64_t step) {
  // Walk the cycles as CosineAnnealingWarmupRestarts.step() does.
  const int64_t warmup = config.warmup_steps();
  int64_t cycle = 0;
  int64_t cycle_steps = first_cycle;
  int64_t in_cycle = step;
  while (in_cycle >= cycle_steps) {
    in_cycle -= cycle_steps;
    ++cycle;
    cycle_steps =
        static_cast<int64_t>(static_cast<double>(cycle_steps - warmup) *
                             config.cycle_mult()) +
        warmup;
  }
  const double peak =
      base_lr * std::pow(config.gamma(), static_cast<double>(cycle));
  if (in_cycle < warmup) {
    const double start = config.warmup_start_lr();
    return (peak - start) * static_cast<double>(in_cycle) /
               static_cast<double>(warmup) +
           start;
  }
  const double min_lr = config.min_lr();
  return min_lr +
         (peak - min_lr) *
             (1 + std::cos(kPi * static_cast<double>(in_cycle - warmup) /
                           static_cast<double>(cycle_steps - warmup))) /
             2;
}

double Step(const StepSchedule& config, double base_lr, int64_t step) {
  int64_t passed = 0;
  if (config.step_size() > 0) {
    passed = step / config.step_size();
  } else {
    for (int64_t milestone : config.milestones())
      passed += step >= milestone ? 1 : 0;
  }
  return base_lr * std::pow(config.gamma(), static_cast<double>(passed));
}

}  // namespace

absl::Status ValidateScheduleConfig(const ScheduleConfig& config,
                                    int64_t max_steps) {
  switch (config.schedule_case()) {
    case ScheduleConfig::SCHEDULE_NOT_SET:
      return absl::OkStatus();
    case ScheduleConfig::kConstant:
      if (config.constant().warmup_steps() < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("schedule.constant.warmup_steps must be >= 0 (got ",
                         config.constant().warmup_steps(), ")"));
      }
      return absl::OkStatus();
    case ScheduleConfig::kWarmupCosine: {
      const WarmupCosineSchedule& c = config.warmup_cosine();
      const int64_t cycle = c.cycle_steps() > 0 ? c.cycle_steps() : max_steps;
      if (c.cycle_steps() < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "schedule.warmup_cosine.cycle_steps must be >= 0 (got ",
            c.cycle_steps(), ")"));
      }
      if (c.warmup_steps() < 0 || c.warmup_steps() >= cycle) {
        return absl::InvalidArgumentError(
            absl::StrCat("schedule.warmup_cosine.warmup_steps must be in [0, "
                         "cycle length) (got ",
                         c.warmup_steps(), " vs cycle length ", cycle, ")"));
      }
      if (!(c.cycle_mult() >= 1)) {
        return absl::InvalidArgumentError(
            absl::StrCat("schedule.warmup_cosine.cycle_mult must be >= 1 (got ",
                         c.cycle_mult(), ")"));
      }
      if (!(c.gamma() > 0 && c.gamma() <= 1)) {
        return absl::InvalidArgumentError(
            absl::StrCat("schedule.warmup_cosine.gamma must be in (0, 1] (got ",
                         c.gamma(), ")"));
      }
      if (!(c.min_lr() >= 0) || !(c.warmup_start_lr() >= 0)) {
        return absl::InvalidArgumentError(
            "schedule.warmup_cosine.min_lr and warmup_start_lr must be >= 0");
      }
      return absl::OkStatus();
    }
    case ScheduleConfig::kStep: {
      const StepSchedule& s = config.step();
      const bool by_size = s.step_size() > 0;
      const bool by_milestones = s.milestones_size() > 0;
      if (by_size == by_milestones) {
        return absl::InvalidArgumentError(
            "schedule.step: set exactly one of step_size (> 0) and milestones");
      }
      for (int i = 0; i < s.milestones_size(); ++i) {
        if (s.milestones(i) <= 0 ||
            (i > 0 && s.milestones(i) <= s.milestones(i - 1))) {
          return absl::InvalidArgumentError(
              absl::StrCat("schedule.step.milestones must be positive and "
                           "strictly increasing (milestones[",
                           i, "] = ", s.milestones(i), ")"));
        }
      }
      if (!(s.gamma() > 0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "schedule.step.gamma must be > 0 (got ", s.gamma(), ")"));
      }
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("schedule: unknown schedule");
}

absl::StatusOr<LrSchedule> BuildLrSchedule(const ScheduleConfig& config,
                                           double base_lr, int64_t max_steps) {
  if (!(base_lr > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("learning rate must be > 0 (got ", base_lr, ")"));
  }
  MVL_RETURN_IF_ERROR(ValidateScheduleConfig(config, max_steps));
  switch (config.schedule_case()) {
    case ScheduleConfig::SCHEDULE_NOT_SET:
      return LrSchedule([base_lr](int64_t) { return base_lr; });
    case ScheduleConfig::kConstant: {
      const int64_t warmup = config.constant().warmup_steps();
      return LrSchedule([base_lr, warmup](int64_t step) {
        return step < warmup ? base_lr * static_cast<double>(step) /
                                   static_cast<double>(warmup)
                             : base_lr;
      });
    }
    case ScheduleConfig::kWarmupCosine: {
      const WarmupCosineSchedule c = config.warmup_cosine();
      const int64_t first_cycle =
          c.cycle_steps() > 0 ? c.cycle_steps() : max_steps;
      return LrSchedule([c, base_lr, first_cycle](int64_t step) {
        return WarmupCosine(c, base_lr, first_cycle, step);
      });
    }
    case ScheduleConfig::kStep: {
      const StepSchedule s = config.step();
      return LrSchedule(
          [s, base_lr](int64_t step) { return Step(s, base_lr, step); });
    }
  }
  return absl::InvalidArgumentError("schedule: unknown schedule");
}

}  // namespace mammovl::train
