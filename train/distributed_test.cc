#include "train/distributed.h"

#include <ATen/ATen.h>
#include <glog/logging.h>
#include <signal.h>
#include <stdlib.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "train/testing/subprocess.h"

namespace mammovl::train {
namespace {

using ::mammovl::core::StatusIs;
using testing::Child;
using testing::ChildResult;
using ::testing::HasSubstr;

constexpr char kWorker[] = "train/distributed_test_worker";
constexpr const char* kTorchrunVars[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK",
                                         "MASTER_ADDR", "MASTER_PORT"};

class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::string>& vars) {
    for (const char* name : kTorchrunVars) ::unsetenv(name);
    for (const auto& [k, v] : vars) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const char* name : kTorchrunVars) ::unsetenv(name);
  }
};

TEST(DistributedEnvTest, NoVariablesMeansWorldOfOne) {
  ScopedEnv env(std::map<std::string, std::string>{});
  MVL_ASSERT_OK_AND_ASSIGN(DistributedEnv parsed,
                           DistributedEnvFromEnvironment());
  EXPECT_EQ(parsed.rank, 0);
  EXPECT_EQ(parsed.world_size, 1);
}

TEST(DistributedEnvTest, ReadsTorchrunVariables) {
  ScopedEnv env({{"RANK", "3"},
                 {"WORLD_SIZE", "4"},
                 {"LOCAL_RANK", "1"},
                 {"MASTER_ADDR", "node7"},
                 {"MASTER_PORT", "29501"}});
  MVL_ASSERT_OK_AND_ASSIGN(DistributedEnv parsed,
                           DistributedEnvFromEnvironment());
  EXPECT_EQ(parsed.rank, 3);
  EXPECT_EQ(parsed.world_size, 4);
  EXPECT_EQ(parsed.local_rank, 1);
  EXPECT_EQ(parsed.master_addr, "node7");
  EXPECT_EQ(parsed.master_port, 29501);
}

TEST(DistributedEnvTest, RejectsBadValuesNamingTheVariable) {
  {
    ScopedEnv env({{"RANK", "4"}, {"WORLD_SIZE", "4"}});
    EXPECT_THAT(
        DistributedEnvFromEnvironment(),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("RANK='4'")));
  }
  {
    ScopedEnv env({{"RANK", "0"}, {"WORLD_SIZE", "two"}});
    EXPECT_THAT(
        DistributedEnvFromEnvironment(),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("WORLD_SIZE")));
  }
  {
    ScopedEnv env(
        {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "29500"}});
    EXPECT_THAT(
        DistributedEnvFromEnvironment(),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("MASTER_ADDR")));
  }
  {
    ScopedEnv env({{"RANK", "1"},
                   {"WORLD_SIZE", "2"},
                   {"MASTER_ADDR", "h"},
                   {"MASTER_PORT", "70000"}});
    EXPECT_THAT(
        DistributedEnvFromEnvironment(),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("MASTER_PORT")));
  }
  {
    ScopedEnv env(std::map<std::string, std::string>{{"RANK", "1"}});
    EXPECT_THAT(
        DistributedEnvFromEnvironment(),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("WORLD_SIZE")));
  }
}

TEST(CommunicatorTest, WorldOfOneNeedsNoRendezvous) {
  DistributedEnv env;  // world of one, no master address
  MVL_ASSERT_OK_AND_ASSIGN(auto comm,
                           CreateCommunicator(DistributedConfig(), env));
  EXPECT_EQ(comm->world_size(), 1);
  EXPECT_TRUE(comm->is_main());
  EXPECT_EQ(comm->backend_name(), "local");
  std::vector<at::Tensor> tensors = {at::ones({3})};
  MVL_EXPECT_OK(comm->AllReduceSum(tensors));
  EXPECT_TRUE(at::equal(tensors[0], at::ones({3})));
  MVL_EXPECT_OK(comm->Barrier());
  MVL_EXPECT_OK(comm->Finalize());
}

TEST(CommunicatorTest, ValidatesConfig) {
  DistributedConfig config;
  config.set_timeout_s(0);
  EXPECT_THAT(CreateCommunicator(config, DistributedEnv()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("distributed.timeout_s")));
  config = DistributedConfig();
  config.set_bucket_mb(-1);
  EXPECT_THAT(ValidateDistributedConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("distributed.bucket_mb")));
}

TEST(CommunicatorTest, NcclNeedsCudaBuild) {
  DistributedConfig config;
  config.set_backend(DistributedConfig::NCCL);
  DistributedEnv env;
  env.world_size = 2;
  env.master_addr = "127.0.0.1";
  env.master_port = 1;
  EXPECT_THAT(CreateCommunicator(config, env),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("CUDA")));
}

TEST(AllGatherWithGradTest, WorldOfOneIsIdentityForValuesAndGradients) {
  auto comm = CreateLocalCommunicator();
  at::Tensor x =
      at::arange(6, at::kFloat).reshape({3, 2}).set_requires_grad(true);
  at::Tensor y = AllGatherWithGrad(*comm, x);
  (y * y).sum().backward();
  EXPECT_TRUE(at::equal(y, x));
  EXPECT_TRUE(at::allclose(x.grad(), 2 * x.detach()));
}

TEST(AllReduceGradientsTest, WorldOfOneLeavesGradientsAlone) {
  auto comm = CreateLocalCommunicator();
  at::Tensor p = at::ones({2}).set_requires_grad(true);
  (p * 3).sum().backward();
  MVL_ASSERT_OK(AllReduceGradients(*comm, {p}, 1 << 20));
  EXPECT_TRUE(at::equal(p.grad(), at::full({2}, 3.0)));
}

// A communicator that only claims a rank, for helpers that look at it.
class FakeRank : public Communicator {
 public:
  explicit FakeRank(int rank) : rank_(rank) {}
  int rank() const override { return rank_; }
  int world_size() const override { return 2; }
  std::string backend_name() const override { return "fake"; }
  absl::Status AllReduceSum(std::vector<at::Tensor>&) override {
    return absl::OkStatus();
  }
  absl::StatusOr<at::Tensor> AllGather(const at::Tensor& x) override {
    return at::cat({x, x});
  }
  absl::Status Broadcast(std::vector<at::Tensor>& tensors, int) override {
    if (rank_ != 0) {
      // What rank 0 "sent": an error code.
      tensors[0].fill_(static_cast<int64_t>(absl::StatusCode::kDataLoss));
    }
    return absl::OkStatus();
  }
  absl::Status Barrier() override { return absl::OkStatus(); }
  absl::Status Finalize() override { return absl::OkStatus(); }
  absl::Status health() const override { return absl::OkStatus(); }

 private:
  int rank_;
};

TEST(RankHelpersTest, OnlyTheMainRankLogsInfo) {
  const int saved = FLAGS_minloglevel;
  LogInfoOnlyOnMainRank(FakeRank(0));
  EXPECT_EQ(FLAGS_minloglevel, saved);
  LogInfoOnlyOnMainRank(FakeRank(1));
  EXPECT_EQ(FLAGS_minloglevel, google::GLOG_WARNING);
  FLAGS_minloglevel = saved;
}

TEST(RankHelpersTest, RunOnMainRankSharesTheOutcome) {
  int runs = 0;
  FakeRank main(0);
  EXPECT_THAT(RunOnMainRank(main,
                            [&] {
                              ++runs;
                              return absl::DataLossError("disk full");
                            }),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("disk full")));
  FakeRank other(1);
  EXPECT_THAT(
      RunOnMainRank(other,
                    [&] {
                      ++runs;
                      return absl::OkStatus();
                    }),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("failed on rank 0")));
  EXPECT_EQ(runs, 1);
}

// Output of one distributed_test_worker run.
struct WorkerOutput {
  std::vector<int64_t> widths;
  std::vector<std::vector<double>> params;
};

WorkerOutput ParseWorkerOutput(const std::string& path) {
  WorkerOutput out;
  auto text = core::ReadFileToString(path);
  EXPECT_TRUE(text.ok()) << text.status();
  if (!text.ok()) return out;
  for (absl::string_view line :
       absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields[0] == "widths") {
      for (size_t i = 1; i < fields.size(); ++i) {
        int64_t w = 0;
        EXPECT_TRUE(absl::SimpleAtoi(fields[i], &w));
        out.widths.push_back(w);
      }
    } else if (fields[0].rfind("param", 0) == 0) {
      std::vector<double> values;
      for (size_t i = 1; i < fields.size(); ++i) {
        double v = 0;
        EXPECT_TRUE(absl::SimpleAtod(fields[i], &v));
        values.push_back(v);
      }
      out.params.push_back(values);
    }
  }
  return out;
}

std::map<std::string, std::string> RankEnv(int rank, int world, int port) {
  return {{"RANK", std::to_string(rank)},
          {"WORLD_SIZE", std::to_string(world)},
          {"LOCAL_RANK", std::to_string(rank)},
          {"MASTER_ADDR", "127.0.0.1"},
          {"MASTER_PORT", std::to_string(port)}};
}

std::map<std::string, std::string> NoRankEnv() {
  std::map<std::string, std::string> env;
  // Empty values count as unset, so the child is a world of one even if the
  // test itself runs under torchrun-like variables.
  for (const char* name : kTorchrunVars) env[name] = "";
  return env;
}

constexpr int kSteps = 4;
constexpr int kLocalBatch = 3;
constexpr double kTestTimeoutS = 120;

TEST(DistributedTrainingTest, TwoGlooRanksMatchOneProcessOnTheCombinedBatch) {
  MVL_ASSERT_OK_AND_ASSIGN(const int port, testing::PickFreePort());
  const std::string steps = "--steps=" + std::to_string(kSteps);
  std::vector<Child> children;
  for (int rank = 0; rank < 2; ++rank) {
    MVL_ASSERT_OK_AND_ASSIGN(
        Child child,
        Child::Start(
            {kWorker,
             "--out=" + testing::TempPath("dist_rank" + std::to_string(rank)),
             steps, "--local_batch=" + std::to_string(kLocalBatch)},
            RankEnv(rank, 2, port),
            testing::TempPath("dist_rank" + std::to_string(rank) + ".log")));
    children.push_back(std::move(child));
  }
  MVL_ASSERT_OK_AND_ASSIGN(
      Child single,
      Child::Start({kWorker, "--out=" + testing::TempPath("dist_single"), steps,
                    "--local_batch=" + std::to_string(2 * kLocalBatch)},
                   NoRankEnv(), testing::TempPath("dist_single.log")));
  for (Child& child : children) {
    const ChildResult result = child.Wait(kTestTimeoutS);
    ASSERT_FALSE(result.timed_out) << result.output;
    ASSERT_TRUE(result.exited && result.exit_code == 0) << result.output;
  }
  const ChildResult single_result = single.Wait(kTestTimeoutS);
  ASSERT_TRUE(single_result.exited && single_result.exit_code == 0)
      << single_result.output;

  const WorkerOutput r0 = ParseWorkerOutput(testing::TempPath("dist_rank0"));
  const WorkerOutput r1 = ParseWorkerOutput(testing::TempPath("dist_rank1"));
  const WorkerOutput one = ParseWorkerOutput(testing::TempPath("dist_single"));
  // The contrastive logits of each rank span the global batch: 2x the
  // negatives a rank would see on its own.
  EXPECT_THAT(r0.widths, ::testing::Each(2 * kLocalBatch));
  EXPECT_THAT(r1.widths, ::testing::Each(2 * kLocalBatch));
  EXPECT_THAT(one.widths, ::testing::Each(2 * kLocalBatch));
  ASSERT_EQ(r0.widths.size(), kSteps);

  ASSERT_EQ(r0.params.size(), 3u);
  ASSERT_EQ(r1.params.size(), 3u);
  ASSERT_EQ(one.params.size(), 3u);
  for (size_t i = 0; i < r0.params.size(); ++i) {
    ASSERT_EQ(r0.params[i].size(), r1.params[i].size());
    ASSERT_EQ(r0.params[i].size(), one.params[i].size());
    for (size_t j = 0; j < r0.params[i].size(); ++j) {
      // Both ranks apply the same all-reduced gradient to the same broadcast
      // weights, so they agree bit for bit.
      EXPECT_EQ(r0.params[i][j], r1.params[i][j])
          << "param " << i << "[" << j << "]";
      EXPECT_NEAR(r0.params[i][j], one.params[i][j], 1e-5)
          << "param " << i << "[" << j << "]";
    }
  }
  // The run moved the weights away from where the single process started
  // (all ranks start from rank 0's weights, the single process's too).
  double moved = 0;
  for (size_t j = 0; j < r0.params[0].size(); ++j)
    moved += std::abs(r0.params[0][j]);
  EXPECT_GT(moved, 0);
}

// Kills rank `die_rank` at step 1 and returns the survivor's result.
ChildResult RunWithDeadRank(int die_rank, double* dead_rank_signal) {
  auto port = testing::PickFreePort();
  EXPECT_TRUE(port.ok());
  std::vector<Child> children;
  for (int rank = 0; rank < 2; ++rank) {
    const std::string name =
        "die" + std::to_string(die_rank) + "_rank" + std::to_string(rank);
    auto child =
        Child::Start({kWorker, "--out=" + testing::TempPath(name), "--steps=5",
                      "--die_step=1", "--die_rank=" + std::to_string(die_rank),
                      "--timeout_s=60", "--probe_s=2"},
                     RankEnv(rank, 2, *port), testing::TempPath(name + ".log"));
    EXPECT_TRUE(child.ok()) << child.status();
    children.push_back(*std::move(child));
  }
  const ChildResult dead = children[die_rank].Wait(kTestTimeoutS);
  *dead_rank_signal = dead.signal;
  return children[1 - die_rank].Wait(kTestTimeoutS);
}

// The survivor exits with its own error (exit code 3), quickly (a killed
// peer closes its sockets; nothing waits out the 60 s timeout), with a
// message naming the dead rank.
void ExpectSurvivorNames(int die_rank, const std::string& who,
                         const std::string& what) {
  double signal = 0;
  const ChildResult survivor = RunWithDeadRank(die_rank, &signal);
  EXPECT_EQ(signal, SIGKILL);
  ASSERT_FALSE(survivor.timed_out) << survivor.output;
  EXPECT_TRUE(survivor.exited);
  EXPECT_EQ(survivor.exit_code, 3) << survivor.output;
  EXPECT_LT(survivor.seconds, 40);
  EXPECT_THAT(survivor.output,
              HasSubstr("UNAVAILABLE: " + who + ": collective"));
  EXPECT_THAT(survivor.output, HasSubstr(what));
}

TEST(DistributedTrainingTest, SurvivorExitsWithErrorNamingTheDeadRank) {
  ExpectSurvivorNames(/*die_rank=*/1, "rank 0 of 2",
                      "peer rank 1 did not check in");
}

TEST(DistributedTrainingTest, SurvivorNamesRankZeroWhenTheStoreHostDies) {
  ExpectSurvivorNames(/*die_rank=*/0, "rank 1 of 2",
                      "rank 0, which hosts the rendezvous store");
}

}  // namespace
}  // namespace mammovl::train
