#include "core/progress.h"

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Recorder {
  double now = 100.0;
  std::vector<std::pair<std::string, bool>> lines;
  ProgressOptions Options(ProgressOptions::Mode mode) {
    ProgressOptions o;
    o.unit = "img";
    o.mode = mode;
    o.log_interval_s = 10;
    o.terminal_interval_s = 1;
    o.now_s = [this] { return now; };
    o.sink = [this](const std::string& line, bool final) { lines.emplace_back(line, final); };
    return o;
  }
};

TEST(ProgressTest, LineShowsCountRateAndEta) {
  Recorder r;
  ProgressReporter p("preprocess", 1000, r.Options(ProgressOptions::Mode::kLog));
  r.now += 20;
  p.Add(100);  // 5 img/s, 900 left -> 180 s
  EXPECT_EQ(p.Line(), "preprocess 100/1000 (10.0%) 5 img/s elapsed 20s ETA 3m00s");
}

TEST(ProgressTest, LogModeWritesAtIntervalsAndOnFinish) {
  Recorder r;
  {
    ProgressReporter p("train", 0, r.Options(ProgressOptions::Mode::kLog));
    r.now += 5;
    p.Add();  // before the interval: nothing
    r.now += 6;
    p.Add();  // 11 s: one line
    r.now += 1;
    p.Add();  // too soon again
  }  // destructor finishes
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].first, "train 2 0.182 img/s elapsed 11s");
  EXPECT_FALSE(r.lines[0].second);
  EXPECT_THAT(r.lines[1].first, HasSubstr("train 3 "));
  EXPECT_TRUE(r.lines[1].second);
}

TEST(ProgressTest, TerminalModeRefreshesMoreOften) {
  Recorder r;
  ProgressReporter p("x", 10, r.Options(ProgressOptions::Mode::kTerminal));
  for (int i = 0; i < 5; ++i) {
    r.now += 1.5;
    p.Add();
  }
  p.Finish();
  p.Finish();  // idempotent
  EXPECT_EQ(r.lines.size(), 6u);
  EXPECT_THAT(r.lines.back().first, HasSubstr("5/10 (50.0%)"));
}

TEST(ProgressTest, ConcurrentAddsAreCounted) {
  Recorder r;
  ProgressReporter p("x", 0, r.Options(ProgressOptions::Mode::kLog));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&p] {
      for (int i = 0; i < 1000; ++i) p.Add();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(p.count(), 4000);
}

TEST(ProgressTest, FormatsDurations) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(59.4), "59s");
  EXPECT_EQ(FormatDuration(166), "2m46s");
  EXPECT_EQ(FormatDuration(3900), "1h05m");
  EXPECT_EQ(FormatDuration(-1), "?");
}

}  // namespace
}  // namespace mammovl::core
