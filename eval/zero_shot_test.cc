#include "eval/zero_shot.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace mammovl::eval {
namespace {

using ::testing::ElementsAre;
using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

ZeroShotConfig Parse(const std::string& text) {
  ZeroShotConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config));
  return config;
}

TEST(ZeroShotTest, AveragesNormalisedPromptsPerClass) {
  // Class 0: prompts (2, 0) and (0, 1) -> normalised mean (0.5, 0.5) ->
  // (1, 1) / sqrt 2. Class 1: one prompt (0, 3) -> (0, 1).
  at::Tensor prompts = at::tensor({2.0f, 0.0f, 0.0f, 1.0f, 0.0f, 3.0f}).view({3, 2});
  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor classes,
                           AverageClassEmbeddings(prompts, {2, 1}));
  ASSERT_EQ(classes.sizes().vec(), (std::vector<int64_t>{2, 2}));
  const double r = 1 / std::sqrt(2.0);
  EXPECT_NEAR(classes[0][0].item<float>(), r, 1e-6);
  EXPECT_NEAR(classes[0][1].item<float>(), r, 1e-6);
  EXPECT_NEAR(classes[1][0].item<float>(), 0, 1e-6);
  EXPECT_NEAR(classes[1][1].item<float>(), 1, 1e-6);
}

TEST(ZeroShotTest, AverageRejectsMismatchedCounts) {
  at::Tensor prompts = at::ones({3, 4});
  EXPECT_THAT(AverageClassEmbeddings(prompts, {1, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sum to 2")));
  EXPECT_THAT(AverageClassEmbeddings(prompts, {3, 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("class 1")));
  EXPECT_THAT(AverageClassEmbeddings(at::ones({3}), {3}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ZeroShotTest, SoftmaxOverScaledCosines) {
  // Image (3, 4) has cosine 0.6 with class (1, 0) and 0.8 with (0, 2).
  at::Tensor image = at::tensor({3.0f, 4.0f}).view({1, 2});
  at::Tensor classes = at::tensor({1.0f, 0.0f, 0.0f, 2.0f}).view({2, 2});
  for (double scale : {1.0, 100.0}) {
    MVL_ASSERT_OK_AND_ASSIGN(at::Tensor p,
                             ZeroShotProbabilities(image, classes, scale));
    ASSERT_EQ(p.scalar_type(), at::kDouble);
    const double e0 = std::exp(0.6 * scale), e1 = std::exp(0.8 * scale);
    EXPECT_NEAR(p[0][0].item<double>(), e0 / (e0 + e1), 1e-6);
    EXPECT_NEAR(p[0][1].item<double>(), e1 / (e0 + e1), 1e-6);
  }
}

TEST(ZeroShotTest, PerImageClassEmbeddings) {
  at::Tensor images = at::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({2, 2});
  // Image 0 sees classes (1,0),(0,1); image 1 sees them swapped.
  at::Tensor classes =
      at::tensor({1.0f, 0.0f, 0.0f, 1.0f, 0.0f, 1.0f, 1.0f, 0.0f}).view({2, 2, 2});
  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor p,
                           ZeroShotProbabilities(images, classes, 1.0));
  EXPECT_GT(p[0][0].item<double>(), 0.5);
  EXPECT_GT(p[1][0].item<double>(), 0.5);
}

TEST(ZeroShotTest, ProbabilitiesRejectBadInput) {
  at::Tensor images = at::ones({2, 3});
  EXPECT_THAT(ZeroShotProbabilities(images, at::ones({2, 4}), 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ZeroShotProbabilities(images, at::ones({1, 3}), 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 classes")));
  EXPECT_THAT(ZeroShotProbabilities(images, at::ones({2, 3}), 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scale")));
  at::Tensor nan = at::ones({2, 3});
  nan[1][1] = NAN;
  EXPECT_THAT(ZeroShotProbabilities(nan, at::ones({2, 3}), 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-finite")));
}

TEST(ZeroShotTest, ResolvesPresetsAndExplicitClasses) {
  ZeroShotConfig config = Parse(R"pb(
    tasks { name: "mass" preset: MAMMOCLIP_MASS }
    tasks {
      name: "density"
      classes { name: "fatty" prompts: "fatty breast" prompts: "almost entirely fat" }
      classes { prompts: "dense breast" }
    }
  )pb");
  MVL_ASSERT_OK(ValidateZeroShotConfig(config));
  MVL_ASSERT_OK_AND_ASSIGN(ResolvedTask mass, ResolveZeroShotTask(config.tasks(0)));
  EXPECT_EQ(mass.label, "mass");
  EXPECT_THAT(mass.FlatPrompts(), ElementsAre("no mass", "mass"));
  MVL_ASSERT_OK_AND_ASSIGN(ResolvedTask density,
                           ResolveZeroShotTask(config.tasks(1)));
  EXPECT_THAT(density.class_names, ElementsAre("fatty", "class 1"));
  EXPECT_THAT(density.PromptCounts(), ElementsAre(2, 1));
  MVL_ASSERT_OK_AND_ASSIGN(
      ResolvedTask birads,
      ResolveZeroShotTask(Parse("tasks { name: 'b' preset: MAMA_BIRADS }").tasks(0)));
  EXPECT_EQ(birads.class_names.size(), 7u);
}

TEST(ZeroShotTest, ValidationNamesTheField) {
  EXPECT_THAT(ValidateZeroShotConfig(ZeroShotConfig()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tasks")));
  EXPECT_THAT(
      ValidateZeroShotConfig(Parse("tasks { name: 'm' classes { prompts: 'a' } }")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tasks[0].classes")));
  EXPECT_THAT(ValidateZeroShotConfig(Parse(
                  "tasks { name: 'm' classes { prompts: 'a' } classes { } }")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tasks[0].classes[1].prompts: empty")));
  EXPECT_THAT(ValidateZeroShotConfig(Parse(
                  "tasks { name: 'bad name' preset: MAMMOCLIP_MASS }")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
  EXPECT_THAT(ValidateZeroShotConfig(Parse(
                  "tasks { name: 'm' preset: MAMMOCLIP_MASS } "
                  "tasks { name: 'm' preset: MAMMOCLIP_MASS }")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate")));
  EXPECT_THAT(ValidateZeroShotConfig(Parse(
                  "tasks { name: 'm' preset: MAMMOCLIP_MASS } "
                  "report { sensitivity_at_specificity: 1.5 }")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sensitivity_at_specificity")));
}

}  // namespace
}  // namespace mammovl::eval
