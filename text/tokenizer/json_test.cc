#include "text/tokenizer/json.h"

#include <string>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::text {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

TEST(JsonTest, ParsesAllValueKindsKeepingMemberOrder) {
  MVL_ASSERT_OK_AND_ASSIGN(
      JsonValue v,
      ParseJson(
          R"({"b": [1, -2.5e1, true, false, null], "a": {"x": "y"}, "id": 50256})",
          "t"));
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.members().size(), 3u);
  EXPECT_EQ(v.members()[0].first, "b");
  EXPECT_EQ(v.members()[1].first, "a");
  const JsonValue* b = v.Find("b");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->array().size(), 5u);
  int64_t i = 0;
  EXPECT_TRUE(b->array()[0].AsInt64(&i));
  EXPECT_EQ(i, 1);
  EXPECT_DOUBLE_EQ(b->array()[1].number(), -25.0);
  EXPECT_FALSE(b->array()[1].AsInt64(&i));
  EXPECT_TRUE(b->array()[2].bool_value());
  EXPECT_TRUE(b->array()[3].is_bool());
  EXPECT_TRUE(b->array()[4].is_null());
  EXPECT_EQ(v.Find("a")->Find("x")->string_value(), "y");
  EXPECT_TRUE(v.Find("id")->AsInt64(&i));
  EXPECT_EQ(i, 50256);
  EXPECT_EQ(v.Find("missing"), nullptr);
}

TEST(JsonTest, DecodesEscapesAndSurrogatePairs) {
  MVL_ASSERT_OK_AND_ASSIGN(
      JsonValue v,
      ParseJson(R"(["\u0120the", "\ud83d\ude00", "a\"b\\c\/\n\t", "é"])", "t"));
  EXPECT_EQ(v.array()[0].string_value(), "\xC4\xA0the");
  EXPECT_EQ(v.array()[1].string_value(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(v.array()[2].string_value(), "a\"b\\c/\n\t");
  EXPECT_EQ(v.array()[3].string_value(), "\xC3\xA9");
}

TEST(JsonTest, RejectsMalformedInputWithPosition) {
  EXPECT_THAT(ParseJson("{\"a\": 1,\n \"b\" 2}", "f.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("f.json: line 2, column 6")));
  for (const std::string bad :
       {"", "{", "[1,]", "{\"a\":}", "01", "1.", "-", "tru", "\"abc", "[1] 2",
        "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\u12\"", "\"a\nb\"",
        "\"\xFF\"", "{1: 2}", "nul"}) {
    EXPECT_THAT(ParseJson(bad, "t"),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(JsonTest, LimitsNestingDepth) {
  const std::string deep(100000, '[');
  EXPECT_THAT(ParseJson(deep, "t"), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("nesting")));
  EXPECT_THAT(ParseJson(std::string(100, '[') + std::string(100, ']'), "t"),
              core::IsOk());
}

TEST(JsonTest, ReadJsonFileReportsMissingFile) {
  EXPECT_THAT(ReadJsonFile("/nonexistent/vocab.json"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace mammovl::text
