#include "train/schedule.h"

#include <string>
#include <vector>

#include "core/npy.h"
#include "core/proto_config.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::train {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

std::vector<double> Golden(const std::string& name) {
  auto array = core::ReadNpy("train/testdata/optim/" + name + ".npy");
  EXPECT_TRUE(array.ok()) << array.status();
  if (!array.ok()) return {};
  return core::NpyValues<double>(*array).value_or(std::vector<double>());
}

ScheduleConfig Parse(const std::string& text) {
  ScheduleConfig config;
  EXPECT_TRUE(core::ParseTextProto(text, "test", &config).ok()) << text;
  return config;
}

void ExpectMatches(const LrSchedule& schedule,
                   const std::vector<double>& golden, double rel_tol) {
  ASSERT_FALSE(golden.empty());
  for (size_t step = 0; step < golden.size(); ++step) {
    EXPECT_NEAR(schedule(step), golden[step],
                rel_tol * std::abs(golden[step]) + 1e-18)
        << "step " << step;
  }
}

TEST(ScheduleTest, WarmupCosineWithRestartsMatchesReference) {
  MVL_ASSERT_OK_AND_ASSIGN(LrSchedule schedule,
                           BuildLrSchedule(Parse(R"pb(warmup_cosine {
                                                        warmup_steps: 5
                                                        warmup_start_lr: 1e-5
                                                        min_lr: 1e-5
                                                        cycle_steps: 20
                                                        gamma: 0.5
                                                      })pb"),
                                           1e-3, 50));
  ExpectMatches(schedule, Golden("sched_restarts"), 1e-14);
  // Spot checks of the formula: start of warm-up, peak, second cycle's peak.
  EXPECT_DOUBLE_EQ(schedule(0), 1e-5);
  EXPECT_DOUBLE_EQ(schedule(5), 1e-3);
  EXPECT_DOUBLE_EQ(schedule(25), 5e-4);
}

TEST(ScheduleTest, WarmupCosineWithGrowingCyclesMatchesReference) {
  MVL_ASSERT_OK_AND_ASSIGN(LrSchedule schedule,
                           BuildLrSchedule(Parse(R"pb(warmup_cosine {
                                                        warmup_steps: 2
                                                        warmup_start_lr: 1e-6
                                                        min_lr: 1e-6
                                                        cycle_steps: 10
                                                        cycle_mult: 2
                                                        gamma: 0.8
                                                      })pb"),
                                           1e-3, 60));
  ExpectMatches(schedule, Golden("sched_restarts_mult"), 1e-14);
}

TEST(ScheduleTest, MammoClipLambdaIsWarmupCosineFromZero) {
  // Mammo-CLIP's LambdaLR: step/W, then cos^2(pi/2 * (step-W)/(T-W)).
  MVL_ASSERT_OK_AND_ASSIGN(
      LrSchedule schedule,
      BuildLrSchedule(Parse("warmup_cosine { warmup_steps: 4 }"), 5e-5,
                      /*max_steps=*/20));
  ExpectMatches(schedule, Golden("sched_mammoclip"), 1e-12);
  EXPECT_EQ(schedule(0), 0.0);  // the first step runs at lr 0, as the reference
}

TEST(ScheduleTest, StepAndMultiStepMatchTorch) {
  MVL_ASSERT_OK_AND_ASSIGN(
      LrSchedule step,
      BuildLrSchedule(Parse("step { step_size: 7 gamma: 0.5 }"), 0.1, 25));
  ExpectMatches(step, Golden("sched_steplr"), 1e-15);
  MVL_ASSERT_OK_AND_ASSIGN(
      LrSchedule multi,
      BuildLrSchedule(Parse("step { milestones: [3, 10, 11] gamma: 0.1 }"), 0.1,
                      15));
  ExpectMatches(multi, Golden("sched_multistep"), 1e-15);
}

TEST(ScheduleTest, ConstantWithWarmup) {
  MVL_ASSERT_OK_AND_ASSIGN(LrSchedule unset,
                           BuildLrSchedule(ScheduleConfig(), 0.5, 10));
  EXPECT_EQ(unset(0), 0.5);
  EXPECT_EQ(unset(9), 0.5);
  MVL_ASSERT_OK_AND_ASSIGN(
      LrSchedule warm,
      BuildLrSchedule(Parse("constant { warmup_steps: 4 }"), 0.5, 10));
  EXPECT_EQ(warm(0), 0.0);
  EXPECT_EQ(warm(2), 0.25);
  EXPECT_EQ(warm(4), 0.5);
}

TEST(ScheduleTest, RejectsBadConfigsNamingTheField) {
  EXPECT_THAT(
      BuildLrSchedule(Parse("warmup_cosine { warmup_steps: 100 }"), 1e-3, 100),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("schedule.warmup_cosine.warmup_steps")));
  EXPECT_THAT(
      BuildLrSchedule(Parse("warmup_cosine { cycle_mult: 0.5 }"), 1e-3, 100),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cycle_mult")));
  EXPECT_THAT(
      BuildLrSchedule(Parse("step { gamma: 0.5 }"), 1e-3, 100),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one")));
  EXPECT_THAT(
      BuildLrSchedule(Parse("step { milestones: [5, 5] }"), 1e-3, 100),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("milestones[1]")));
  EXPECT_THAT(
      BuildLrSchedule(ScheduleConfig(), 0, 100),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("learning rate")));
}

}  // namespace
}  // namespace mammovl::train
