#include "eval/classifier_runner.h"

#include <torch/torch.h>

#include <cstdlib>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/state_dict.h"
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

// conv(1 -> 4, 3x3) -> BN -> ReLU -> global mean: 4 pooled features; a
// projection to 3 for the "projected" features.
struct TinyTowerImpl : torch::nn::Module {
  TinyTowerImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3)));
    bn = register_module("bn", torch::nn::BatchNorm2d(4));
    proj = register_module("proj", torch::nn::Linear(4, 3));
  }
  torch::Tensor Pooled(const torch::Tensor& x) {
    return torch::relu(bn->forward(conv->forward(x))).mean({2, 3});
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(TinyTower);

class TinyModel : public VisionLanguageModel {
 public:
  TinyModel() { torch::manual_seed(0); }
  absl::StatusOr<at::Tensor> EncodeImages(const at::Tensor& images) override {
    return torch::nn::functional::normalize(tower_->proj->forward(tower_->Pooled(images)));
  }
  absl::StatusOr<at::Tensor> EncodeTexts(const std::vector<std::string>&) override {
    return absl::UnimplementedError("no text tower");
  }
  absl::StatusOr<at::Tensor> ImageFeatures(const at::Tensor& images, bool projected) override {
    at::Tensor pooled = tower_->Pooled(images);
    return projected ? tower_->proj->forward(pooled) : pooled;
  }
  double LogitScale() const override { return 1; }
  void SetTraining(bool training) override { tower_->train(training); }
  std::vector<std::pair<std::string, at::Tensor>> ImageParameters() override {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& item : tower_->named_parameters()) {
      out.emplace_back("image_encoder." + item.key(), item.value());
    }
    return out;
  }
  std::vector<std::pair<std::string, at::Tensor>> ImageBuffers() override {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& item : tower_->named_buffers()) {
      out.emplace_back("image_encoder." + item.key(), item.value());
    }
    return out;
  }
  TinyTower tower_;
};

// Images whose brightness (label 1: bright square) tells the class.
std::shared_ptr<std::vector<data::Sample>> MakeSplit(const std::string& dir, int n, int seed) {
  EXPECT_TRUE(core::MakeDirectories(dir).ok());
  auto samples = std::make_shared<std::vector<data::Sample>>();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(0, 40);
  for (int i = 0; i < n; ++i) {
    const int label = (i + seed) % 3 == 0 ? 1 : 0;
    cv::Mat image(24, 16, CV_8UC1);
    for (int y = 0; y < 24; ++y) {
      for (int x = 0; x < 16; ++x) {
        const bool square = label && y >= 8 && y < 16 && x >= 4 && x < 12;
        image.at<uint8_t>(y, x) = static_cast<uint8_t>((square ? 180 : 40) + noise(rng));
      }
    }
    const std::string path = absl::StrCat(dir, "/", i, ".png");
    EXPECT_TRUE(cv::imwrite(path, image));
    data::Sample s;
    s.id = absl::StrCat(dir, i);
    s.patient_id = absl::StrCat("p", i / 2);
    s.laterality = i % 2 ? "L" : "R";
    s.images.push_back({path, s.id, "CC", s.laterality});
    s.labels["mass"] = static_cast<float>(label);
    samples->push_back(std::move(s));
  }
  return samples;
}

ClassifierSplits Splits() {
  return {MakeSplit(TempDir("train"), 48, 1), MakeSplit(TempDir("val"), 24, 2),
          MakeSplit(TempDir("test"), 24, 3)};
}

const char kData[] = R"pb(
  loader { batch_size: 8 num_workers: 1 }
  transforms { fpn_mil { augment: true } }
)pb";

std::vector<at::Tensor> Snapshot(VisionLanguageModel& model) {
  std::vector<at::Tensor> out;
  for (const auto& [name, t] : model.ImageParameters()) out.push_back(t.detach().clone());
  for (const auto& [name, t] : model.ImageBuffers()) out.push_back(t.detach().clone());
  return out;
}

bool Same(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (!at::equal(a[i], b[i])) return false;
  }
  return true;
}

TEST(ClassifierRunnerTest, LinearProbeLeavesTheEncoderUnchanged) {
  TinyModel model;
  const auto before = Snapshot(model);
  ClassifierOptions options;
  options.out_dir = TempDir("lp_out");
  options.feature_cache_dir = TempDir("lp_cache");
  options.cache_key = "tiny-v1";
  const auto config = Parse<ClassifierConfig>(R"pb(
    label: "mass" mode: LINEAR_PROBE epochs: 20 batch_size: 8
    optimizer { adamw { lr: 0.05 } } report { bootstrap_resamples: 0 }
  )pb");
  const ClassifierSplits splits = Splits();
  MVL_ASSERT_OK_AND_ASSIGN(ClassifierResult result,
                           RunClassifier(model, splits, Parse<data::DataConfig>(kData), config, options));
  EXPECT_TRUE(Same(before, Snapshot(model)));
  EXPECT_EQ(result.test_metrics.rows, 24);
  EXPECT_GT(result.test_metrics.Get("roc_auc"), 0.9);
  for (const char* f : {"metrics.json", "report.md", "training_curve.png",
                        "classifier.safetensors", "mass_roc.png"}) {
    EXPECT_TRUE(core::PathExists(options.out_dir + "/" + f)) << f;
  }
  EXPECT_TRUE(core::PathExists(options.feature_cache_dir + "/train_features.npy"));
  MVL_ASSERT_OK_AND_ASSIGN(core::StateDict saved,
                           core::LoadStateDict(options.out_dir + "/classifier.safetensors"));
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[0].first.rfind("classifier.classification_head.", 0), 0u);

  // The cache is reused: a second run with an encoder that would give other
  // features reproduces the first run exactly.
  TinyModel other;
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, p] : other.ImageParameters()) p.add_(1.0);
  }
  MVL_ASSERT_OK_AND_ASSIGN(ClassifierResult cached,
                           RunClassifier(other, splits, Parse<data::DataConfig>(kData), config, options));
  EXPECT_EQ(cached.test_metrics.Get("roc_auc"), result.test_metrics.Get("roc_auc"));
  // Another key invalidates it.
  options.cache_key = "tiny-v2";
  MVL_ASSERT_OK_AND_ASSIGN(ClassifierResult fresh,
                           RunClassifier(other, splits, Parse<data::DataConfig>(kData), config, options));
  EXPECT_NE(fresh.test_predictions.probabilities, result.test_predictions.probabilities);
}

TEST(ClassifierRunnerTest, FineTuneChangesTheEncoder) {
  TinyModel model;
  const auto before = Snapshot(model);
  const auto config = Parse<ClassifierConfig>(R"pb(
    label: "mass" mode: FINE_TUNE epochs: 3 patience: 0 balanced_sampling: true
    loss { weighted_bce { pos_weight: 2 } }
    optimizer { adamw { lr: 0.01 } } report { bootstrap_resamples: 0 }
  )pb");
  ClassifierOptions options;
  options.out_dir = TempDir("ft_out");
  MVL_ASSERT_OK_AND_ASSIGN(ClassifierResult result,
                           RunClassifier(model, Splits(), Parse<data::DataConfig>(kData), config, options));
  EXPECT_FALSE(Same(before, Snapshot(model)));
  EXPECT_EQ(result.history.size(), 3u);
  EXPECT_EQ(result.test_metrics.rows, 24);
  MVL_ASSERT_OK_AND_ASSIGN(core::StateDict saved,
                           core::LoadStateDict(options.out_dir + "/classifier.safetensors"));
  std::set<std::string> names;
  for (const auto& [name, t] : saved) names.insert(name);
  EXPECT_TRUE(names.count("image_encoder.conv.weight"));
  EXPECT_TRUE(names.count("image_encoder.bn.running_mean"));
  EXPECT_TRUE(names.count("classifier.classification_head.bias"));
}

TEST(ClassifierRunnerTest, Errors) {
  TinyModel model;
  ClassifierSplits splits = Splits();
  auto bad = std::make_shared<std::vector<data::Sample>>(*splits.val);
  (*bad)[5].labels["mass"] = 0.5;
  splits.val = bad;
  EXPECT_THAT(RunClassifier(model, splits, Parse<data::DataConfig>(kData),
                            Parse<ClassifierConfig>("label: 'mass' epochs: 1"), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sample 5")));
  splits = Splits();
  EXPECT_THAT(RunClassifier(model, splits, Parse<data::DataConfig>(kData),
                            Parse<ClassifierConfig>("label: 'calc' epochs: 1"), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("calc")));
  EXPECT_THAT(RunClassifier(model, splits, Parse<data::DataConfig>(kData),
                            Parse<ClassifierConfig>("epochs: 1"), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("label")));
}

}  // namespace
}  // namespace mammovl::eval
