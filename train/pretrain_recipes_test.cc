// Every published recipe config builds its full-size model, and its demo
// variant (the same recipe at tiny widths) trains 20 steps on a synthetic
// corpus with finite, decreasing loss; weights written by training load back
// into a fresh model for evaluation.
#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/proto_config.h"
#include "core/status_matchers.h"
#include "data/synth/synth.h"
#include "data/synth/synth_config.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "train/experiment.pb.h"
#include "train/pretrain.h"
#include "train/pretrain_model.h"

namespace mammovl::train {
namespace {

using ::testing::HasSubstr;

const char kWordPieceVocab[] = "text/tokenizer/testdata/bert_cased_vocab.txt";
const char kMamaTokenizer[] = "text/tokenizer/testdata/gpt2_mama_tokenizer.json";

std::string TempDir() { return ::testing::TempDir(); }

// The TINY synthetic corpus (8 patients), written once for the whole suite.
const std::string& Corpus() {
  static const std::string* dir = [] {
    auto* d = new std::string(absl::StrCat(TempDir(), "/corpus"));
    data::SynthConfig config;
    config.set_preset(data::SynthConfig::TINY);
    config.mutable_outputs()->set_write_dicom(false);
    const auto summary = data::GenerateCorpus(config, *d);
    EXPECT_TRUE(summary.ok()) << summary.status();
    return d;
  }();
  return *dir;
}

Experiment LoadExperiment(const std::string& path,
                          const std::vector<std::string>& overrides = {}) {
  absl::StatusOr<std::string> text = core::ReadFileToString(path);
  EXPECT_TRUE(text.ok()) << text.status();
  Experiment e;
  MVL_EXPECT_OK(core::ParseTextProto(
      absl::StrReplaceAll(*text, {{"runs/demo_corpus", Corpus()}}), path, &e));
  for (const std::string& o : overrides) MVL_EXPECT_OK(core::ApplyOverride(o, &e));
  return e;
}

// Mean training loss per logged step, from metrics.jsonl.
std::vector<double> Losses(const std::string& run_dir) {
  absl::StatusOr<std::string> text =
      core::ReadFileToString(run_dir + "/metrics.jsonl");
  EXPECT_TRUE(text.ok()) << text.status();
  std::vector<double> out;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    const size_t at = line.find("\"loss\": ");
    EXPECT_NE(at, absl::string_view::npos) << line;
    absl::string_view rest = line.substr(at + 8);
    rest = rest.substr(0, rest.find(','));
    double v = 0;
    EXPECT_TRUE(absl::SimpleAtod(rest, &v)) << line;
    out.push_back(v);
  }
  return out;
}

struct Recipe {
  const char* config;  // configs/<config>.pbtxt
  const char* demo;    // configs/<demo>.pbtxt
};

const Recipe kRecipes[] = {
    {"mammoclip_b2", "demo_mammoclip"},
    {"mammoclip_b5", "demo_mammoclip"},
    {"mammoclip_b5_vindr", "demo_mammoclip_vindr"},
    {"mama", "demo_mama"},
    {"mgca_resnet50", "demo_mgca_resnet50"},
    {"mgca_vit_b16", "demo_mgca_vit_b16"},
    {"medslip", "demo_medslip"},
};

class RecipeTest : public ::testing::TestWithParam<Recipe> {};

std::string ConfigPath(const char* name) {
  return absl::StrCat("configs/", name, ".pbtxt");
}

// The demo must be the recipe at a smaller size: the same loss, towers,
// heads, pairing, transforms and datasets.
TEST_P(RecipeTest, DemoHasTheRecipesStructure) {
  const Experiment full = LoadExperiment(ConfigPath(GetParam().config));
  const Experiment demo = LoadExperiment(ConfigPath(GetParam().demo));
  MVL_EXPECT_OK(ValidateExperiment(full));
  MVL_EXPECT_OK(ValidateExperiment(demo));
  EXPECT_EQ(full.loss().loss_case(), demo.loss().loss_case());
  EXPECT_EQ(full.model().vision().backbone_case(),
            demo.model().vision().backbone_case());
  EXPECT_EQ(full.model().vision().projection().head_case(),
            demo.model().vision().projection().head_case());
  EXPECT_EQ(full.model().vision().has_local_projection(),
            demo.model().vision().has_local_projection());
  EXPECT_EQ(full.model().text().model_case(), demo.model().text().model_case());
  EXPECT_EQ(full.model().text().pooling(), demo.model().text().pooling());
  EXPECT_EQ(full.model().text_projection().head_case(),
            demo.model().text_projection().head_case());
  EXPECT_EQ(full.model().has_text_local(), demo.model().has_text_local());
  EXPECT_EQ(full.model().text_local().source(),
            demo.model().text_local().source());
  EXPECT_EQ(full.model().has_ssl_head(), demo.model().has_ssl_head());
  EXPECT_EQ(full.model().ssl_head().input(), demo.model().ssl_head().input());
  EXPECT_EQ(full.model().caption().source(), demo.model().caption().source());
  EXPECT_EQ(full.data().dataset().source_case(),
            demo.data().dataset().source_case());
  EXPECT_EQ(full.extra_datasets_size(), demo.extra_datasets_size());
  EXPECT_EQ(full.data().pairing().pairing_case(),
            demo.data().pairing().pairing_case());
  ASSERT_EQ(full.data().transforms_size(), demo.data().transforms_size());
  for (int i = 0; i < full.data().transforms_size(); ++i) {
    EXPECT_EQ(full.data().transforms(i).pipeline_case(),
              demo.data().transforms(i).pipeline_case());
  }
  EXPECT_EQ(full.train().optimizer_case(), demo.train().optimizer_case());
  EXPECT_EQ(full.train().weight_decay_groups().policy(),
            demo.train().weight_decay_groups().policy());
}

// The full-size model of each recipe builds (random weights: the
// checkpoint paths point at downloads) and maps images and texts into its
// embedding space. MaMA's 32-layer 2.7B-parameter GPT-2 is built with one
// layer of the same width to keep the test's memory small.
TEST_P(RecipeTest, FullSizeModelBuildsAndEncodes) {
  Experiment e = LoadExperiment(ConfigPath(GetParam().config));
  PretrainModelConfig& m = *e.mutable_model();
  m.mutable_vision()->clear_checkpoint();
  m.mutable_text()->clear_checkpoint();
  std::vector<std::string> texts = {"no suspicious mass.", "calcifications."};
  if (m.text().has_gpt2()) {
    m.mutable_text()->mutable_tokenizer()->set_tokenizer_json(kMamaTokenizer);
    m.mutable_text()->mutable_gpt2()->set_n_layer(1);
    m.mutable_text()->mutable_gpt2()->set_gradient_checkpointing(false);
    texts = {"<|startoftext|>no mass<|separatetext|><|endoftext|>",
             "<|startoftext|>a mass<|separatetext|><|endoftext|>"};
  } else {
    m.mutable_text()->mutable_tokenizer()->mutable_wordpiece()->set_vocab_path(
        kWordPieceVocab);
  }
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<PretrainModel> model,
                           BuildPretrainModel(e));
  const int64_t dim = model->embedding_dim();
  EXPECT_EQ(dim, m.vision().projection().has_bn_mlp() ? 128 : 512);
  model->SetTraining(false);
  at::NoGradGuard no_grad;
  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor img,
                           model->EncodeImages(at::rand({2, 1, 112, 112})));
  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor txt, model->EncodeTexts(texts));
  ASSERT_EQ(img.sizes(), (std::vector<int64_t>{2, dim}));
  ASSERT_EQ(txt.sizes(), (std::vector<int64_t>{2, dim}));
  EXPECT_TRUE(at::allclose(img.norm(2, 1), at::ones({2}), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(txt.norm(2, 1), at::ones({2}), 1e-5, 1e-5));
  EXPECT_TRUE(img.isfinite().all().item<bool>());
  EXPECT_TRUE(txt.isfinite().all().item<bool>());
}

// 20 optimiser steps of the demo variant: every logged loss is finite and
// the mean of the last five is below the mean of the first five.
class DemoTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DemoTest, TrainsTwentyStepsWithDecreasingLoss) {
  const std::string run_dir = absl::StrCat(TempDir(), "/run_", GetParam());
  const Experiment e = LoadExperiment(
      ConfigPath(GetParam()),
      {absl::StrCat("run_dir: \"", run_dir, "\""),
       "train { max_steps: 20 num_threads: 1 logging { every_n_steps: 1 "
       "tensorboard: false csv: false } checkpoint { every_n_steps: 0 } }",
       "train.schedule: { warmup_cosine { warmup_steps: 2 min_lr: 1e-4 } }",
       "data { loader { batch_size: 4 num_workers: 1 } }"});
  MVL_ASSERT_OK_AND_ASSIGN(TrainResult result, RunPretraining(e));
  EXPECT_EQ(result.steps, 20);
  EXPECT_EQ(result.skipped_steps, 0);
  const std::vector<double> losses = Losses(run_dir);
  ASSERT_EQ(losses.size(), 20u);
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) {
    first += losses[i] / 5;
    last += losses[15 + i] / 5;
  }
  for (double l : losses) EXPECT_TRUE(std::isfinite(l));
  EXPECT_LT(last, first) << "losses did not decrease";
  EXPECT_TRUE(core::PathExists(run_dir + "/config.pbtxt"));
  EXPECT_TRUE(core::PathExists(run_dir + "/loss_curve.png"));

  // The final checkpoint loads into a fresh model (the evaluation path) and
  // gives the trained model's embeddings.
  ASSERT_FALSE(result.last_checkpoint.empty());
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<PretrainModel> fresh,
                           BuildPretrainModel(e));
  MVL_ASSERT_OK(fresh->LoadWeights(result.last_checkpoint));
  MVL_ASSERT_OK(fresh->LoadWeights(result.last_checkpoint + "/model.safetensors"));
  const NamedTensors params = fresh->Parameters();
  ASSERT_FALSE(params.empty());
  // Loading changed the weights away from a new random initialisation.
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<PretrainModel> other,
                           BuildPretrainModel(e));
  bool differs = false;
  const NamedTensors init = other->Parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    if (!at::equal(params[i].second, init[i].second)) differs = true;
  }
  EXPECT_TRUE(differs);
}

INSTANTIATE_TEST_SUITE_P(Recipes, RecipeTest, ::testing::ValuesIn(kRecipes),
                         [](const ::testing::TestParamInfo<Recipe>& info) {
                           return std::string(info.param.config);
                         });

INSTANTIATE_TEST_SUITE_P(
    Demos, DemoTest,
    ::testing::Values("demo_mammoclip", "demo_mammoclip_vindr", "demo_mama",
                      "demo_mgca_resnet50", "demo_mgca_vit_b16",
                      "demo_medslip"),
    [](const ::testing::TestParamInfo<const char*>& info) {
      return std::string(info.param);
    });

TEST(PretrainModelTest, LocalLossWithoutLocalHeadsIsRejected) {
  Experiment e = LoadExperiment(ConfigPath("demo_mgca_resnet50"));
  e.mutable_model()->mutable_vision()->clear_local_projection();
  EXPECT_THAT(ValidateExperiment(e),
              core::StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("model.vision.local_projection")));
  e = LoadExperiment(ConfigPath("demo_medslip"));
  e.mutable_model()->clear_ssl_head();
  EXPECT_THAT(ValidateExperiment(e),
              core::StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("model.ssl_head")));
  e = LoadExperiment(ConfigPath("demo_mammoclip"));
  e.mutable_loss()->mutable_focal();
  EXPECT_THAT(ValidateExperiment(e),
              core::StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("not a pretraining loss")));
}

// The trainer's after-backward hook reaches the loss: MGCA's prototypes get
// no update while `epoch < freeze_prototypes_epochs` and do get one after.
TEST(PretrainModelTest, MgcaPrototypesFrozenInEarlyEpochs) {
  for (const int freeze_epochs : {1000, 0}) {
    const std::string run_dir =
        absl::StrCat(TempDir(), "/mgca_freeze_", freeze_epochs);
    const Experiment e = LoadExperiment(
        ConfigPath("demo_mgca_resnet50"),
        {absl::StrCat("run_dir: \"", run_dir, "\""),
         absl::StrCat("loss { mgca { freeze_prototypes_epochs: ",
                      freeze_epochs, " } }"),
         "train { max_steps: 3 num_threads: 1 logging { tensorboard: false } "
         "checkpoint { every_n_steps: 0 } }",
         "train.schedule: { constant {} }",
         "data { loader { batch_size: 4 num_workers: 1 } }"});
    MVL_ASSERT_OK_AND_ASSIGN(TrainResult result, RunPretraining(e));
    at::manual_seed(e.train().seed());  // as RunPretraining before building
    MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<PretrainModel> initial,
                             BuildPretrainModel(e));
    MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<PretrainModel> trained,
                             BuildPretrainModel(e));
    MVL_ASSERT_OK(trained->LoadWeights(result.last_checkpoint));
    const NamedTensors a = initial->Parameters();
    const NamedTensors b = trained->Parameters();
    for (const char* name :
         {"prototype_layer.weight", "text_projection.head.0.weight"}) {
      ASSERT_NE(FindTensor(a, name), nullptr) << name;
      ASSERT_NE(FindTensor(b, name), nullptr) << name;
    }
    // The loss renormalises the prototype rows in place before every
    // forward pass, so frozen prototypes are the initial ones at unit norm.
    const at::Tensor init = *FindTensor(a, "prototype_layer.weight");
    const at::Tensor unit = init / init.norm(2, {1}, /*keepdim=*/true);
    EXPECT_EQ(at::allclose(unit, *FindTensor(b, "prototype_layer.weight"),
                           /*rtol=*/0, /*atol=*/1e-6),
              freeze_epochs > 0)
        << "freeze_prototypes_epochs " << freeze_epochs;
    // Other weights train in both cases.
    EXPECT_FALSE(at::equal(*FindTensor(a, "text_projection.head.0.weight"),
                           *FindTensor(b, "text_projection.head.0.weight")));
  }
}

TEST(PretrainModelTest, MismatchedEmbeddingWidthsAreRejected) {
  Experiment e = LoadExperiment(ConfigPath("demo_mammoclip"));
  e.mutable_model()->mutable_text_projection()->mutable_linear()->set_output_dim(
      32);
  EXPECT_THAT(BuildPretrainModel(e).status(),
              core::StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("text embedding width")));
}

TEST(PretrainModelTest, LoadWeightsNamesMissingTensors) {
  const Experiment e = LoadExperiment(ConfigPath("demo_mammoclip"));
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<PretrainModel> model,
                           BuildPretrainModel(e));
  EXPECT_FALSE(model->LoadWeights(TempDir() + "/missing.safetensors").ok());
}

TEST(PretrainModelTest, BadImageShapeIsAnError) {
  const Experiment e = LoadExperiment(ConfigPath("demo_mammoclip"));
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<PretrainModel> model,
                           BuildPretrainModel(e));
  EXPECT_THAT(model->EncodeImages(at::zeros({2, 2, 32, 32})).status(),
              core::StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("images must be")));
}

}  // namespace
}  // namespace mammovl::train
