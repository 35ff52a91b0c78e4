#include "train/checkpoint.h"

#include <ATen/ATen.h>

#include <string>

#include "core/file_io.h"
#include "core/safetensors.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::train {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

CheckpointContents Contents(int64_t step) {
  CheckpointContents c;
  c.model = {{"w", at::full({2, 2}, static_cast<float>(step))},
             {"bn.running_mean", at::zeros({2})}};
  c.optimizer = {{"w/step", at::full({}, 3.0f)},
                 {"w/exp_avg", at::ones({2, 2})}};
  c.ema = {{"w", at::full({2, 2}, 0.5f)}};
  c.state.set_step(step);
  c.state.set_samples_seen(step * 8);
  c.state.add_ranks()->set_torch_rng_state(std::string("\x00\x01\xff", 3));
  c.config_text = "max_steps: 100\n";
  return c;
}

TEST(CheckpointManagerTest, SavesLoadsAndKeepsTheNewest) {
  CheckpointOptions options;
  options.dir = TempDir("ckpt_keep");
  options.keep_last = 2;
  std::vector<std::string> stages;
  options.on_stage = [&](absl::string_view stage) {
    stages.emplace_back(stage);
  };
  CheckpointManager manager(options);
  MVL_ASSERT_OK_AND_ASSIGN(auto none, manager.Latest());
  EXPECT_FALSE(none.has_value());
  for (int64_t step : {10, 20, 30}) {
    MVL_ASSERT_OK_AND_ASSIGN(std::string dir, manager.Save(Contents(step)));
    EXPECT_EQ(dir, options.dir + "/" + CheckpointFolderName(step));
  }
  EXPECT_EQ(CheckpointFolderName(30), "step-00000030");
  EXPECT_EQ(stages.size(), 6u);
  MVL_ASSERT_OK_AND_ASSIGN(auto all, manager.List());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, 20);
  EXPECT_EQ(all[1].first, 30);
  EXPECT_FALSE(core::PathExists(options.dir + "/step-00000010"));
  EXPECT_THAT(manager.Save(Contents(30)),
              StatusIs(absl::StatusCode::kAlreadyExists));

  MVL_ASSERT_OK_AND_ASSIGN(auto latest, manager.Latest());
  ASSERT_TRUE(latest.has_value());
  MVL_ASSERT_OK_AND_ASSIGN(CheckpointContents loaded, LoadCheckpoint(*latest));
  const CheckpointContents expected = Contents(30);
  EXPECT_EQ(loaded.state.step(), 30);
  EXPECT_EQ(loaded.state.samples_seen(), 240);
  EXPECT_EQ(loaded.state.ranks(0).torch_rng_state(),
            expected.state.ranks(0).torch_rng_state());
  EXPECT_EQ(loaded.config_text, expected.config_text);
  for (const auto* list :
       {&expected.model, &expected.optimizer, &expected.ema}) {
    const NamedTensors& got = list == &expected.model       ? loaded.model
                              : list == &expected.optimizer ? loaded.optimizer
                                                            : loaded.ema;
    ASSERT_EQ(got.size(), list->size());
    for (const auto& [name, tensor] : *list) {
      const at::Tensor* read = FindTensor(got, name);
      ASSERT_NE(read, nullptr) << name;
      EXPECT_TRUE(at::equal(*read, tensor)) << name;
    }
  }
  // The weights file is a plain safetensors file, tagged for PyTorch.
  MVL_ASSERT_OK_AND_ASSIGN(
      core::SafetensorsFile file,
      core::SafetensorsFile::Open(*latest + "/model.safetensors"));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("step"), "30");
  MVL_ASSERT_OK_AND_ASSIGN(CheckpointContents no_opt,
                           LoadCheckpoint(*latest, false));
  EXPECT_TRUE(no_opt.optimizer.empty());
}

TEST(CheckpointManagerTest, IgnoresAndRemovesInterruptedSaves) {
  CheckpointOptions options;
  options.dir = TempDir("ckpt_interrupted");
  CheckpointManager manager(options);
  MVL_ASSERT_OK(manager.Save(Contents(5)).status());
  // What a crash during the save of step 9 leaves behind: a temporary folder
  // with some of the files.
  const std::string temp = options.dir + "/step-00000009.tmp-4242";
  MVL_ASSERT_OK(core::MakeDirectories(temp));
  MVL_ASSERT_OK(
      core::WriteFileAtomically(temp + "/model.safetensors", "partial"));
  MVL_ASSERT_OK(core::WriteFileAtomically(temp + "/state.pbtxt", "step: 9"));
  // And a folder without a state file is not a checkpoint either.
  MVL_ASSERT_OK(core::MakeDirectories(options.dir + "/step-00000011"));
  MVL_ASSERT_OK_AND_ASSIGN(auto latest, manager.Latest());
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(*latest, options.dir + "/step-00000005");
  MVL_ASSERT_OK(manager.RemoveIncomplete());
  EXPECT_FALSE(core::PathExists(temp));
}

TEST(CheckpointTest, LoadRejectsOtherFormatsAndMissingFiles) {
  CheckpointOptions options;
  options.dir = TempDir("ckpt_format");
  CheckpointManager manager(options);
  CheckpointContents contents = Contents(1);
  contents.state.set_format("something.else");
  MVL_ASSERT_OK_AND_ASSIGN(std::string dir, manager.Save(contents));
  EXPECT_THAT(LoadCheckpoint(dir), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("something.else")));
  EXPECT_THAT(LoadCheckpoint(TempDir("nothing_here")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(CopyNamedTensorsTest, CopiesByNameAndChecksShapes) {
  at::Tensor w = at::zeros({2}).set_requires_grad(true);
  at::Tensor b = at::zeros({3});
  MVL_ASSERT_OK(
      CopyNamedTensors({{"b", at::ones({3})}, {"w", at::full({2}, 2.0)}},
                       {{"w", w}, {"b", b}}, "checkpoint"));
  EXPECT_TRUE(at::equal(w, at::full({2}, 2.0)));
  EXPECT_TRUE(w.requires_grad());
  EXPECT_TRUE(at::equal(b, at::ones({3})));
  EXPECT_THAT(
      CopyNamedTensors({{"w", at::ones({3})}}, {{"w", w}}, "checkpoint"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("'w' has shape [3]")));
  EXPECT_THAT(
      CopyNamedTensors({}, {{"w", w}}, "checkpoint"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no tensor 'w'")));
  EXPECT_THAT(CopyNamedTensors({{"w", at::ones({2})}, {"x", at::ones({1})}},
                               {{"w", w}}, "ckpt"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'x'")));
  MVL_EXPECT_OK(CopyNamedTensors({{"w", at::ones({2})}, {"x", at::ones({1})}},
                                 {{"w", w}}, "ckpt",
                                 /*allow_extra=*/true));
}

}  // namespace
}  // namespace mammovl::train
