#include "data/synth/report.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "data/synth/cohort.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Patient PatientWith(std::vector<Finding> left_findings, int left_birads) {
  Patient p;
  p.key = "12345";
  p.breasts[0].side = Side::kRight;
  p.breasts[0].birads = 1;
  p.breasts[0].density = 2;
  p.breasts[1].side = Side::kLeft;
  p.breasts[1].birads = left_birads;
  p.breasts[1].density = 2;
  p.breasts[1].findings = std::move(left_findings);
  return p;
}

Finding Mass() {
  Finding f;
  f.type = FindingType::kMass;
  f.shape = MassShape::kIrregular;
  f.margin = MassMargin::kSpiculated;
  f.size_mm = 14.4;
  f.depth = 0.8;
  f.medial = -0.6;  // lateral: outer
  f.superior = 0.5;
  f.birads = 5;
  return f;
}

Finding Calc() {
  Finding f;
  f.type = FindingType::kCalcification;
  f.calc_morphology = CalcMorphology::kFinePleomorphic;
  f.calc_distribution = CalcDistribution::kGrouped;
  f.size_mm = 6;
  f.depth = 0.2;
  f.medial = 0.5;
  f.superior = -0.5;
  f.birads = 4;
  return f;
}

TEST(ReportTest, DescribesEveryFindingInEveryWording) {
  const Patient p = PatientWith({Mass(), Calc()}, 5);
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const BreastReport r = WriteBreastReport(p, Side::kLeft, 120, seed);
    const std::string text = absl::AsciiStrToLower(r.findings);
    EXPECT_THAT(text, HasSubstr("spiculated"));
    EXPECT_THAT(text, HasSubstr("mass"));
    EXPECT_THAT(text, HasSubstr("fine pleomorphic"));
    EXPECT_THAT(text, HasSubstr("calcifications"));
    EXPECT_THAT(text, HasSubstr("left breast"));
    EXPECT_THAT(text, Not(HasSubstr("right breast")));
    EXPECT_THAT(r.impression, HasSubstr("BI-RADS 5"));
    EXPECT_EQ(r.birads, "BI-RADS 5");
  }
}

TEST(ReportTest, NegativeBreastSaysSoAndNamesNoFinding) {
  const Patient p = PatientWith({}, 1);
  int negations = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const BreastReport r = WriteBreastReport(p, Side::kRight, 120, seed);
    const std::string text = absl::AsciiStrToLower(r.findings);
    EXPECT_THAT(text, Not(HasSubstr("there is a ")));
    EXPECT_THAT(text, Not(HasSubstr("spiculated")));
    EXPECT_THAT(r.impression, HasSubstr("BI-RADS 1"));
    negations += absl::StrContains(text, "no ");
  }
  EXPECT_GE(negations, 30);  // the absence of masses is stated in most reports
}

TEST(ReportTest, SeedsChangeWordingNotContent) {
  const Patient p = PatientWith({Mass()}, 5);
  const BreastReport a = WriteBreastReport(p, Side::kLeft, 120, 1);
  const BreastReport a2 = WriteBreastReport(p, Side::kLeft, 120, 1);
  EXPECT_EQ(a.findings, a2.findings);
  EXPECT_EQ(a.impression, a2.impression);
  int different = 0;
  for (uint64_t seed = 2; seed < 12; ++seed) {
    different += WriteBreastReport(p, Side::kLeft, 120, seed).findings != a.findings;
  }
  EXPECT_GE(different, 7);
}

TEST(ReportTest, LocationWords) {
  Finding f = Mass();
  EXPECT_EQ(QuadrantPhrase(f), "upper outer quadrant");
  EXPECT_STREQ(DepthWord(f), "posterior");
  // Upper outer is 2 o'clock on the left breast, 10 o'clock on the right.
  f.medial = -1;
  f.superior = 1;
  EXPECT_EQ(ClockPosition(f, Side::kLeft), 2);  // 45 degrees: 1.5 h rounds to 2
  EXPECT_EQ(ClockPosition(f, Side::kRight), 11);
  f.medial = 0;
  f.superior = -1;
  EXPECT_EQ(ClockPosition(f, Side::kLeft), 6);
  f.medial = 0.1;
  f.superior = 0.1;
  f.depth = 0.1;
  EXPECT_EQ(QuadrantPhrase(f), "retroareolar region");
}

TEST(ReportTest, CleaningFollowsTheReference) {
  // Expected strings follow augment_text.py: "." splits sentences, tokens
  // are runs of word characters or of punctuation, short sentences go.
  EXPECT_EQ(CleanReportSection("There is a mass. No calcifications."),
            "there is a mass");  // "no calcifications" has 2 tokens: dropped
  EXPECT_EQ(CleanReportSection("BIRADS: 4, suspicious.\nBiopsy is recommended."),
            "birads : 4 , suspicious biopsy is recommended");
  EXPECT_EQ(CleanReportSection("At 2 o'clock, 3 cm FN."), "at 2 o ' clock , 3 cm fn");
  EXPECT_EQ(CleanReportSection("Caf\xC3\xA9 au lait spot seen."), "caf au lait spot seen");
  EXPECT_EQ(CleanReportSection(""), "");
  EXPECT_EQ(CleanReportSection("Ok."), "");
}

}  // namespace
}  // namespace mammovl::data
