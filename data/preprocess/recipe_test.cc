#include "data/preprocess/recipe.h"

#include "core/proto_config.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

PreprocessConfig Parse(const std::string& text) {
  PreprocessConfig config;
  EXPECT_THAT(core::ParseTextProto(text, "test", &config), core::IsOk());
  return config;
}

TEST(RecipeTest, MammoClipPresetIsTheReferenceRecipe) {
  MVL_ASSERT_OK_AND_ASSIGN(const ImageRecipe r,
                           PresetRecipe(PreprocessConfig::MAMMOCLIP));
  EXPECT_EQ(r.trim_border(), 5);
  EXPECT_TRUE(r.has_min_max());
  EXPECT_EQ(r.output_bits(), 8);
  EXPECT_TRUE(r.has_breast_crop());
  EXPECT_EQ(r.breast_crop().threshold(), 40);
  EXPECT_EQ(r.fixed_size().width(), 912);
  EXPECT_EQ(r.fixed_size().height(), 1520);
  EXPECT_EQ(r.png_compression(), -1);
  MVL_ASSERT_OK_AND_ASSIGN(const ImageRecipe m,
                           PresetRecipe(PreprocessConfig::MAMA));
  EXPECT_TRUE(m.has_scale_by_max());
  EXPECT_EQ(m.long_side(), 1024);
  EXPECT_EQ(m.trim_border(), 0);
  EXPECT_FALSE(m.has_breast_crop());
}

TEST(RecipeTest, RecipeFieldsOverrideThePreset) {
  const PreprocessConfig c = Parse(R"pb(
    input_dir: "in"
    output_dir: "out"
    preset: MAMMOCLIP
    recipe {
      output_bits: 16
      long_side: 800
      window {}
    }
  )pb");
  MVL_ASSERT_OK_AND_ASSIGN(const ImageRecipe r, BuildRecipe(c));
  EXPECT_EQ(r.output_bits(), 16);
  EXPECT_EQ(r.long_side(), 800);  // replaces fixed_size (same oneof)
  EXPECT_FALSE(r.has_fixed_size());
  EXPECT_TRUE(r.has_window());    // replaces min_max
  EXPECT_EQ(r.trim_border(), 5);  // kept from the preset
  MVL_EXPECT_OK(ValidatePreprocessConfig(c));
}

TEST(RecipeTest, ValidationNamesTheField) {
  EXPECT_THAT(BuildRecipe(Parse("preset: CUSTOM")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("recipe.intensity")));
  EXPECT_THAT(BuildRecipe(Parse("recipe { output_bits: 12 }")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("recipe.output_bits")));
  EXPECT_THAT(
      BuildRecipe(Parse("preset: MAMA recipe { output_bits: 16 }")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scale_by_max")));
  EXPECT_THAT(BuildRecipe(Parse("recipe { window { center: 1 } }")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("center and width")));
  EXPECT_THAT(
      BuildRecipe(Parse("recipe { fixed_size { width: 0 height: 5 } }")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fixed_size")));
  EXPECT_THAT(
      BuildRecipe(Parse("recipe { flip { rule: DICOM } }")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("breast_side")));
  EXPECT_THAT(BuildRecipe(Parse("recipe { png_compression: 10 }")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("png_compression")));
  EXPECT_THAT(
      BuildRecipe(Parse("recipe { trim_border: -1 }")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trim_border")));
}

TEST(RecipeTest, ConfigValidation) {
  EXPECT_THAT(ValidatePreprocessConfig(Parse("output_dir: 'o'")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input_dir or input_csv")));
  // With a CSV, input_dir is the base of its relative paths.
  MVL_EXPECT_OK(ValidatePreprocessConfig(
      Parse("input_dir: 'i' input_csv: 'c' output_dir: 'o'")));
  EXPECT_THAT(
      ValidatePreprocessConfig(Parse("input_dir: 'i'")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("output_dir")));
  EXPECT_THAT(
      ValidatePreprocessConfig(Parse(
          "input_dir: 'i' output_dir: 'o' shard_index: 3 shard_count: 3")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shard")));
  EXPECT_THAT(
      ValidatePreprocessConfig(
          Parse("input_dir: 'i' output_dir: 'o' max_failures: -2")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_failures")));
  EXPECT_THAT(ValidatePreprocessConfig(Parse(
                  "input_dir: 'i' output_dir: 'o' max_failure_fraction: 2")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_failure_fraction")));
  EXPECT_THAT(
      ValidatePreprocessConfig(Parse("mode: MAP_BOXES output_dir: 'o'")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("annotations_csv")));
  MVL_EXPECT_OK(ValidatePreprocessConfig(
      Parse("mode: MAP_BOXES output_dir: 'o' map_boxes { annotations_csv: 'a' "
            "output_csv: 'b' }")));
}

}  // namespace
}  // namespace mammovl::data
