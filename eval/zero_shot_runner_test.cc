// Zero-shot wiring test: encoders built so that image and text embeddings
// are aligned (a bright image points where "mass" points) must give AUC 1;
// the same predictions against shuffled labels must give about 0.5.
#include "eval/zero_shot_runner.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "opencv2/imgcodecs.hpp"

namespace mammovl::eval {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

template <typename T>
T Parse(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message));
  return message;
}

std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp ? tmp : "/tmp") + "/" + name;
}

// Image embedding: the angle pi/2 * brightness, i.e. (cos, sin); bright
// images point at (0, 1). Text embedding: "no ..." -> (1, 0), anything else
// -> (0, 1). So the cosine with "mass" rises with brightness.
class AlignedModel : public VisionLanguageModel {
 public:
  absl::StatusOr<at::Tensor> EncodeImages(const at::Tensor& images) override {
    ++image_batches;
    // The loader divides by 255 and normalises with Mammo-CLIP's mean/std
    // (FPN-MIL pipeline: no per-image min-max); undo it to [0, 1].
    at::Tensor m = (images.mean({1, 2, 3}) * 0.25053555 + 0.3089279).clamp(0, 1);
    at::Tensor angle = m * (M_PI / 2);
    return at::stack({at::cos(angle), at::sin(angle)}, 1).to(at::kFloat);
  }
  absl::StatusOr<at::Tensor> EncodeTexts(const std::vector<std::string>& texts) override {
    std::vector<float> values;
    for (const auto& t : texts) {
      const bool negative = absl::StartsWith(t, "no ");
      values.push_back(negative ? 1.f : 0.f);
      values.push_back(negative ? 0.f : 1.f);
    }
    return at::tensor(values).view({static_cast<int64_t>(texts.size()), 2});
  }
  absl::StatusOr<at::Tensor> ImageFeatures(const at::Tensor& images, bool) override {
    return EncodeImages(images);
  }
  double LogitScale() const override { return 100.0; }
  void SetTraining(bool) override {}
  std::vector<std::pair<std::string, at::Tensor>> ImageParameters() override { return {}; }
  std::vector<std::pair<std::string, at::Tensor>> ImageBuffers() override { return {}; }

  int image_batches = 0;
};

// Writes `n` small PNGs: label 1 bright (mean in 0.55..0.95), label 0 dark
// (0.05..0.45), with noise. Every 10th sample has no label.
std::shared_ptr<std::vector<data::Sample>> MakeSamples(const std::string& dir, int n) {
  EXPECT_TRUE(core::MakeDirectories(dir).ok());
  auto samples = std::make_shared<std::vector<data::Sample>>();
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < n; ++i) {
    const int label = (i * 5 + i / 3) % 2;
    const double level = label ? 0.55 + 0.4 * u(rng) : 0.05 + 0.4 * u(rng);
    cv::Mat image(40, 24, CV_8UC1);
    for (int y = 0; y < image.rows; ++y) {
      for (int x = 0; x < image.cols; ++x) {
        image.at<uint8_t>(y, x) = cv::saturate_cast<uint8_t>(
            255 * level + 20 * (u(rng) - 0.5));
      }
    }
    const std::string path = absl::StrCat(dir, "/", i, ".png");
    EXPECT_TRUE(cv::imwrite(path, image));
    data::Sample s;
    s.id = absl::StrCat("image", i);
    s.patient_id = absl::StrCat("patient", i / 4);
    s.laterality = (i / 2) % 2 ? "L" : "R";
    s.images.push_back({path, s.id, i % 2 ? "MLO" : "CC", s.laterality});
    if (i % 10 != 9) s.labels["mass"] = static_cast<float>(label);
    samples->push_back(std::move(s));
  }
  return samples;
}

const char kData[] = R"pb(
  loader { batch_size: 16 num_workers: 2 shuffle: true drop_last: true }
  transforms { fpn_mil {} }
)pb";

const char kConfig[] = R"pb(
  tasks { name: "mass" preset: MAMMOCLIP_MASS }
  tasks {
    name: "mass_breast"
    label: "mass"
    classes { name: "no mass" prompts: "no mass" prompts: "no lesion" }
    classes { name: "mass" prompts: "mass" prompts: "a mass is seen" }
    scoring: SCALED_SOFTMAX
    grouping { level: BREAST }
  }
  report { bootstrap_resamples: 100 sensitivity_at_specificity: 0.9 }
  export_embeddings { images: true texts: true }
)pb";

TEST(ZeroShotRunnerTest, AlignedEncodersGiveAucOneAndShuffledLabelsChance) {
  auto samples = MakeSamples(TempDir("aligned_png"), 150);
  AlignedModel model;
  ZeroShotOptions options;
  options.out_dir = TempDir("aligned_out");
  options.context = {{"model", "aligned test encoders"}};
  MVL_ASSERT_OK_AND_ASSIGN(
      ZeroShotResult result,
      RunZeroShot(model, samples, Parse<data::DataConfig>(kData),
                  Parse<ZeroShotConfig>(kConfig), options));
  ASSERT_EQ(result.metrics.size(), 2u);
  const TaskMetrics& mass = result.metrics[0];
  EXPECT_EQ(mass.rows, 135);  // 15 samples lack the label
  EXPECT_EQ(mass.rows_without_label, 15);
  EXPECT_DOUBLE_EQ(mass.Get("roc_auc"), 1.0);
  EXPECT_DOUBLE_EQ(mass.Get("average_precision"), 1.0);
  EXPECT_DOUBLE_EQ(mass.Get("sensitivity_at_specificity_0.90"), 1.0);
  EXPECT_EQ(model.image_batches, 10);  // 150 / 16, rounded up: images embedded once
  // Breast level with the learnt scale: still perfectly ordered.
  EXPECT_EQ(result.metrics[1].level, "breast");
  EXPECT_LT(result.metrics[1].units, 135);
  EXPECT_DOUBLE_EQ(result.metrics[1].Get("roc_auc"), 1.0);
  // The scale sharpens the probabilities.
  const auto& unscaled = result.predictions[0].probabilities;
  const auto& scaled = result.predictions[1].probabilities;
  EXPECT_GT(std::abs(scaled[0][1] - 0.5), std::abs(unscaled[0][1] - 0.5));

  // Shuffled labels: the same scores, labels permuted among rows.
  TaskPredictions shuffled = result.predictions[0];
  std::mt19937 rng(11);
  std::shuffle(shuffled.labels.begin(), shuffled.labels.end(), rng);
  GroupingConfig image;
  image.set_level(GroupingConfig::IMAGE);
  image.set_reduce(GroupingConfig::MEAN);
  ReportConfig report;
  report.set_bootstrap_resamples(200);
  MVL_ASSERT_OK_AND_ASSIGN(TaskMetrics chance, EvaluateTask(shuffled, image, report));
  EXPECT_NEAR(chance.Get("roc_auc"), 0.5, 0.12);
  EXPECT_LT(chance.auc_lower, 0.5);
  EXPECT_GT(chance.auc_upper, 0.5);

  for (const char* file : {"metrics.json", "report.md", "predictions_mass.csv",
                           "mass_roc.png", "mass_pr.png", "mass_confusion.png",
                           "mass_breast_roc.png", "image_embeddings.npy",
                           "image_embeddings_index.csv", "text_embeddings.npy",
                           "text_embeddings_index.csv"}) {
    EXPECT_TRUE(core::PathExists(options.out_dir + "/" + file)) << file;
  }
  MVL_ASSERT_OK_AND_ASSIGN(std::string md,
                           core::ReadFileToString(options.out_dir + "/report.md"));
  EXPECT_THAT(md, HasSubstr("aligned test encoders"));
  EXPECT_THAT(md, HasSubstr("| mass | image | 135 | 1.000"));
}

TEST(ZeroShotRunnerTest, LabelOutsideTheClassesIsAnError) {
  auto samples = MakeSamples(TempDir("bad_label_png"), 20);
  (*samples)[4].labels["mass"] = 3;
  AlignedModel model;
  EXPECT_THAT(RunZeroShot(model, samples, Parse<data::DataConfig>(kData),
                          Parse<ZeroShotConfig>("tasks { name: 'mass' preset: MAMMOCLIP_MASS }"),
                          {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sample 4")));
  EXPECT_THAT(RunZeroShot(model, samples, Parse<data::DataConfig>(kData),
                          ZeroShotConfig(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ZeroShotRunnerTest, UnreadableImagesAreSkippedAndCounted) {
  auto samples = MakeSamples(TempDir("missing_png"), 30);
  (*samples)[3].images[0].path = TempDir("missing_png/does_not_exist.png");
  AlignedModel model;
  MVL_ASSERT_OK_AND_ASSIGN(
      ZeroShotResult result,
      RunZeroShot(model, samples, Parse<data::DataConfig>(kData),
                  Parse<ZeroShotConfig>("tasks { name: 'mass' preset: MAMMOCLIP_MASS }"),
                  {}));
  EXPECT_EQ(result.metrics[0].rows, 26);  // 27 labelled, one unreadable
  EXPECT_EQ(result.metrics[0].rows_without_label, 4);
}

}  // namespace
}  // namespace mammovl::eval
