#include "data/preprocess/csv.h"

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CsvTest, ParsesQuotedFieldsAndRoundTrips) {
  const std::string text =
      "a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"multi\nline\",\r\n";
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable t, ParseCsv(text, "t.csv"));
  EXPECT_THAT(t.header, ElementsAre("a", "b", "c"));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_THAT(t.rows[0], ElementsAre("1", "x, y", "say \"hi\""));
  EXPECT_THAT(t.rows[1], ElementsAre("2", "multi\nline", ""));
  EXPECT_EQ(t.line_numbers[1], 3);
  EXPECT_EQ(t.Column("c"), 2);
  EXPECT_EQ(t.Column("zz"), -1);
  std::string again = CsvLine(t.header);
  for (const auto& r : t.rows) again += CsvLine(r);
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable t2, ParseCsv(again, "again"));
  EXPECT_EQ(t2.rows, t.rows);
}

TEST(CsvTest, ReportsBadRowsWithLine) {
  EXPECT_THAT(ParseCsv("a,b\n1,2\n3\n", "f.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("f.csv:3: 1 fields")));
  EXPECT_THAT(
      ParseCsv("a,b\n\"open,2\n", "f.csv"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unterminated")));
  EXPECT_THAT(ParseCsv("", "f.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CsvTest, ToleratesACutLastRowOnlyWhenAsked) {
  const std::string cut = "a,b\n1,2\n3,4";  // last row lost its newline
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable strict, ParseCsv(cut, "m.csv"));
  EXPECT_EQ(strict.rows.size(), 2u);
  CsvReadOptions tolerant;
  tolerant.tolerate_truncated_last_row = true;
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable t, ParseCsv(cut, "m.csv", tolerant));
  EXPECT_EQ(t.rows.size(), 1u);
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable q,
                           ParseCsv("a,b\n1,2\n\"3,", "m.csv", tolerant));
  EXPECT_EQ(q.rows.size(), 1u);
}

}  // namespace
}  // namespace mammovl::data
