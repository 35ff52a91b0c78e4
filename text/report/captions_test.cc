#include "text/report/captions.h"

#include <random>
#include <string>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::text {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

EmbedCaptionFields Row() {
  EmbedCaptionFields f;
  f.study_description = "MG Screening Bilateral";
  f.race = "African American  or Black";
  f.ethnicity = "Non-Hispanic or Latino";
  f.age = 57.9;
  f.laterality = "L";
  f.view_position = "MLO";
  f.density = 3;
  f.birads = "B";
  f.mass_shape = "oval";
  f.mass_density = "equal density";
  f.calc_finding = "punctate";
  f.calc_distribution = "grouped";
  return f;
}

// The caption of mama.md §4.3, segment by segment, with its exact spacing.
TEST(MamaCaptionTest, BuildsEverySegmentWithExactSpacing) {
  MVL_ASSERT_OK_AND_ASSIGN(std::string caption, BuildMamaCaption(Row()));
  EXPECT_EQ(caption,
            "Procedure reported: MG Screening Bilateral; "
            "Reason for procedure: screening; "
            "Patient info: This patient is African American  or Black, "
            "Non-Hispanic or Latino, "
            "and 57 years old.  "
            "Image info: This is a 2D full-field digital mammogram of the left "
            "breast with MLO "
            "view.  "
            "Breast composition: The breast is heterogeneously dense. This may "
            "lower the "
            "sensitivity of mammography.  "
            "Findings: The mammogram shows that a benign finding is present. "
            "The mass is oval and "
            "equal density.  "
            "A grouped punctate calcification is present.  "
            "Impressions: BI-RADS Category 2: benign finding. "
            "Overall Assessment: Benign. ");
}

TEST(MamaCaptionTest, MissingValuesAndReasons) {
  EmbedCaptionFields f = Row();
  f.race.reset();
  f.ethnicity.reset();  // NaN ethnicity reads as non-Hispanic (mama.md §12.12).
  f.age.reset();
  f.laterality = "X";
  f.view_position = "";
  f.study_description = "MG Diag. Right";
  f.density = 1;
  f.birads = "N";
  f.mass_density.reset();
  f.calc_finding.reset();
  MVL_ASSERT_OK_AND_ASSIGN(std::string caption, BuildMamaCaption(f));
  EXPECT_EQ(
      caption,
      "Procedure reported: MG Diag. Right; Reason for procedure: diagnostic; "
      "Patient info: This patient is unknown, Non-Hispanic or Latino, and "
      "unknown years "
      "old.  Image info: This is a 2D full-field digital mammogram of the "
      "unknown breast "
      "with unknown view.  Breast composition: The breast is almost entirely "
      "fat.  "
      "Findings: The mammogram shows that no significant masses, "
      "calcification, or other "
      "abnormalities are present.  Impressions: BI-RADS Category 1: negative. "
      "Overall Assessment: Negative. ");
}

TEST(MamaCaptionTest, SkipsWhereTheReferenceSkips) {
  EmbedCaptionFields f = Row();
  f.study_description.reset();
  EXPECT_THAT(BuildMamaCaption(f),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  f = Row();
  f.study_description = "MG Bilateral";
  EXPECT_THAT(
      BuildMamaCaption(f),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("screening")));
  f = Row();
  f.density = 6;
  EXPECT_THAT(
      BuildMamaCaption(f),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("density")));
  f = Row();
  f.birads = "X";
  EXPECT_THAT(
      BuildMamaCaption(f),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("BI-RADS")));
}

TEST(MamaCaptionTest, MetaMaskingReplacesOnlyTheSixMetaFields) {
  MetaMask all;
  all.age = all.race = all.ethnicity = all.image_type = all.side = all.view =
      true;
  MVL_ASSERT_OK_AND_ASSIGN(std::string caption, BuildMamaCaption(Row(), all));
  EXPECT_THAT(
      caption,
      HasSubstr("This patient is unknown, unknown, and unknown years old.  "));
  EXPECT_THAT(
      caption,
      HasSubstr("This is a unknown full-field digital mammogram of the unknown "
                "breast with unknown view.  "));
  EXPECT_THAT(caption,
              HasSubstr("Procedure reported: MG Screening Bilateral; "));
  EXPECT_THAT(caption, HasSubstr("BI-RADS Category 2"));
  // p = 0.8 masks about 80 % of the fields; p = 0 none.
  std::mt19937_64 rng(11);
  int masked = 0;
  for (int i = 0; i < 500; ++i) {
    const MetaMask m = SampleMetaMask(0.8, rng);
    masked += m.age + m.race + m.ethnicity + m.image_type + m.side + m.view;
  }
  EXPECT_NEAR(masked / 3000.0, 0.8, 0.03);
  const MetaMask none = SampleMetaMask(0.0, rng);
  EXPECT_FALSE(none.age || none.race || none.ethnicity || none.image_type ||
               none.side || none.view);
}

TEST(MamaCaptionTest, ModelTextReplacesPeriodsAndSemicolonsAndWraps) {
  EXPECT_EQ(MamaModelText("Procedure reported: MG Diag. R; Age 5.\nOk"),
            "<|startoftext|>Procedure reported: MG Diag<|separatetext|> "
            "R<|separatetext|> Age "
            "5<|separatetext|> Ok<|endoftext|>");
  EXPECT_EQ(MamaModelText("a.\nb", /*newlines_to_spaces=*/false),
            "<|startoftext|>a<|separatetext|>\nb<|endoftext|>");
}

TEST(MamaCaptionTest, ExtractsBiradsLabel) {
  MVL_ASSERT_OK_AND_ASSIGN(std::string caption, BuildMamaCaption(Row()));
  EXPECT_EQ(*ExtractBiradsLabel(caption), 2);
  EXPECT_EQ(*ExtractBiradsLabel(MamaModelText(caption)), 2);
  EXPECT_EQ(*ExtractBiradsLabel("... bi-rads category 6: known"), 6);
  EXPECT_THAT(ExtractBiradsLabel("BI-RADS 4"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ExtractBiradsLabel("BI-RADS Category 9"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(MamaZeroShotTest, BuildsPromptSetsPerTask) {
  MVL_ASSERT_OK_AND_ASSIGN(std::string base, BuildMamaMetaCaption(Row()));
  const std::vector<std::string> birads = MamaBiradsPrompts(base);
  ASSERT_EQ(birads.size(), 7u);
  EXPECT_EQ(
      birads[4],
      MamaModelText(
          base +
          "Findings: The mammogram shows that a suspicious abnormality is "
          "present.  Impressions: BI-RADS Category 4: suspicious "
          "abnormality. Overall Assessment: Suspicious abnormality. "));
  for (int b = 0; b < 7; ++b) EXPECT_EQ(*ExtractBiradsLabel(birads[b]), b);
  const std::vector<std::string> shared = MamaBiradsPrompts("");
  EXPECT_EQ(
      shared[0].rfind(
          "<|startoftext|>Findings: The mammogram shows that an additional", 0),
      0u);
  const std::vector<std::string> density = MamaDensityPrompts("");
  ASSERT_EQ(density.size(), 4u);
  EXPECT_EQ(
      density[3],
      "<|startoftext|>Breast composition: The breast is extremely "
      "dense<|separatetext|> This "
      "may lower the sensitivity of mammography<|separatetext|> <|endoftext|>");
  EXPECT_EQ(density[0],
            "<|startoftext|>Breast composition: The breast is almost entirely "
            "fat<|separatetext|> "
            "<|endoftext|>");
  const std::vector<std::string> rsna = MamaRsnaPrompts();
  ASSERT_EQ(rsna.size(), 2u);
  EXPECT_EQ(
      rsna[0],
      "<|startoftext|>Findings: The mammogram shows that Cancer negative: "
      "overall healthy or "
      "just benign finding Impressions: BI-RADS Category N or B: Negative or "
      "Benign<|separatetext|> Overall Assessment: Negative or "
      "Benign<|endoftext|>");
  EXPECT_THAT(
      rsna[1],
      HasSubstr("BI-RADS Category A: Additional imaging required with "
                "biopsy-proven malignancy or suspicious abnormality found"));
}

}  // namespace
}  // namespace mammovl::text
