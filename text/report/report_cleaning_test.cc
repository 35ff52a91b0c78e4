#include "text/report/report_cleaning.h"

#include <string>
#include <vector>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "text/tokenizer/json.h"

namespace mammovl::text {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string Clean(absl::string_view s) {
  absl::StatusOr<std::string> out = CleanMammoClipSection(s);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "<error>";
}

// Cases written from mammoclip.md §4.3, quirks included.
TEST(MammoClipCleaningTest, FollowsTheReferenceOnSpecCases) {
  // Periods vanish, other punctuation becomes separate tokens.
  EXPECT_EQ(Clean("BIRADS: 4, patient is: 69 years old, and has a mass."),
            "birads : 4 , patient is : 69 years old , and has a mass");
  // Every "." ends a sentence: decimals are split, and a sentence needs more
  // than two tokens to survive.
  EXPECT_EQ(Clean("There is a 1.5 cm mass. No calcifications."),
            "there is a 1 5 cm mass");
  EXPECT_EQ(Clean("No calcifications."), "");
  // Non-ASCII characters are dropped from the tokens.
  EXPECT_EQ(Clean("Café au lait spot."), "caf au lait spot");
  // Newlines are spaces; the doubled U+FFFD becomes a space.
  EXPECT_EQ(Clean("Mass\nseen in\xEF\xBF\xBD\xEF\xBF\xBDthe breast"),
            "mass seen in the breast");
  // "İ" lower-cases to "i" + combining dot, a separate punctuation token
  // that then vanishes.
  EXPECT_EQ(Clean("İstanbul is far away"), "i stanbul is far away");
  EXPECT_EQ(Clean(""), "");
}

TEST(MammoClipCleaningTest, ImpressionRewritesBiRads) {
  MVL_ASSERT_OK_AND_ASSIGN(
      std::string out,
      CleanMammoClipImpression("BI-RADS 4: suspicious abnormality."));
  EXPECT_EQ(out, "birads 4 : suspicious abnormality");
  MVL_ASSERT_OK_AND_ASSIGN(std::string raw,
                           CleanMammoClipSection("BI-RADS 4: suspicious."));
  EXPECT_EQ(raw, "bi - rads 4 : suspicious");
}

TEST(MgcaCleaningTest, FollowsTheReferenceOnSpecCases) {
  MVL_ASSERT_OK_AND_ASSIGN(
      std::vector<std::string> s,
      CleanMgcaReport("1. Mass in the left breast.\n2. No calcification.",
                      "Normal exam."));
  EXPECT_THAT(s, ElementsAre("mass in the left breast", "no calcification",
                             "normal exam"));
  // Fewer than 3 tokens in the whole study: dropped.
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<std::string> tiny,
                           CleanMgcaReport("No mass.", ""));
  EXPECT_THAT(tiny, IsEmpty());
  // Punctuation is not a token; single-token sentences are dropped.
  MVL_ASSERT_OK_AND_ASSIGN(
      std::vector<std::string> p,
      CleanMgcaReport("Stable. Mass (1 cm), R/O cyst!", ""));
  EXPECT_THAT(p, ElementsAre("mass 1 cm r o cyst"));
}

TEST(TokenizeTest, MatchesPythonRegexClasses) {
  EXPECT_THAT(WordPunctTokenize("it's 1,234.5%!! x_y ²"),
              ElementsAre("it", "'", "s", "1", ",", "234", ".", "5", "%!!",
                          "x_y", "²"));
  EXPECT_THAT(WordTokenize("it's 1,234 — ok"),
              ElementsAre("it", "s", "1", "234", "ok"));
  // U+001C..U+001F are whitespace for Python's re.
  EXPECT_THAT(WordPunctTokenize("a\x1c!b"), ElementsAre("a", "!", "b"));
}

TEST(ReportCleaningTest, RejectsInvalidUtf8) {
  EXPECT_THAT(CleanMammoClipSection("bad \xFF text"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CleanMgcaReport("ok", "bad \xC3"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ExtractReportSections("\xED\xA0\x80"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ReportSectionsTest, SplitsAtHeaders) {
  MVL_ASSERT_OK_AND_ASSIGN(
      ReportSections s,
      ExtractReportSections(
          "EXAM: bilateral screening\nClinical History: 54F, family history.\n"
          "FINDINGS:\nThere is a mass.\n  Stable calcs.\nImpression: BI-RADS "
          "4.\n"
          "findings: addendum"));
  EXPECT_EQ(s.preamble, "EXAM: bilateral screening");
  EXPECT_EQ(s.history, "54F, family history.");
  EXPECT_EQ(s.findings, "There is a mass. Stable calcs. addendum");
  EXPECT_EQ(s.impression, "BI-RADS 4.");
  MVL_ASSERT_OK_AND_ASSIGN(ReportSections none,
                           ExtractReportSections("findings without colon"));
  EXPECT_EQ(none.preamble, "findings without colon");
  EXPECT_EQ(none.findings, "");
}

// The reference algorithms run in Python
// (tools/fixtures/make_report_fixtures.py) on 245 texts.
TEST(ReportCleaningTest, MatchesPythonReferenceOnFixtureCases) {
  MVL_ASSERT_OK_AND_ASSIGN(
      JsonValue cases,
      ReadJsonFile("text/report/testdata/cleaning_cases.json"));
  ASSERT_TRUE(cases.is_array());
  ASSERT_GE(cases.array().size(), 200u);
  for (const JsonValue& c : cases.array()) {
    const std::string& text = c.Find("text")->string_value();
    MVL_ASSERT_OK_AND_ASSIGN(std::string mc, CleanMammoClipSection(text));
    EXPECT_EQ(mc, c.Find("mammoclip")->string_value()) << text;
    MVL_ASSERT_OK_AND_ASSIGN(std::string mci, CleanMammoClipImpression(text));
    EXPECT_EQ(mci, c.Find("mammoclip_impression")->string_value()) << text;
    MVL_ASSERT_OK_AND_ASSIGN(
        std::vector<std::string> mgca,
        CleanMgcaReport(text, c.Find("mgca_findings")->string_value()));
    std::vector<std::string> want;
    for (const JsonValue& s : c.Find("mgca")->array())
      want.push_back(s.string_value());
    EXPECT_EQ(mgca, want) << text;
  }
}

}  // namespace
}  // namespace mammovl::text
