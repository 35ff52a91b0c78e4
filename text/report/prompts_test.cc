#include "text/report/prompts.h"

#include <random>
#include <set>
#include <string>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::text {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kSample[] = "text/report/testdata/prompts_sample.json";

TEST(VindrSlotsTest, NegativesAreTheOtherFindingsOnThatSide) {
  MVL_ASSERT_OK_AND_ASSIGN(VindrFindingSlots s,
                           MakeVindrFindingSlots('R', {"Mass"}));
  EXPECT_THAT(s.pos_right, ElementsAre("Mass"));
  EXPECT_TRUE(s.pos_left.empty());
  EXPECT_TRUE(s.neg_left.empty());
  ASSERT_EQ(s.neg_right.size(), 9u);
  EXPECT_EQ(s.neg_right[0], "Suspicious Calcification");
  MVL_ASSERT_OK_AND_ASSIGN(VindrFindingSlots none,
                           MakeVindrFindingSlots('L', {"No Finding"}));
  EXPECT_TRUE(none.neg_left.empty());
  EXPECT_THAT(MakeVindrFindingSlots('X', {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      MakeVindrFindingSlots('L', {"Tumour"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Tumour")));
}

TEST(VindrPromptsTest, DeterministicReportUsesFirstCandidatesInSlotOrder) {
  MVL_ASSERT_OK_AND_ASSIGN(VindrPrompts prompts,
                           VindrPrompts::FromJsonFile(kSample));
  VindrFindingSlots slots;
  slots.pos_right = {"Mass"};
  slots.neg_right = {"Suspicious Calcification", "Architectural Distortion",
                     "Global Asymmetry"};
  MVL_ASSERT_OK_AND_ASSIGN(std::string report, prompts.Generate(slots));
  // The double space of the raw prompt is kept; the repeated negative
  // sentence appears once.
  EXPECT_EQ(report,
            "there is a  mass in the right breast there are no suspicious "
            "calcification present "
            "there are no suspicious findings");
}

TEST(VindrPromptsTest, NoFindingDropsNegatives) {
  MVL_ASSERT_OK_AND_ASSIGN(VindrPrompts prompts,
                           VindrPrompts::FromJsonFile(kSample));
  VindrFindingSlots slots;
  slots.pos_left = {"No Finding"};
  slots.neg_left = {"Mass"};
  MVL_ASSERT_OK_AND_ASSIGN(std::string report, prompts.Generate(slots));
  EXPECT_EQ(report, "there are no suspicious findings");
}

TEST(VindrPromptsTest, TrainingDrawsRandomCandidatesReproducibly) {
  MVL_ASSERT_OK_AND_ASSIGN(VindrPrompts prompts,
                           VindrPrompts::FromJsonFile(kSample));
  MVL_ASSERT_OK_AND_ASSIGN(VindrFindingSlots slots,
                           MakeVindrFindingSlots('R', {"Mass"}));
  std::set<std::string> reports;
  std::set<std::string> first_sentences;
  for (int seed = 0; seed < 40; ++seed) {
    std::mt19937_64 rng(seed);
    MVL_ASSERT_OK_AND_ASSIGN(std::string report, prompts.Generate(slots, &rng));
    std::mt19937_64 again(seed);
    MVL_ASSERT_OK_AND_ASSIGN(std::string repeat,
                             prompts.Generate(slots, &again));
    EXPECT_EQ(report, repeat);
    reports.insert(report);
    EXPECT_THAT(report, HasSubstr("mass"));
  }
  // Both Mass candidates and several orders occur.
  EXPECT_GT(reports.size(), 10u);
}

TEST(VindrPromptsTest, RejectsMalformedFilesAndMissingFindings) {
  EXPECT_THAT(
      VindrPrompts::FromJson("[]", "p.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("p.json")));
  EXPECT_THAT(
      VindrPrompts::FromJson(R"({"Mass": {"pos_right": "x"}})", "p.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pos_right")));
  EXPECT_THAT(
      VindrPrompts::FromJson(R"({"Mass": {"pos_right": [1]}})", "p.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-string")));
  EXPECT_THAT(VindrPrompts::FromJsonFile("/nonexistent/prompts.json"),
              StatusIs(absl::StatusCode::kNotFound));
  MVL_ASSERT_OK_AND_ASSIGN(
      VindrPrompts prompts,
      VindrPrompts::FromJson(R"({"Mass": {"pos_right": []}})", "p"));
  VindrFindingSlots slots;
  slots.pos_right = {"Mass"};
  EXPECT_THAT(
      prompts.Generate(slots),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"Mass\"")));
  slots.pos_right = {"Asymmetry"};
  EXPECT_THAT(prompts.Generate(slots),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ZeroShotPromptsTest, MammoClipShipsOnePairPerTask) {
  const std::vector<ZeroShotPromptSet> sets = MammoClipZeroShotPrompts();
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets[0].task, "mass");
  EXPECT_THAT(sets[0].prompts, ElementsAre("no mass", "mass"));
  EXPECT_THAT(sets[1].prompts, ElementsAre("no suspicious calcification",
                                           "suspicious calcification"));
  EXPECT_THAT(sets[2].prompts, ElementsAre("no malignancy", "malignancy"));
}

}  // namespace
}  // namespace mammovl::text
