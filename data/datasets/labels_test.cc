#include "data/datasets/labels.h"

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(LabelsTest, AcceptsExactlyTheDatasetSpellings) {
  EXPECT_EQ(*ParseBinary("1", "w"), 1);
  EXPECT_EQ(*ParseBinary("0.0", "w"), 0);
  EXPECT_EQ(*ParseBinary("True", "w"), 1);
  EXPECT_EQ(*ParseVindrBirads("BI-RADS 4", "w"), 4);
  EXPECT_EQ(*ParseDensityLetter("DENSITY C", "w"), 2);
  EXPECT_EQ(*ParseDensityLetter("A", "w"), 0);
  EXPECT_EQ(*ParseAssessmentLetter("N", "w"), 1);
  EXPECT_EQ(*ParseAssessmentLetter("K", "w"), 6);
  EXPECT_EQ(*ParsePathology("BENIGN_WITHOUT_CALLBACK", "w"), 2);
  EXPECT_EQ(*ParseLaterality("RIGHT", "w"), "R");
  EXPECT_EQ(*ParseIntInRange("3.0", 1, 4, "w"), 3);
  EXPECT_DOUBLE_EQ(*ParseReal(" 2.5 ", "w"), 2.5);
  EXPECT_TRUE(IsMissing(""));
  EXPECT_TRUE(IsMissing("nan"));
  EXPECT_FALSE(IsMissing("0"));
}

TEST(LabelsTest, RejectsEverythingElseNamingWhereAndValue) {
  const std::string where = "t.csv line 7, column 'Mass'";
  EXPECT_THAT(ParseBinary("2", where), StatusIs(absl::StatusCode::kInvalidArgument,
                                                AllOf(HasSubstr(where), HasSubstr("'2'"))));
  EXPECT_THAT(ParseBinary("yes", where), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseVindrBirads("BI-RADS 6", where), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseVindrBirads("4", where), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDensityLetter("DENSITY E", where), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDensityLetter("c", where), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseAssessmentLetter("X", where), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePathology("malignant", where), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseLaterality("B", where), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseIntInRange("5", 1, 4, where), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseIntInRange("2.5", 1, 4, where), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseReal("inf", where), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseReal("", where), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mammovl::data
