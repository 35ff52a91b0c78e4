#include "train/metrics_log.h"

#include <cmath>
#include <limits>
#include <string>

#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::train {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string RunDir(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string Read(const std::string& path) {
  return core::ReadFileToString(path).value_or("?");
}

TEST(MetricsJsonTest, RoundTripsIncludingEscapesAndNonFinite) {
  MetricsRow row{
      12,
      {{"loss", 0.5}, {"odd \"name\"\\x", -1.25e-7}, {"bad", std::nan("")}}};
  const std::string line = MetricsRowToJson(row);
  EXPECT_EQ(
      line,
      R"({"step": 12, "loss": 0.5, "odd \"name\"\\x": -1.25e-07, "bad": null})");
  MVL_ASSERT_OK_AND_ASSIGN(MetricsRow parsed, ParseMetricsJson(line));
  EXPECT_EQ(parsed.step, 12);
  ASSERT_EQ(parsed.values.size(), 3u);
  EXPECT_EQ(parsed.values[1].first, "odd \"name\"\\x");
  EXPECT_EQ(parsed.values[1].second, -1.25e-7);
  EXPECT_TRUE(std::isnan(parsed.values[2].second));
  EXPECT_THAT(ParseMetricsJson(R"({"step": 1, "loss": 0.)"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseMetricsJson(R"({"loss": 1})"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MetricsLogTest, WritesJsonlCsvAndTensorBoard) {
  const std::string dir = RunDir("metrics_fresh");
  MVL_ASSERT_OK_AND_ASSIGN(auto log,
                           MetricsLog::Open(dir, MetricsLog::Options()));
  MVL_ASSERT_OK(log->Log(10, {{"loss", 2.0}, {"lr", 1e-4}}));
  MVL_ASSERT_OK(log->Log(20, {{"loss", 1.5}, {"lr", 2e-4}}));
  // A metric that appears later widens the CSV.
  MVL_ASSERT_OK(log->Log(30, {{"loss", 1.0}, {"lr", 2e-4}, {"loss_ii", 0.25}}));
  MVL_ASSERT_OK(log->LogText("config", "max_steps: 30", 0));
  EXPECT_EQ(Read(log->jsonl_path()),
            "{\"step\": 10, \"loss\": 2, \"lr\": 0.0001}\n"
            "{\"step\": 20, \"loss\": 1.5, \"lr\": 0.0002}\n"
            "{\"step\": 30, \"loss\": 1, \"lr\": 0.0002, \"loss_ii\": 0.25}\n");
  EXPECT_EQ(Read(log->csv_path()),
            "step,loss,lr,loss_ii\n"
            "10,2,0.0001,\n"
            "20,1.5,0.0002,\n"
            "30,1,0.0002,0.25\n");
  MVL_ASSERT_OK_AND_ASSIGN(auto scalars, ReadScalars(log->tensorboard_path()));
  ASSERT_EQ(scalars.size(), 7u);
  EXPECT_EQ(scalars[6].tag, "loss_ii");
  EXPECT_EQ(scalars[6].step, 30);
  EXPECT_EQ(scalars[6].value, 0.25f);
  const MetricsSeries series = log->Series();
  EXPECT_THAT(series.at("loss"),
              ElementsAre(Pair(10, 2.0), Pair(20, 1.5), Pair(30, 1.0)));
  EXPECT_THAT(series.at("loss_ii"), ElementsAre(Pair(30, 0.25)));
}

TEST(MetricsLogTest, ResumeDropsRowsAfterTheCheckpointAndAppends) {
  const std::string dir = RunDir("metrics_resume");
  {
    MVL_ASSERT_OK_AND_ASSIGN(auto log,
                             MetricsLog::Open(dir, MetricsLog::Options()));
    for (int step = 1; step <= 5; ++step)
      MVL_ASSERT_OK(log->Log(step, {{"loss", 1.0 * step}}));
  }
  // A crash left half a line behind.
  {
    std::string text = Read(dir + "/metrics.jsonl") + "{\"step\": 6, \"lo";
    MVL_ASSERT_OK(core::WriteFileAtomically(dir + "/metrics.jsonl", text));
  }
  MVL_ASSERT_OK_AND_ASSIGN(
      auto log, MetricsLog::Open(dir, MetricsLog::Options(), /*resume=*/3));
  EXPECT_EQ(log->rows().size(), 3u);
  MVL_ASSERT_OK(log->Log(4, {{"loss", 40.0}}));
  EXPECT_EQ(Read(log->jsonl_path()),
            "{\"step\": 1, \"loss\": 1}\n{\"step\": 2, \"loss\": 2}\n"
            "{\"step\": 3, \"loss\": 3}\n{\"step\": 4, \"loss\": 40}\n");
  EXPECT_EQ(Read(log->csv_path()), "step,loss\n1,1\n2,2\n3,3\n4,40\n");
  EXPECT_THAT(
      log->Series().at("loss"),
      ElementsAre(Pair(1, 1.0), Pair(2, 2.0), Pair(3, 3.0), Pair(4, 40.0)));
  // The new event file tells TensorBoard to drop old events from step 4 on.
  MVL_ASSERT_OK_AND_ASSIGN(EventFile events,
                           ReadEventFile(log->tensorboard_path()));
  ASSERT_GE(events.events.size(), 2u);
  EXPECT_EQ(events.events[1].session_log().status(),
            tensorboard::SessionLog::START);
  EXPECT_EQ(events.events[1].step(), 4);
}

TEST(MetricsLogTest, SinksCanBeTurnedOff) {
  const std::string dir = RunDir("metrics_off");
  MetricsLog::Options options;
  options.csv = false;
  options.tensorboard = false;
  MVL_ASSERT_OK_AND_ASSIGN(auto log, MetricsLog::Open(dir, options));
  MVL_ASSERT_OK(log->Log(1, {{"loss", 1.0}}));
  EXPECT_TRUE(core::PathExists(log->jsonl_path()));
  EXPECT_FALSE(core::PathExists(log->csv_path()));
  EXPECT_EQ(log->tensorboard_path(), "");
  EXPECT_FALSE(core::PathExists(dir + "/tensorboard"));
}

}  // namespace
}  // namespace mammovl::train
