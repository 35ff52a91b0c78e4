// The evaluation binaries' libraries end to end on a small synthetic corpus:
// two pretraining steps of the demo Mammo-CLIP model write a checkpoint;
// zero-shot evaluation, the single-file Predictor (PNG and DICOM), the
// linear probe and the fine-tune run from the checked-in demo configs with
// the paths pointed at the test's corpus.
#include <cmath>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/proto_config.h"
#include "core/status_matchers.h"
#include "data/datasets/datasets.h"
#include "data/dicom/pseudonym.h"
#include "data/synth/synth.h"
#include "eval/classify.h"
#include "eval/zs_eval.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "train/pretrain.h"

namespace mammovl::eval {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

std::string TempDir() { return ::testing::TempDir(); }

const std::string& Corpus() {
  static const std::string* dir = [] {
    auto* d = new std::string(absl::StrCat(TempDir(), "/corpus"));
    data::SynthConfig config;
    config.set_preset(data::SynthConfig::TINY);
    config.set_num_patients(20);
    const auto summary = data::GenerateCorpus(config, *d);
    EXPECT_TRUE(summary.ok()) << summary.status();
    return d;
  }();
  return *dir;
}

// A checked-in config with the corpus and run paths moved into TEST_TMPDIR.
template <typename T>
T LoadConfig(const std::string& path, const std::vector<std::string>& overrides = {}) {
  absl::StatusOr<std::string> text = core::ReadFileToString(path);
  EXPECT_TRUE(text.ok()) << text.status();
  T config;
  const std::string moved = absl::StrReplaceAll(
      absl::StrReplaceAll(*text, {{"runs/demo_corpus", Corpus()}}),
      {{"\"runs/", absl::StrCat("\"", TempDir(), "/runs/")}});
  MVL_EXPECT_OK(core::ParseTextProto(moved, path, &config));
  for (const std::string& o : overrides) MVL_EXPECT_OK(core::ApplyOverride(o, &config));
  return config;
}

// Pretrains the demo model for two steps once; returns its run folder.
const std::string& Pretrained() {
  static const std::string* run_dir = [] {
    auto* dir = new std::string(absl::StrCat(TempDir(), "/runs/demo_mammoclip"));
    train::Experiment e = LoadConfig<train::Experiment>(
        "configs/demo_mammoclip.pbtxt",
        {"train { max_steps: 2 num_threads: 2 checkpoint { every_n_steps: 2 } "
         "schedule { warmup_cosine { warmup_steps: 0 } } logging { tensorboard: false } }"});
    auto result = train::RunPretraining(e);
    EXPECT_TRUE(result.ok()) << result.status();
    return dir;
  }();
  return *run_dir;
}

ModelSource Source() {
  ModelSource source;
  source.set_experiment_config("configs/demo_mammoclip.pbtxt");
  source.set_checkpoint(Pretrained());
  source.set_num_threads(2);
  return source;
}

TEST(EvalPipelineTest, ConfigsParseAndValidate) {
  MVL_EXPECT_OK(ValidateZeroShotEvalConfig(
      LoadConfig<ZeroShotEvalConfig>("configs/demo_zs_eval.pbtxt")));
  MVL_EXPECT_OK(ValidateClassifyConfig(
      LoadConfig<ClassifyConfig>("configs/demo_linear_probe.pbtxt")));
  MVL_EXPECT_OK(ValidateClassifyConfig(
      LoadConfig<ClassifyConfig>("configs/demo_fine_tune.pbtxt")));
  EXPECT_THAT(ValidateClassifyConfig(LoadConfig<ClassifyConfig>(
                  "configs/demo_linear_probe.pbtxt", {"classifier { epochs: 0 }"})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("epochs")));
}

TEST(EvalPipelineTest, ZeroShotReportAndPredictorAgree) {
  ZeroShotEvalConfig config = LoadConfig<ZeroShotEvalConfig>("configs/demo_zs_eval.pbtxt");
  *config.mutable_model() = Source();
  config.mutable_zero_shot()->mutable_report()->set_bootstrap_resamples(50);
  MVL_ASSERT_OK_AND_ASSIGN(ZeroShotResult result, RunZeroShotEval(config));
  ASSERT_EQ(result.metrics.size(), 4u);
  EXPECT_GT(result.metrics[0].rows, 0);
  EXPECT_EQ(result.metrics[3].level, "breast");
  for (const char* file : {"metrics.json", "report.md", "config.pbtxt", "mass_roc.png",
                           "predictions_mass.csv", "image_embeddings.npy",
                           "text_embeddings_index.csv"}) {
    EXPECT_TRUE(core::PathExists(config.out_dir() + "/" + file)) << file;
  }
  MVL_ASSERT_OK_AND_ASSIGN(std::string md,
                           core::ReadFileToString(config.out_dir() + "/report.md"));
  EXPECT_THAT(md, HasSubstr(Pretrained()));

  // The Predictor gives the same probabilities for a test image as the
  // dataset run did.
  MVL_ASSERT_OK_AND_ASSIGN(data::Dataset test, data::BuildDataset(config.data().dataset()));
  const TaskPredictions& mass = result.predictions[0];
  ASSERT_FALSE(mass.sample_ids.empty());
  const data::Sample* sample = nullptr;
  for (const auto& s : test.samples) {
    if (s.id == mass.sample_ids[0]) sample = &s;
  }
  ASSERT_NE(sample, nullptr);
  MVL_ASSERT_OK_AND_ASSIGN(auto predictor, Predictor::Create(config));
  MVL_ASSERT_OK_AND_ASSIGN(auto labels, predictor->Predict(sample->images[0].path));
  ASSERT_EQ(labels.size(), 4u);
  EXPECT_EQ(labels[0].task, "mass");
  EXPECT_NEAR(labels[0].probabilities[1], mass.probabilities[0][1], 1e-5);
  EXPECT_THAT(FormatPredictions(labels), HasSubstr("calcification:"));

  // The DICOM the PNG was made from goes through the Mammo-CLIP recipe.
  std::string dicom = sample->images[0].path;
  dicom = absl::StrReplaceAll(dicom, {{"/png/", "/dicom/"}, {".png", ".dcm"}});
  ASSERT_TRUE(core::PathExists(dicom)) << dicom;
  MVL_ASSERT_OK_AND_ASSIGN(auto from_dicom, predictor->Predict(dicom));
  for (const auto& label : from_dicom) {
    double sum = 0;
    for (double p : label.probabilities) {
      EXPECT_TRUE(p >= 0 && p <= 1) << p;
      sum += p;
    }
    EXPECT_NEAR(sum, 1, 1e-9);
  }
  EXPECT_THAT(predictor->Predict(TempDir() + "/missing.png"),
              StatusIs(absl::StatusCode::kNotFound));
  MVL_ASSERT_OK(core::WriteFileAtomically(TempDir() + "/junk.png", "not an image"));
  EXPECT_FALSE(predictor->Predict(TempDir() + "/junk.png").ok());
}

TEST(EvalPipelineTest, LinearProbeAndFineTuneFromConfigs) {
  ClassifyConfig probe = LoadConfig<ClassifyConfig>(
      "configs/demo_linear_probe.pbtxt", {"classifier { epochs: 3 }"});
  *probe.mutable_model() = Source();
  MVL_ASSERT_OK_AND_ASSIGN(ClassifierResult result, RunClassify(probe));
  EXPECT_GT(result.test_metrics.rows, 0);
  EXPECT_LE(result.history.size(), 3u);
  EXPECT_TRUE(core::PathExists(probe.out_dir() + "/features/train_features.npy"));
  EXPECT_TRUE(core::PathExists(probe.out_dir() + "/training_curve.png"));

  ClassifyConfig tune = LoadConfig<ClassifyConfig>(
      "configs/demo_fine_tune.pbtxt", {"classifier { epochs: 1 }"});
  *tune.mutable_model() = Source();
  MVL_ASSERT_OK_AND_ASSIGN(ClassifierResult tuned, RunClassify(tune));
  EXPECT_EQ(tuned.history.size(), 1u);
  EXPECT_TRUE(core::PathExists(tune.out_dir() + "/classifier.safetensors"));
}

TEST(EvalPipelineTest, MissingCheckpointIsNotFoundUnlessAllowed) {
  ZeroShotEvalConfig config = LoadConfig<ZeroShotEvalConfig>("configs/demo_zs_eval.pbtxt");
  config.mutable_model()->set_checkpoint(TempDir() + "/no_such_run");
  EXPECT_THAT(RunZeroShotEval(config), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace mammovl::eval
