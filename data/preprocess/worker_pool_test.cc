#include "data/preprocess/worker_pool.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

// Runs tasks [0, n) and returns index -> result.
std::map<int64_t, TaskResult> RunAll(WorkerPool& pool, int64_t n) {
  std::map<int64_t, TaskResult> out;
  int64_t next = 0;
  while (next < n || pool.in_flight() > 0) {
    while (next < n && pool.in_flight() < pool.capacity()) {
      EXPECT_THAT(pool.Submit(next++), core::IsOk());
    }
    auto results = pool.Wait(5.0);
    EXPECT_TRUE(results.ok());
    for (TaskResult& r : *results) out[r.index] = std::move(r);
  }
  return out;
}

std::string Square(int64_t i) { return absl::StrCat(i * i); }

TEST(WorkerPoolTest, ThreadsAndProcessesReturnEveryResult) {
  for (const bool isolate : {false, true}) {
    WorkerPoolOptions options;
    options.num_workers = 3;
    options.isolate = isolate;
    MVL_ASSERT_OK_AND_ASSIGN(auto pool, WorkerPool::Create(options, Square));
    EXPECT_EQ(pool->capacity(), 3);
    const auto results = RunAll(*pool, 25);
    ASSERT_EQ(results.size(), 25u);
    for (const auto& [i, r] : results) {
      EXPECT_TRUE(r.completed);
      EXPECT_EQ(r.payload, Square(i));
    }
  }
}

TEST(WorkerPoolTest, ProcessesRunInChildren) {
  WorkerPoolOptions options;
  options.num_workers = 2;
  const pid_t parent = ::getpid();
  MVL_ASSERT_OK_AND_ASSIGN(auto pool, WorkerPool::Create(options, [](int64_t) {
                             return absl::StrCat(::getpid());
                           }));
  for (const auto& [i, r] : RunAll(*pool, 4))
    EXPECT_NE(r.payload, absl::StrCat(parent));
}

TEST(WorkerPoolTest, CrashCostsOnlyItsTask) {
  WorkerPoolOptions options;
  options.num_workers = 2;
  MVL_ASSERT_OK_AND_ASSIGN(auto pool,
                           WorkerPool::Create(options, [](int64_t i) {
                             if (i == 3 || i == 7) ::raise(SIGSEGV);
                             if (i == 5) ::abort();
                             return Square(i);
                           }));
  const auto results = RunAll(*pool, 12);
  ASSERT_EQ(results.size(), 12u);
  for (const auto& [i, r] : results) {
    if (i == 3 || i == 5 || i == 7) {
      // SIGSEGV (11) and SIGABRT (6); under AddressSanitizer its handler
      // turns the SIGSEGV into an abort.
      EXPECT_FALSE(r.completed);
      EXPECT_THAT(r.crash_reason,
                  testing::HasSubstr("worker killed by signal"));
    } else {
      EXPECT_TRUE(r.completed) << i;
      EXPECT_EQ(r.payload, Square(i));
    }
  }
}

TEST(WorkerPoolTest, HungTaskIsKilledAfterTheTimeout) {
  WorkerPoolOptions options;
  options.num_workers = 2;
  options.task_timeout_s = 0.5;
  MVL_ASSERT_OK_AND_ASSIGN(
      auto pool, WorkerPool::Create(options, [](int64_t i) {
        if (i == 1) std::this_thread::sleep_for(std::chrono::seconds(60));
        return Square(i);
      }));
  const auto start = std::chrono::steady_clock::now();
  const auto results = RunAll(*pool, 4);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  ASSERT_EQ(results.size(), 4u);
  EXPECT_FALSE(results.at(1).completed);
  EXPECT_THAT(results.at(1).crash_reason, testing::HasSubstr("timed out"));
  EXPECT_TRUE(results.at(2).completed);
}

TEST(WorkerPoolTest, RejectsBadOptionsAndOverSubmission) {
  WorkerPoolOptions options;
  options.num_workers = 0;
  EXPECT_THAT(WorkerPool::Create(options, Square),
              core::StatusIs(absl::StatusCode::kInvalidArgument));
  options.num_workers = 1;
  options.isolate = false;
  MVL_ASSERT_OK_AND_ASSIGN(
      auto pool, WorkerPool::Create(options, [](int64_t i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return Square(i);
      }));
  MVL_ASSERT_OK(pool->Submit(1));
  EXPECT_THAT(pool->Submit(2),
              core::StatusIs(absl::StatusCode::kFailedPrecondition));
  RunAll(*pool, 0);
}

}  // namespace
}  // namespace mammovl::data
