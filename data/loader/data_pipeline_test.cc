// The synthetic corpus through an adapter, the pairing, the transforms and
// the loader: what a pretraining run sees.
#include "data/loader/data_pipeline.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/status_matchers.h"
#include "data/datasets/testing/tiny_corpus.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

DataConfig Config(const std::string& text) {
  DataConfig c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &c)) << text;
  c.mutable_dataset()->set_image_root(absl::StrCat(testing::TinyCorpus(), "/png"));
  return c;
}

TEST(DataPipelineTest, MammoClipImageTextPretrainingBatches) {
  DataConfig c = Config(R"pb(
    dataset { split { part: TRAIN } }
    pairing { mammoclip {} }
    transforms { mammoclip { height: 256 width: 152 } }
    loader { batch_size: 4 num_workers: 2 output_channels: 3 }
  )pb");
  c.mutable_dataset()->mutable_mammoclip_image_text()->set_csv(
      testing::TablePath("mammoclip/clip_pretrain.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(DataPipeline p, BuildDataPipeline(c));
  MVL_ASSERT_OK_AND_ASSIGN(const Batch b, p.loader->Next());
  ASSERT_EQ(b.images.size(), 2u);  // two views of each breast
  EXPECT_EQ(b.images[0].sizes(), (at::IntArrayRef{4, 3, 256, 152}));
  ASSERT_EQ(b.texts.size(), 2u);
  for (const std::string& t : b.texts[0]) EXPECT_FALSE(t.empty());
  // Normalised: background at (0 - 0.3089) / 0.2505 ≈ -1.23, tissue above.
  EXPECT_NEAR(b.images[0].min().item<float>(), -1.2331f, 1e-3);
  EXPECT_GT(b.images[0].max().item<float>(), 1.0f);
  EXPECT_EQ(p.loader->stats().failures, 0);
}

TEST(DataPipelineTest, VindrClassificationWithLabelsAndBoxes) {
  DataConfig c = Config(R"pb(
    dataset { split { part: ALL } }
    pairing { single {} random: false }
    transforms { mammoclip { height: 256 width: 152 } train: false }
    loader { batch_size: 6 shuffle: false label_names: "mass" label_names: "calcification" }
  )pb");
  c.mutable_dataset()->mutable_vindr()->set_csv(testing::TablePath("vindr/vindr_detection_v1_folds.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(DataPipeline p, BuildDataPipeline(c));
  EXPECT_EQ(p.loader->batches_per_epoch(), 8);  // 48 images
  int positives = 0;
  for (int i = 0; i < 8; ++i) {
    MVL_ASSERT_OK_AND_ASSIGN(const Batch b, p.loader->Next());
    ASSERT_EQ(b.labels.sizes(), (at::IntArrayRef{6, 2}));
    for (int64_t k = 0; k < b.size(); ++k) {
      const bool mass = b.labels[k][0].item<float>() == 1;
      positives += mass;
      bool has_mass_box = false;
      for (const Box& box : b.boxes[k]) has_mass_box |= box.category == "Mass";
      EXPECT_EQ(mass, has_mass_box) << b.sample_ids[k];
    }
  }
  EXPECT_GT(positives, 0);
}

TEST(DataPipelineTest, ErrorsNameTheirSource) {
  DataConfig c = Config("loader { batch_size: 2 } transforms { mama {} }");
  EXPECT_THAT(BuildDataPipeline(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no source")));
  c.mutable_dataset()->mutable_rsna()->set_csv(testing::TablePath("rsna/train.csv"));
  c.clear_transforms();
  EXPECT_THAT(BuildDataPipeline(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("transforms")));
}

}  // namespace
}  // namespace mammovl::data
