#include "mil/mil_train.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/proto_config.h"
#include "core/state_dict.h"
#include "core/status_matchers.h"
#include "data/synth/synth.h"
#include "data/synth/synth_config.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::mil {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  const char* root = std::getenv("TEST_TMPDIR");
  return absl::StrCat(root ? root : "/tmp", "/", name);
}

// The TINY synthetic corpus (8 patients, 256×152 PNGs), written once.
const std::string& TinyCorpus() {
  static const std::string* dir = [] {
    auto* d = new std::string(TempDir("tiny_corpus"));
    data::SynthConfig config;
    config.set_preset(data::SynthConfig::TINY);
    config.mutable_outputs()->set_write_dicom(false);
    absl::StatusOr<data::SynthSummary> summary = data::GenerateCorpus(config, *d);
    EXPECT_TRUE(summary.ok()) << summary.status();
    return d;
  }();
  return *dir;
}

// A small FPN-MIL on the tiny corpus: 64² patches, a narrow ResNet-18 whose
// layer3/layer4 feed the FPN (grids 4², 2², 1²), ISAB + PMA.
MilPipelineConfig TinyConfig(const std::string& out) {
  MilPipelineConfig config;
  const std::string corpus = TinyCorpus();
  config.mutable_data()->set_image_root(corpus + "/png");
  config.mutable_data()->mutable_fpn_mil()->set_csv(corpus +
                                                    "/tables/vindr/vindrmammo_grouped_df.csv");
  config.set_target("calcification");
  config.mutable_patching()->set_patch_size(64);
  auto* resnet = config.mutable_features()->mutable_backbone()->mutable_resnet();
  resnet->set_depth(vision::ResNetConfig::RESNET18);
  resnet->set_base_width(8);
  for (int i = 0; i < 4; ++i) resnet->add_stage_blocks(1);
  config.mutable_features()->mutable_backbone()->set_channels_last(false);
  config.mutable_features()->set_standardize(true);
  MilModelConfig* model = config.mutable_model();
  for (int s : {16, 32, 64}) model->add_scales(s);
  model->add_backbone_channels(32);
  model->add_backbone_channels(64);
  model->set_fpn_dim(16);
  model->set_embed_dim(16);
  model->set_extra_level_stride(2);
  model->mutable_encoder()->mutable_set_transformer()->set_num_heads(2);
  model->mutable_pooling()->mutable_pma();
  model->mutable_scale_aggregator()->set_hidden_dim(8);
  MilTrainingConfig* training = config.mutable_training();
  training->set_epochs(2);
  training->set_batch_size(4);
  training->set_pos_weight(0);
  training->set_valid_splits(3);
  training->mutable_trainer()->mutable_adamw()->set_lr(1e-3);
  training->mutable_trainer()->mutable_checkpoint()->set_save_final(false);
  training->mutable_trainer()->mutable_logging()->set_tensorboard(false);
  config.mutable_roi_eval()->mutable_heatmap()->set_sigma(2);
  config.mutable_roi_eval()->mutable_boxes()->set_min_area(4);
  config.mutable_roi_eval()->set_overlays(1);
  config.set_output_dir(out);
  return config;
}

std::vector<std::string> FeatureFiles(const std::string& dir,
                                      const std::vector<MilImage>& images) {
  std::vector<std::string> files;
  for (const MilImage& image : images) files.push_back(FeatureFilePath(dir, image));
  return files;
}

TEST(MilTrainTest, PublishedConfigsValidate) {
  for (const std::string name : {"calcification", "mass", "synth_demo"}) {
    MilPipelineConfig config;
    MVL_ASSERT_OK(core::LoadConfig("configs/fpn_mil_" + name + ".pbtxt", {}, &config));
    MVL_EXPECT_OK(ValidateMilPipelineConfig(config)) << name;
  }
  MilPipelineConfig calc;
  MVL_ASSERT_OK(core::LoadConfig("configs/fpn_mil_calcification.pbtxt", {}, &calc));
  EXPECT_TRUE(calc.model().encoder().has_set_transformer());
  EXPECT_TRUE(calc.model().pooling().has_pma());
  MilPipelineConfig mass;
  MVL_ASSERT_OK(core::LoadConfig("configs/fpn_mil_mass.pbtxt", {}, &mass));
  EXPECT_TRUE(mass.model().encoder().has_mlp());
  EXPECT_TRUE(mass.model().pooling().attention().gated());
}

TEST(MilTrainTest, RejectsBadConfigsNamingTheField) {
  MilPipelineConfig config = TinyConfig(TempDir("bad"));
  config.mutable_training()->set_batch_size(0);
  EXPECT_THAT(ValidateMilPipelineConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("training.batch_size")));
  config = TinyConfig(TempDir("bad"));
  config.mutable_features()->add_maps(3);
  EXPECT_THAT(ValidateMilPipelineConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("features.maps")));
  config = TinyConfig(TempDir("bad"));
  config.mutable_model()->set_backbone_channels(0, 33);
  config.mutable_features()->set_cache_dir(TempDir("bad_features"));
  EXPECT_THAT(RunMilPipeline(config, "extract_features"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("channels")));
  EXPECT_THAT(RunMilPipeline(TinyConfig(TempDir("bad")), "fit"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mode")));
  // A fine-tuned backbone has neither offline files nor fixed statistics;
  // flips need online extraction.
  config = TinyConfig(TempDir("bad"));
  config.mutable_features()->set_trainable(true);
  EXPECT_THAT(ValidateMilPipelineConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("features.standardize")));
  config.mutable_features()->set_standardize(false);
  MVL_EXPECT_OK(ValidateMilPipelineConfig(config));
  config.mutable_features()->set_cache_dir(TempDir("bad_features"));
  EXPECT_THAT(ValidateMilPipelineConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("features.cache_dir")));
  config = TinyConfig(TempDir("bad"));
  config.mutable_training()->set_flip_augmentation(true);
  EXPECT_THAT(ValidateMilPipelineConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("training.flip_augmentation")));
}

// The tiny config with the backbone fine-tuned end to end.
MilPipelineConfig TrainableConfig(const std::string& out) {
  MilPipelineConfig config = TinyConfig(out);
  config.mutable_features()->set_standardize(false);
  config.mutable_features()->set_trainable(true);
  config.mutable_training()->set_flip_augmentation(true);
  return config;
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

TEST(MilTrainTest, TrainableBackboneTakesGradientsAFrozenOneDoesNot) {
  const at::Tensor patches = at::rand({6, 1, 64, 64});
  for (const bool trainable : {true, false}) {
    MilPipelineConfig config = TrainableConfig(TempDir("grad"));
    config.mutable_features()->set_trainable(trainable);
    MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<FeatureExtractor> extractor,
                             FeatureExtractor::Create(config));
    EXPECT_EQ(extractor->trainable(), trainable);
    extractor->SetTraining(true);
    EXPECT_EQ(extractor->is_training(), trainable);  // a frozen backbone stays in eval mode
    MVL_ASSERT_OK_AND_ASSIGN(std::vector<at::Tensor> maps, extractor->Maps(patches));
    ASSERT_EQ(maps.size(), 2u);
    EXPECT_EQ(maps[0].sizes(), (std::vector<int64_t>{6, 32, 4, 4}));
    EXPECT_EQ(maps[0].requires_grad(), trainable);
    const std::vector<std::pair<std::string, at::Tensor>> params = extractor->NamedParameters();
    ASSERT_FALSE(params.empty());
    for (const auto& [name, p] : params) {
      EXPECT_TRUE(StartsWith(name, "inst_encoder.backbone.")) << name;
      EXPECT_EQ(p.requires_grad(), trainable) << name;
    }
    if (!trainable) continue;
    (maps[0].square().mean() + maps[1].square().mean()).backward();
    // The taps are layer3 and layer4 (the last two maps): every parameter
    // lies on their path.
    int defined = 0, nonzero = 0;
    for (const auto& [name, p] : params) {
      defined += p.grad().defined();
      nonzero += p.grad().defined() && p.grad().abs().sum().item<double>() > 0;
    }
    EXPECT_EQ(defined, static_cast<int>(params.size()));
    EXPECT_GT(nonzero, static_cast<int>(params.size()) / 2);
  }
}

TEST(MilTrainTest, FineTunesTheBackboneAndSavesItWithTheModel) {
  const std::string out = TempDir("trainable_run");
  const MilPipelineConfig config = TrainableConfig(out);
  MVL_ASSERT_OK_AND_ASSIGN(MilRunResult trained, RunMilPipeline(config, "train"));
  EXPECT_GE(trained.best_epoch, 1);
  EXPECT_FALSE(core::PathExists(out + "/feature_stats.safetensors"));
  // best_model.safetensors holds the fine-tuned backbone: its weights differ
  // from the seeded initialisation, BatchNorm statistics were updated.
  MVL_ASSERT_OK_AND_ASSIGN(core::StateDict best,
                           core::LoadStateDict(out + "/best_model.safetensors"));
  std::map<std::string, at::Tensor> saved(best.begin(), best.end());
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<FeatureExtractor> initial,
                           FeatureExtractor::Create(config));
  int changed = 0, compared = 0;
  for (const auto& list : {initial->NamedParameters(), initial->NamedBuffers()}) {
    for (const auto& [name, t] : list) {
      ASSERT_EQ(saved.count(name), 1u) << name;
      ++compared;
      changed += !at::equal(saved.at(name), t);
    }
  }
  EXPECT_GT(compared, 0);
  EXPECT_GT(changed, compared / 2);
  EXPECT_FALSE(at::equal(saved.at("inst_encoder.backbone.conv1.weight"),
                         initial->NamedParameters()[0].second));
  EXPECT_EQ(saved.count("inst_encoder.inner_blocks.inner_block_0.0.weight"), 1u);
  // evaluate and roi_eval extract online with the saved backbone and
  // reproduce the metrics of training.
  MVL_ASSERT_OK_AND_ASSIGN(MilRunResult evaluated, RunMilPipeline(config, "evaluate"));
  ASSERT_EQ(evaluated.test.heads.size(), 4u);
  for (const auto& [head, m] : trained.test.heads) {
    const HeadMetrics& e = evaluated.test.heads.at(head);
    if (std::isnan(m.auc)) {
      EXPECT_TRUE(std::isnan(e.auc)) << head;
    } else {
      EXPECT_DOUBLE_EQ(e.auc, m.auc) << head;
    }
    EXPECT_DOUBLE_EQ(e.bacc, m.bacc) << head;
  }
  for (const auto& [head, m] : trained.valid.heads) {
    if (!std::isnan(m.auc)) {
      EXPECT_DOUBLE_EQ(evaluated.valid.heads.at(head).auc, m.auc) << head;
    }
  }
  if (trained.roi_images > 0) {
    MVL_ASSERT_OK_AND_ASSIGN(MilRunResult roi, RunMilPipeline(config, "roi_eval"));
    EXPECT_EQ(roi.roi_ap, trained.roi_ap);
  }
  // The frozen pipeline does not take these weights silently.
  MilPipelineConfig frozen = config;
  frozen.mutable_features()->set_trainable(false);
  frozen.mutable_training()->set_flip_augmentation(false);
  EXPECT_THAT(RunMilPipeline(frozen, "evaluate"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("features.trainable")));
  // Offline extraction of a fine-tuned backbone is refused.
  EXPECT_THAT(RunMilPipeline(config, "extract_features"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MilTrainTest, InterruptedExtractionResumesToIdenticalFiles) {
  MilPipelineConfig config = TinyConfig(TempDir("extract_run"));
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<MilImage> images, LoadMilImages(config));
  ASSERT_GE(images.size(), 8u);
  // Uninterrupted.
  const std::string whole = TempDir("features_whole");
  config.mutable_features()->set_cache_dir(whole);
  MVL_ASSERT_OK(ExtractAllFeatures(config, images).status());
  // Stopped after 5 images, then restarted.
  const std::string resumed = TempDir("features_resumed");
  config.mutable_features()->set_cache_dir(resumed);
  ExtractionOptions stop;
  stop.after_image = [](int64_t done) { return done < 5; };
  EXPECT_THAT(ExtractAllFeatures(config, images, stop).status(),
              StatusIs(absl::StatusCode::kCancelled));
  int present = 0;
  for (const std::string& f : FeatureFiles(resumed, images)) present += core::PathExists(f);
  EXPECT_EQ(present, 5);
  // A truncated file (a crash outside the atomic writer) is re-extracted.
  const std::string first = FeatureFiles(resumed, images)[0];
  MVL_ASSERT_OK(core::WriteFileAtomically(first, "garbage"));
  int64_t calls = 0;
  ExtractionOptions count;
  count.after_image = [&](int64_t) { return ++calls > 0; };
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ImageFeatures> features,
                           ExtractAllFeatures(config, images, count));
  EXPECT_EQ(calls, static_cast<int64_t>(images.size()));
  const std::vector<std::string> a = FeatureFiles(whole, images);
  const std::vector<std::string> b = FeatureFiles(resumed, images);
  for (size_t i = 0; i < a.size(); ++i) {
    MVL_ASSERT_OK_AND_ASSIGN(std::string bytes_a, core::ReadFileToString(a[i]));
    MVL_ASSERT_OK_AND_ASSIGN(std::string bytes_b, core::ReadFileToString(b[i]));
    EXPECT_TRUE(bytes_a == bytes_b) << a[i];
  }
  // The files hold what the extractor returns: maps per patch and the frame.
  MVL_ASSERT_OK_AND_ASSIGN(ImageFeatures read, ReadFeatureFile(a[0]));
  ASSERT_EQ(read.maps.size(), 2u);
  EXPECT_TRUE(at::equal(read.maps[0], features[0].maps[0]));
  EXPECT_EQ(read.maps[0].size(0), static_cast<int64_t>(read.coords.size()));
  EXPECT_EQ(read.maps[0].sizes().slice(1), (std::vector<int64_t>{32, 4, 4}));
  EXPECT_EQ(read.maps[1].sizes().slice(1), (std::vector<int64_t>{64, 2, 2}));
  // 256×152 padded (reference rule) to 320×192: 5×3 patches of 64².
  EXPECT_EQ(read.padded_height, 320);
  EXPECT_EQ(read.padded_width, 192);
  EXPECT_EQ(read.coords.size(), 15u);
  EXPECT_THAT(ReadFeatureFile(first + ".missing").status(), ::testing::Not(core::IsOk()));
}

TEST(MilTrainTest, TrainsSelectsEvaluatesAndDetectsOnTheTinyCorpus) {
  const std::string out = TempDir("train_run");
  MilPipelineConfig config = TinyConfig(out);
  MVL_ASSERT_OK_AND_ASSIGN(MilRunResult trained, RunMilPipeline(config, "train"));
  EXPECT_GT(trained.train_images, 0);
  EXPECT_GT(trained.valid_images, 0);
  EXPECT_GT(trained.test_images, 0);
  EXPECT_EQ(trained.train_images + trained.valid_images + trained.test_images, 32);
  for (const std::string file : {"best_model.safetensors", "feature_stats.safetensors",
                                 "results_summary.csv",
                                 "predictions_test.csv", "train/config.pbtxt"}) {
    EXPECT_TRUE(core::PathExists(out + "/" + file)) << file;
  }
  ASSERT_EQ(trained.test.heads.count("aggregated"), 1u);
  for (const auto& [head, m] : trained.test.heads) {
    EXPECT_TRUE(m.bacc >= 0 && m.bacc <= 1) << head;
    EXPECT_TRUE(m.f1 >= 0 && m.f1 <= 1) << head;
  }
  EXPECT_EQ(trained.test.heads.size(), 4u);  // 16, 32, 64, aggregated
  // Evaluating the saved weights gives the same test metrics.
  MVL_ASSERT_OK_AND_ASSIGN(MilRunResult evaluated, RunMilPipeline(config, "evaluate"));
  for (const auto& [head, m] : trained.test.heads) {
    const HeadMetrics& e = evaluated.test.heads.at(head);
    if (std::isnan(m.auc)) {
      EXPECT_TRUE(std::isnan(e.auc));
    } else {
      EXPECT_DOUBLE_EQ(e.auc, m.auc) << head;
    }
    EXPECT_DOUBLE_EQ(e.bacc, m.bacc) << head;
  }
  // Detection on the positive test images with boxes, if the split has any.
  if (trained.roi_images > 0) {
    EXPECT_TRUE(core::PathExists(out + "/roi_eval_results.csv"));
    EXPECT_EQ(trained.roi_ap.size(), 4u);
    for (const auto& [map, ap] : trained.roi_ap) EXPECT_TRUE(ap >= 0 && ap <= 1) << map;
    MVL_ASSERT_OK_AND_ASSIGN(MilRunResult roi, RunMilPipeline(config, "roi_eval"));
    EXPECT_EQ(roi.roi_ap, trained.roi_ap);
  }
  // A frozen backbone is not saved with the model.
  MVL_ASSERT_OK_AND_ASSIGN(core::StateDict best,
                           core::LoadStateDict(out + "/best_model.safetensors"));
  for (const auto& [name, t] : best) EXPECT_FALSE(StartsWith(name, "inst_encoder.backbone.")) << name;
}

}  // namespace
}  // namespace mammovl::mil
