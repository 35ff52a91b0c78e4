#include "data/datasets/csv.h"

#include <string>

#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CsvTest, ParsesQuotingLikePandasWrites) {
  const std::string text =
      "\xEF\xBB\xBFid,text,list\r\n"
      "1,plain,\"['CC', 'MLO']\"\r\n"
      "2,\"has \"\"quotes\"\", and a comma\",x\r\n"
      "3,\"two\nlines\",\r\n"
      "\n"
      "4,,\"\"";
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable t, ParseCsv(text, "t.csv"));
  EXPECT_THAT(t.header, ElementsAre("id", "text", "list"));
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_THAT(t.rows[0], ElementsAre("1", "plain", "['CC', 'MLO']"));
  EXPECT_THAT(t.rows[1], ElementsAre("2", "has \"quotes\", and a comma", "x"));
  EXPECT_THAT(t.rows[2], ElementsAre("3", "two\nlines", ""));
  EXPECT_THAT(t.rows[3], ElementsAre("4", "", ""));
  EXPECT_EQ(t.row_lines[2], 4);
  EXPECT_EQ(t.row_lines[3], 7);  // after the two-line field and a blank line
  EXPECT_TRUE(t.issues.empty());
  EXPECT_EQ(t.Where(1, 1), "t.csv line 3, column 'text'");
}

TEST(CsvTest, RaggedRowsBecomeIssuesWithTheirLine) {
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable t, ParseCsv("a,b\n1,2\n3\n4,5,6\n7,8\n", "r.csv"));
  ASSERT_EQ(t.rows.size(), 2u);
  ASSERT_EQ(t.issues.size(), 2u);
  EXPECT_EQ(t.issues[0].line, 3);
  EXPECT_THAT(t.issues[0].message, HasSubstr("expected 2 fields, found 1"));
  EXPECT_EQ(t.issues[1].line, 4);
}

TEST(CsvTest, ErrorsNameFileAndLine) {
  EXPECT_THAT(ParseCsv("", "empty.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty.csv")));
  EXPECT_THAT(ParseCsv("a,b\n1,\"open\n2,3\n", "q.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("q.csv line 2")));
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable t, ParseCsv("a,b\n", "h.csv"));
  EXPECT_THAT(t.Column("c"), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("h.csv: missing column 'c'")));
  EXPECT_THAT(ReadCsv("/nonexistent/x.csv"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(CsvTest, WriterRoundTripsAndQuotesMinimally) {
  CsvWriter w({"a", "b"});
  w.AddRow({"x,y", "say \"hi\""});
  w.AddRow({"plain", "multi\nline"});
  MVL_ASSERT_OK_AND_ASSIGN(const std::string text, w.ToString());
  EXPECT_EQ(text, "a,b\n\"x,y\",\"say \"\"hi\"\"\"\nplain,\"multi\nline\"\n");
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable t, ParseCsv(text, "w"));
  EXPECT_THAT(t.rows[0], ElementsAre("x,y", "say \"hi\""));
  EXPECT_THAT(t.rows[1], ElementsAre("plain", "multi\nline"));
  const std::string path = std::string(::testing::TempDir()) + "/w.csv";
  MVL_ASSERT_OK(w.WriteTo(path));
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable back, ReadCsv(path));
  EXPECT_EQ(back.rows, t.rows);

  CsvWriter bad({"a", "b"});
  bad.AddRow({"only one"});
  EXPECT_THAT(bad.ToString(), StatusIs(absl::StatusCode::kInternal, HasSubstr("row 0")));
}

}  // namespace
}  // namespace mammovl::data
