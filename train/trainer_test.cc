#include "train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/proto_config.h"
#include "core/safetensors.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/tensorboard.h"
#include "train/testing/subprocess.h"
#include "train/testing/tiny_model.h"

namespace mammovl::train {
namespace {

using ::mammovl::core::StatusIs;
using testing::Child;
using testing::ChildResult;
using ::testing::HasSubstr;
using testing::TinyBatch;
using testing::TinyDataSource;
using testing::TinyModel;

constexpr char kWorker[] = "train/trainer_test_worker";

TrainConfig Config(const std::string& text) {
  TrainConfig config;
  const absl::Status status = core::ParseTextProto(text, "test", &config);
  EXPECT_TRUE(status.ok()) << status;
  return config;
}

std::string RunDir(const std::string& name) { return testing::TempPath(name); }

// Trains the tiny model in this process and returns the result.
absl::StatusOr<TrainResult> TrainTiny(TinyModel& model,
                                      const TrainConfig& config,
                                      TrainerOptions options, int64_t batch = 8,
                                      double dropout = 0.0) {
  TinyDataSource data(batch, 0, 1, /*seed=*/5);
  auto trainer = Trainer::Create(config, model.parameters(), model.buffers(),
                                 std::move(options));
  if (!trainer.ok()) return trainer.status();
  return (*trainer)->Run(
      data,
      [&](TinyBatch& b, const StepContext&) -> absl::StatusOr<StepOutput> {
        at::Tensor loss = model.Loss(b, dropout, nullptr);
        return StepOutput{loss, {}, b.x.size(0)};
      });
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(1); }
};

TEST_F(TrainerTest, LossDecreasesAndEverythingIsLogged) {
  TinyModel model(1);
  TrainerOptions options;
  options.run_dir = RunDir("fit");
  MetricsSeries finished;
  options.on_finish = [&](const MetricsSeries& series, const std::string& dir) {
    finished = series;
    EXPECT_EQ(dir, options.run_dir);
    return absl::OkStatus();
  };
  MVL_ASSERT_OK_AND_ASSIGN(
      TrainResult result,
      TrainTiny(model,
                Config(R"pb(max_steps: 40
                            adamw { lr: 0.02 }
                            schedule { warmup_cosine { warmup_steps: 4 } }
                            clip_grad_norm: 5
                            checkpoint { every_n_steps: 10 keep_last: 2 }
                            logging { every_n_steps: 5 })pb"),
                options));
  EXPECT_EQ(result.steps, 40);
  EXPECT_EQ(result.samples, 40 * 8);
  EXPECT_EQ(result.skipped_steps, 0);
  ASSERT_EQ(finished.count("loss"), 1u);
  const auto& loss = finished.at("loss");
  ASSERT_EQ(loss.size(), 8u);
  EXPECT_EQ(loss.front().first, 5);
  EXPECT_EQ(loss.back().first, 40);
  EXPECT_LT(loss.back().second, 0.5 * loss.front().second);
  for (const char* name :
       {"lr", "grad_norm", "samples_per_s", "skipped_steps"}) {
    EXPECT_EQ(finished.count(name), 1u) << name;
  }
  // Files in the run folder.
  EXPECT_TRUE(core::PathExists(options.run_dir + "/config.pbtxt"));
  MVL_ASSERT_OK_AND_ASSIGN(
      std::string csv,
      core::ReadFileToString(options.run_dir + "/metrics.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 9);
  CheckpointManager checkpoints({options.run_dir + "/checkpoints", 2, nullptr});
  MVL_ASSERT_OK_AND_ASSIGN(auto saved, checkpoints.List());
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[0].first, 30);
  EXPECT_EQ(saved[1].first, 40);
  EXPECT_EQ(result.last_checkpoint, saved[1].second);
  // The final checkpoint holds the final weights.
  MVL_ASSERT_OK_AND_ASSIGN(CheckpointContents last,
                           LoadCheckpoint(saved[1].second));
  const at::Tensor* saved_encoder = FindTensor(last.model, "encoder.weight");
  ASSERT_NE(saved_encoder, nullptr);
  EXPECT_TRUE(at::equal(*saved_encoder, model.parameters()[0].second));
  EXPECT_EQ(last.model.size(), 5u);  // 4 parameters and the buffer
  // TensorBoard: the event file is found and CRC-checked by our reader.
  std::vector<std::string> event_files;
  for (const auto& entry :
       std::filesystem::directory_iterator(options.run_dir + "/tensorboard")) {
    event_files.push_back(entry.path().string());
  }
  ASSERT_EQ(event_files.size(), 1u);
  EXPECT_THAT(event_files[0], HasSubstr("/events.out.tfevents."));
  MVL_ASSERT_OK_AND_ASSIGN(auto scalars, ReadScalars(event_files[0]));
  int loss_points = 0;
  for (const ScalarPoint& p : scalars) {
    if (p.tag != "loss") continue;
    EXPECT_EQ(p.value, static_cast<float>(loss[loss_points].second));
    EXPECT_EQ(p.step, loss[loss_points].first);
    ++loss_points;
  }
  EXPECT_EQ(loss_points, 8);
}

TEST_F(TrainerTest, GradientAccumulationEqualsOneLargeBatch) {
  const std::string common =
      R"pb(adamw { lr: 0.01 }
           checkpoint { every_n_steps: 0 save_final: false }
           logging { csv: false tensorboard: false })pb";
  // Two micro-batches of 4 rows per step ...
  TinyModel split(2);
  TrainerOptions b;
  b.run_dir = RunDir("accum_split");
  TinyDataSource data(4, 0, 1, 5);
  auto trainer =
      *Trainer::Create(Config("max_steps: 6 grad_accum_steps: 2 " + common),
                       split.parameters(), split.buffers(), b);
  MVL_ASSERT_OK(
      trainer
          ->Run(data,
                [&](TinyBatch& batch,
                    const StepContext&) -> absl::StatusOr<StepOutput> {
                  return StepOutput{
                      split.Loss(batch, 0, nullptr), {}, batch.x.size(0)};
                })
          .status());
  // ... equal one 8-row batch per step made of the same two 4-row draws.
  TinyModel joined(2);
  TrainerOptions c;
  c.run_dir = RunDir("accum_joined");
  TinyDataSource halves(4, 0, 1, 5);
  auto reference = *Trainer::Create(Config("max_steps: 6 " + common),
                                    joined.parameters(), joined.buffers(), c);
  MVL_ASSERT_OK(
      reference
          ->Run(
              [&](const StepContext&) -> absl::StatusOr<StepOutput> {
                TinyBatch first = *halves.Next();
                TinyBatch second = *halves.Next();
                TinyBatch both{at::cat({first.x, second.x}),
                               at::cat({first.y, second.y})};
                return StepOutput{joined.Loss(both, 0, nullptr), {}, 8};
              },
              ResumableState())
          .status());
  for (size_t i = 0; i < split.parameters().size(); ++i) {
    const double diff =
        (split.parameters()[i].second - joined.parameters()[i].second)
            .abs()
            .max()
            .item<double>();
    EXPECT_LT(diff, 1e-6) << split.parameters()[i].first;
  }
  // And training moved the weights.
  EXPECT_FALSE(at::equal(split.parameters()[0].second,
                         TinyModel(2).parameters()[0].second));
}

TEST_F(TrainerTest, NonFiniteStepsAreSkippedThenAbort) {
  TinyModel model(3);
  TrainerOptions options;
  options.run_dir = RunDir("nan_guard");
  TinyDataSource data(8, 0, 1, 5);
  const TrainConfig config =
      Config(R"pb(max_steps: 10
                  nonfinite_guard { max_skipped_steps: 2 }
                  checkpoint { every_n_steps: 0 save_final: false })pb");
  auto trainer =
      *Trainer::Create(config, model.parameters(), model.buffers(), options);
  at::Tensor before;
  int calls = 0;
  auto result = trainer->Run(
      data,
      [&](TinyBatch& batch,
          const StepContext& ctx) -> absl::StatusOr<StepOutput> {
        ++calls;
        at::Tensor loss = model.Loss(batch, 0, nullptr);
        if (ctx.step == 2)
          before = model.parameters()[0].second.detach().clone();
        if (ctx.step == 3) {
          // The previous step (2) was skipped: no update happened.
          EXPECT_TRUE(at::equal(before, model.parameters()[0].second));
        }
        if (ctx.step >= 2 && ctx.step % 2 == 0) {
          loss = loss * std::numeric_limits<float>::quiet_NaN();
        }
        return StepOutput{loss, {}, 8};
      });
  // Steps 2, 4 and 6 are NaN; the third one exceeds the limit of 2.
  EXPECT_THAT(result,
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr("3 steps had a non-finite loss or gradient")));
  EXPECT_EQ(calls, 7);
}

TEST_F(TrainerTest, FrozenParametersDoNotMove) {
  TinyModel model(4);
  const at::Tensor encoder = model.parameters()[0].second.detach().clone();
  TrainerOptions options;
  options.run_dir = RunDir("freeze");
  TinyDataSource data(8, 0, 1, 5);
  auto trainer =
      *Trainer::Create(Config(R"pb(max_steps: 5
                                   freeze: "encoder.*"
                                   checkpoint { save_final: false })pb"),
                       model.parameters(), model.buffers(), options);
  ASSERT_EQ(trainer->trainable().size(), 2u);
  EXPECT_EQ(trainer->trainable()[0].first, "head.weight");
  const at::Tensor head = model.parameters()[2].second.detach().clone();
  MVL_ASSERT_OK(trainer
                    ->Run(data,
                          [&](TinyBatch& b, const StepContext&)
                              -> absl::StatusOr<StepOutput> {
                            return StepOutput{model.Loss(b, 0, nullptr), {}, 8};
                          })
                    .status());
  EXPECT_TRUE(at::equal(encoder, model.parameters()[0].second));
  EXPECT_FALSE(model.parameters()[0].second.requires_grad());
  EXPECT_FALSE(at::equal(head, model.parameters()[2].second));
}

TEST_F(TrainerTest, EmaLagsBehindTheWeights) {
  TinyModel model(5);
  TrainerOptions options;
  options.run_dir = RunDir("ema");
  const at::Tensor start = model.parameters()[2].second.detach().clone();
  MVL_ASSERT_OK(TrainTiny(model,
                          Config(R"pb(max_steps: 20
                                      adamw { lr: 0.05 }
                                      ema { decay: 0.8 }
                                      checkpoint { every_n_steps: 0 })pb"),
                          options)
                    .status());
  MVL_ASSERT_OK_AND_ASSIGN(
      auto latest,
      CheckpointManager({options.run_dir + "/checkpoints", 1, nullptr})
          .Latest());
  MVL_ASSERT_OK_AND_ASSIGN(CheckpointContents saved, LoadCheckpoint(*latest));
  ASSERT_EQ(saved.ema.size(), 5u);
  ASSERT_NE(FindTensor(saved.ema, "head.weight"), nullptr);
  const at::Tensor ema = *FindTensor(saved.ema, "head.weight");
  const at::Tensor now = model.parameters()[2].second.detach();
  // Between the start and the current weights, and different from both.
  EXPECT_FALSE(at::equal(ema, now));
  EXPECT_LT((ema - now).abs().sum().item<double>(),
            (start - now).abs().sum().item<double>());
}

TEST_F(TrainerTest, RefusesARunFolderWithCheckpointsUnlessResuming) {
  TinyModel model(6);
  TrainerOptions options;
  options.run_dir = RunDir("twice");
  const TrainConfig config = Config("max_steps: 2");
  MVL_ASSERT_OK(TrainTiny(model, config, options).status());
  EXPECT_THAT(
      Trainer::Create(config, model.parameters(), model.buffers(), options),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("resume")));
  options.resume = true;
  MVL_ASSERT_OK_AND_ASSIGN(
      auto resumed,
      Trainer::Create(config, model.parameters(), model.buffers(), options));
  EXPECT_EQ(resumed->step(), 2);
}

TEST_F(TrainerTest, ValidatesTheConfigNamingTheField) {
  EXPECT_THAT(ValidateTrainConfig(Config("precision: BF16_AUTOCAST")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CUDA")));
  EXPECT_THAT(
      ValidateTrainConfig(Config("max_steps: 0")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_steps")));
  EXPECT_THAT(ValidateTrainConfig(Config("grad_accum_steps: 0")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("grad_accum_steps")));
  EXPECT_THAT(
      ValidateTrainConfig(Config("ema { decay: 1.5 }")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ema.decay")));
  EXPECT_THAT(
      ValidateTrainConfig(Config(R"pb(freeze: "re:[")pb")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("freeze[0]")));
  EXPECT_THAT(ValidateTrainConfig(Config("logging { every_n_steps: 0 }")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("logging.every_n_steps")));
  EXPECT_THAT(
      ValidateTrainConfig(
          Config("schedule { warmup_cosine { warmup_steps: 5000 } }")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("warmup_steps")));
  TinyModel model(7);
  TrainerOptions options;
  options.run_dir = RunDir("all_frozen");
  EXPECT_THAT(
      Trainer::Create(Config(R"pb(freeze: "*")pb"), model.parameters(),
                      model.buffers(), options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no trainable")));
}

// ---------------------------------------------------------------------------
// Separate processes: kill -9 and resume; data-parallel runs.

// The tensors of a safetensors file, sorted by name.
NamedTensors ReadWeights(const std::string& path) {
  NamedTensors tensors;
  auto file = core::SafetensorsFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return tensors;
  std::vector<std::string> names = file->names();
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    auto tensor = file->Load(name);
    EXPECT_TRUE(tensor.ok()) << tensor.status();
    if (tensor.ok()) tensors.emplace_back(name, *tensor);
  }
  return tensors;
}

int64_t LastProgress(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  int64_t last = 0;
  while (std::getline(in, line)) {
    if (!line.empty()) last = std::stoll(line);
  }
  return last;
}

std::vector<std::string> WorkerArgs(const std::string& name,
                                    std::vector<std::string> extra) {
  std::vector<std::string> args = {kWorker, "--run_dir=" + RunDir(name),
                                   "--out=" + RunDir(name + ".safetensors")};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

ChildResult RunWorker(const std::vector<std::string>& args,
                      const std::string& log,
                      const std::map<std::string, std::string>& env = {}) {
  auto child = Child::Start(args, env, RunDir(log));
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return ChildResult();
  return child->Wait(120);
}

std::map<std::string, std::string> NoRankEnv() {
  return {{"RANK", ""},
          {"WORLD_SIZE", ""},
          {"LOCAL_RANK", ""},
          {"MASTER_ADDR", ""},
          {"MASTER_PORT", ""}};
}

void ExpectBitwiseEqual(const NamedTensors& a, const NamedTensors& b) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(at::equal(a[i].second, b[i].second))
        << a[i].first << " max diff "
        << (a[i].second - b[i].second).abs().max().item<double>();
  }
}

std::vector<std::string> LossColumn(const std::string& run_dir) {
  std::vector<std::string> losses;
  auto text = core::ReadFileToString(run_dir + "/metrics.jsonl");
  EXPECT_TRUE(text.ok());
  for (absl::string_view line :
       absl::StrSplit(text.value_or(""), '\n', absl::SkipEmpty())) {
    auto row = ParseMetricsJson(line);
    EXPECT_TRUE(row.ok()) << row.status();
    if (!row.ok()) continue;
    for (const auto& [name, value] : row->values) {
      if (name == "loss") losses.push_back(absl::StrCat(row->step, ":", value));
    }
  }
  return losses;
}

TEST(TrainerResumeTest, KilledAtARandomStepAndResumedEqualsAnUninterruptedRun) {
  // Uninterrupted reference: 30 steps with dropout (torch's generator), input
  // noise (the worker's own generator), accumulation, clipping, EMA.
  // Rows are logged every 2 steps, checkpoints every 3: a resume can start
  // inside a logging window.
  const ChildResult reference =
      RunWorker(WorkerArgs("ref", {"--log_every=2"}), "ref.log", NoRankEnv());
  ASSERT_TRUE(reference.exited && reference.exit_code == 0) << reference.output;

  // The same run, killed with SIGKILL once it has completed a random number
  // of steps (wherever it is then: in a step, logging, or saving a
  // checkpoint), then resumed until it finishes.
  const unsigned seed = static_cast<unsigned>(
      std::chrono::system_clock::now().time_since_epoch().count());
  std::mt19937 rng(seed);
  const int kill_after = std::uniform_int_distribution<int>(4, 25)(rng);
  SCOPED_TRACE(
      absl::StrCat("kill after step ", kill_after, " (seed ", seed, ")"));
  const std::string progress = RunDir("killed.progress");
  const std::vector<std::string> args = WorkerArgs(
      "killed", {"--log_every=2", "--step_sleep_ms=30", "--progress_file=" + progress,
                 // A backstop, so a slow test process cannot miss the run.
                 "--hold_after_step=" + std::to_string(kill_after + 2)});
  {
    MVL_ASSERT_OK_AND_ASSIGN(
        Child child, Child::Start(args, NoRankEnv(), RunDir("killed1.log")));
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (LastProgress(progress) < kill_after && !child.Poll() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    child.Kill();
    const ChildResult killed = child.Wait(30);
    ASSERT_EQ(killed.signal, SIGKILL) << killed.output;
  }
  const int64_t reached = LastProgress(progress);
  EXPECT_GE(reached, kill_after);
  EXPECT_LT(reached, 30);
  // The same run folder and training flags, without the hold.
  const ChildResult resumed = RunWorker(WorkerArgs("killed", {"--log_every=2", "--resume=1"}),
                                        "killed2.log", NoRankEnv());
  ASSERT_TRUE(resumed.exited && resumed.exit_code == 0) << resumed.output;
  EXPECT_THAT(resumed.output, HasSubstr("finished: 30 steps"));

  // Weights, the running-mean buffer and the EMA are bit-for-bit those of
  // the uninterrupted run, and so is every logged loss.
  ExpectBitwiseEqual(ReadWeights(RunDir("killed.safetensors")),
                     ReadWeights(RunDir("ref.safetensors")));
  EXPECT_EQ(LossColumn(RunDir("killed")), LossColumn(RunDir("ref")));
  EXPECT_EQ(LossColumn(RunDir("ref")).size(), 15u);
}

TEST(TrainerResumeTest, ACrashInsideACheckpointSaveLeavesTheLastCompleteOne) {
  const ChildResult reference =
      RunWorker(WorkerArgs("ref_save", {}), "ref_save.log", NoRankEnv());
  ASSERT_TRUE(reference.exited && reference.exit_code == 0) << reference.output;
  const std::vector<std::string> args = WorkerArgs("crash_save", {});
  std::vector<std::string> crash_args = args;
  crash_args.push_back("--crash_in_save_at_step=9");
  const ChildResult crashed =
      RunWorker(crash_args, "crash_save1.log", NoRankEnv());
  ASSERT_EQ(crashed.signal, SIGKILL) << crashed.output;
  // The temporary folder of step 9 is there, but the newest checkpoint is 6.
  const std::string checkpoints = RunDir("crash_save") + "/checkpoints";
  bool saw_temp = false;
  for (const auto& entry : std::filesystem::directory_iterator(checkpoints)) {
    saw_temp |=
        entry.path().filename().string().rfind("step-00000009.tmp-", 0) == 0;
  }
  EXPECT_TRUE(saw_temp);
  MVL_ASSERT_OK_AND_ASSIGN(
      auto latest, CheckpointManager({checkpoints, 2, nullptr}).Latest());
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(*latest, checkpoints + "/step-00000006");

  std::vector<std::string> resume_args = args;
  resume_args.push_back("--resume=1");
  const ChildResult resumed =
      RunWorker(resume_args, "crash_save2.log", NoRankEnv());
  ASSERT_TRUE(resumed.exited && resumed.exit_code == 0) << resumed.output;
  ExpectBitwiseEqual(ReadWeights(RunDir("crash_save.safetensors")),
                     ReadWeights(RunDir("ref_save.safetensors")));
  for (const auto& entry : std::filesystem::directory_iterator(checkpoints)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos)
        << entry.path();
  }
}

TEST(TrainerDistributedTest, TwoRanksMatchOneProcessOnTheSameGlobalBatch) {
  MVL_ASSERT_OK_AND_ASSIGN(const int port, testing::PickFreePort());
  // No dropout or input noise: those draw per-rank random numbers.
  const std::vector<std::string> common = {"--dropout=0", "--noise=0",
                                           "--steps=8", "--checkpoint_every=4"};
  std::vector<Child> ranks;
  for (int rank = 0; rank < 2; ++rank) {
    MVL_ASSERT_OK_AND_ASSIGN(
        Child child,
        Child::Start(WorkerArgs("ddp", common),
                     {{"RANK", std::to_string(rank)},
                      {"WORLD_SIZE", "2"},
                      {"LOCAL_RANK", std::to_string(rank)},
                      {"MASTER_ADDR", "127.0.0.1"},
                      {"MASTER_PORT", std::to_string(port)}},
                     RunDir("ddp" + std::to_string(rank) + ".log")));
    ranks.push_back(std::move(child));
  }
  const ChildResult single = RunWorker(WorkerArgs("ddp_single", common),
                                       "ddp_single.log", NoRankEnv());
  ASSERT_TRUE(single.exited && single.exit_code == 0) << single.output;
  for (Child& child : ranks) {
    const ChildResult result = child.Wait(120);
    ASSERT_TRUE(result.exited && result.exit_code == 0) << result.output;
  }
  const NamedTensors r0 = ReadWeights(RunDir("ddp.safetensors"));
  const NamedTensors r1 = ReadWeights(RunDir("ddp.safetensors.rank1"));
  const NamedTensors one = ReadWeights(RunDir("ddp_single.safetensors"));
  ASSERT_EQ(r0.size(), one.size());
  ASSERT_EQ(r1.size(), one.size());
  for (size_t i = 0; i < r0.size(); ++i) {
    const std::string& name = r0[i].first;
    // Buffers follow rank 0's local batch (broadcast, as DDP), so only
    // parameters and their EMA are compared with the single process.
    if (name.find("running_mean") != std::string::npos) continue;
    EXPECT_TRUE(at::equal(r0[i].second, r1[i].second)) << name;
    EXPECT_LT((r0[i].second - one[i].second).abs().max().item<double>(), 1e-5)
        << name;
  }
  // Only rank 0 wrote the run folder's files.
  EXPECT_TRUE(core::PathExists(RunDir("ddp") +
                               "/checkpoints/step-00000008/state.pbtxt"));
  MVL_ASSERT_OK_AND_ASSIGN(
      CheckpointContents saved,
      LoadCheckpoint(RunDir("ddp") + "/checkpoints/step-00000008"));
  EXPECT_EQ(saved.state.world_size(), 2);
  EXPECT_EQ(saved.state.ranks_size(), 2);
  EXPECT_EQ(saved.state.ranks(1).data_position(),
            "16");  // 8 steps x 2 micro-batches
}

}  // namespace
}  // namespace mammovl::train
