#include "detection/detector_runner.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <google/protobuf/text_format.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "data/synth/synth.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::detection {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

// A TINY synthetic corpus (PNG + tables), generated once per test binary.
const std::string& Corpus() {
  static const std::string* root = [] {
    auto* path = new std::string(absl::StrCat(std::getenv("TEST_TMPDIR"), "/corpus"));
    data::SynthConfig config;
    config.set_preset(data::SynthConfig::TINY);
    config.set_num_patients(12);
    config.mutable_outputs()->set_write_dicom(false);
    auto summary = data::GenerateCorpus(config, *path);
    EXPECT_TRUE(summary.ok()) << summary.status();
    return path;
  }();
  return *root;
}

// A small ResNet-18 RetinaNet on 64 x 64 inputs of the TINY corpus (all
// images, normal ones included), trained for a few steps.
DetectorPipelineConfig TinyConfig(const std::string& out_dir) {
  DetectorPipelineConfig config;
  const std::string text = R"pb(
    model {
      encoder { resnet { depth: RESNET18 base_width: 8 } }
      feature_maps: [ 1, 2, 3 ]
      fpn { layout: TORCHVISION out_channels: 16 extra_levels: CONV_P6P7 }
      head { feature_size: 16 num_convs: 1 }
      anchors { sizes: [ 8, 16, 32, 64, 128 ] }
      classes: "Mass"
      classes: "Suspicious Calcification"
      loss { negative_image_loss: NEGATIVE_IMAGE_FOCAL }
    }
    input { height: 64 width: 64 }
    train {
      max_steps: 4
      seed: 3
      num_threads: 1
      adamw { lr: 1e-3 weight_decay: 0 }
      logging { every_n_steps: 1 tensorboard: false }
    }
    batch_size: 2
    eval_every_n_steps: 2
    num_overlays: 2
    num_loader_threads: 2
    eval { score_threshold: 0.0 }
  )pb";
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config));
  const std::string corpus = Corpus();
  for (auto [data, part] : {std::make_pair(config.mutable_train_data(), data::SplitConfig::TRAIN),
                            std::make_pair(config.mutable_test_data(), data::SplitConfig::TEST)}) {
    data->set_image_root(corpus + "/png");
    data->mutable_vindr()->set_csv(corpus + "/tables/vindr/vindr_detection_v1_folds.csv");
    data->mutable_split()->set_part(part);
  }
  config.set_output_dir(out_dir);
  return config;
}

int CountLines(const std::string& path) {
  absl::StatusOr<std::string> text = core::ReadFileToString(path);
  if (!text.ok()) return -1;
  return static_cast<int>(std::count(text->begin(), text->end(), '\n'));
}

TEST(DetectorRunnerTest, TrainsEvaluatesWritesOutputsAndResumes) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/run");
  DetectorPipelineConfig config = TinyConfig(dir);
  MVL_ASSERT_OK_AND_ASSIGN(DetectorReport report, RunDetector(config, "# test\n"));
  EXPECT_EQ(report.steps, 4);
  EXPECT_GT(report.train_images, 0);
  EXPECT_GT(report.test_images, 0);
  ASSERT_EQ(report.curve.size(), 2u);  // step 2 and the final step
  EXPECT_EQ(report.curve[0].step, 2);
  EXPECT_EQ(report.curve[1].step, 4);
  ASSERT_EQ(report.metrics.classes.size(), 2u);
  EXPECT_EQ(report.metrics.classes[0].name, "Mass");
  for (const EvalPoint& p : report.curve) {
    if (std::isfinite(p.voc_ap)) {
      EXPECT_GE(p.voc_ap, 0);
      EXPECT_LE(p.voc_ap, 1);
    }
  }

  MVL_ASSERT_OK_AND_ASSIGN(std::string json, core::ReadFileToString(dir + "/metrics.json"));
  EXPECT_THAT(json, HasSubstr("\"steps\": 4"));
  EXPECT_THAT(json, HasSubstr("\"test\": {"));
  MVL_ASSERT_OK_AND_ASSIGN(std::string predictions,
                           core::ReadFileToString(dir + "/predictions.csv"));
  EXPECT_TRUE(absl::StartsWith(predictions, "image_id,class,label,score,x1,y1,x2,y2\n"));
  // Every prediction row has 8 fields and coordinates inside the original frame.
  for (absl::string_view line : absl::StrSplit(predictions, '\n', absl::SkipEmpty())) {
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 7) << line;
  }
  EXPECT_EQ(CountLines(dir + "/eval_curve.csv"), 3);
  EXPECT_TRUE(std::filesystem::exists(dir + "/ap_curve.png"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/loss_curve.png"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/skipped_images.csv"));
  int overlays = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/overlays")) {
    overlays += entry.path().extension() == ".png";
  }
  EXPECT_EQ(overlays, 2);

  // The run folder holds checkpoints: a second run needs `resume`.
  EXPECT_THAT(RunDetector(config, ""), StatusIs(absl::StatusCode::kFailedPrecondition));
  config.set_resume(true);
  config.mutable_train()->set_max_steps(6);
  MVL_ASSERT_OK_AND_ASSIGN(DetectorReport resumed, RunDetector(config, ""));
  EXPECT_EQ(resumed.steps, 6);
  // The curve keeps the evaluations before the restart (steps 2 and 4 from
  // the first run's file), then step 6.
  ASSERT_EQ(resumed.curve.size(), 3u);
  EXPECT_EQ(resumed.curve[0].step, 2);
  EXPECT_EQ(resumed.curve[1].step, 4);
  EXPECT_EQ(resumed.curve[2].step, 6);
  EXPECT_EQ(CountLines(dir + "/eval_curve.csv"), 4);
}

TEST(DetectorRunnerTest, RejectsBadConfigsBeforeWork) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/bad");
  DetectorPipelineConfig config = TinyConfig(dir);
  config.clear_output_dir();
  EXPECT_THAT(RunDetector(config, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("output_dir")));
  config = TinyConfig(dir);
  config.mutable_model()->clear_classes();
  EXPECT_THAT(RunDetector(config, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model.classes")));
  config = TinyConfig(dir);
  config.mutable_model()->mutable_anchors()->clear_sizes();
  config.mutable_model()->mutable_anchors()->add_pyramid_levels(3);
  EXPECT_THAT(RunDetector(config, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pyramid_levels")));
  config = TinyConfig(dir);
  config.mutable_model()->set_feature_maps(0, 7);
  EXPECT_THAT(RunDetector(config, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("feature_maps")));
  config = TinyConfig(dir);
  config.set_batch_size(0);
  EXPECT_THAT(RunDetector(config, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("batch_size")));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace mammovl::detection
