#include "train/json_text.h"

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::train {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;
using Kind = JsonValue::Kind;

TEST(JsonTextTest, QuotesAndParsesBack) {
  const std::string quoted = JsonQuote("a\"b\\c\n\x01 é");
  EXPECT_EQ(quoted, "\"a\\\"b\\\\c\\u000a\\u0001 é\"");
  MVL_ASSERT_OK_AND_ASSIGN(JsonValue value, ParseJson(quoted));
  ASSERT_EQ(value.kind, Kind::kString);
  EXPECT_EQ(value.string, "a\"b\\c\n\x01 é");
}

TEST(JsonTextTest, ParsesNestedDocuments) {
  MVL_ASSERT_OK_AND_ASSIGN(
      JsonValue doc,
      ParseJson(
          R"( {"w": {"shape": [3, 4], "x": -1.5e-3, "n": null, "t": true, "f": false,
                    "u": "\u00e9"}} )"));
  ASSERT_EQ(doc.kind, Kind::kObject);
  const JsonValue* w = doc.Find("w");
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->Find("shape")->array.size(), 2u);
  EXPECT_EQ(w->Find("shape")->array[1].number, 4);
  EXPECT_EQ(w->Find("x")->number, -1.5e-3);
  EXPECT_EQ(w->Find("n")->kind, Kind::kNull);
  EXPECT_TRUE(w->Find("t")->boolean);
  EXPECT_EQ(w->Find("f")->kind, Kind::kBool);
  EXPECT_FALSE(w->Find("f")->boolean);
  EXPECT_EQ(w->Find("u")->string, "\xc3\xa9");
  EXPECT_EQ(doc.Find("missing"), nullptr);
}

TEST(JsonTextTest, RejectsMalformedDocumentsWithTheOffset) {
  EXPECT_THAT(ParseJson(R"({"a": 1,})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("byte 8: expected a string")));
  EXPECT_THAT(
      ParseJson(R"({"a": 1} x)"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trailing")));
  EXPECT_THAT(ParseJson(R"("abc)"), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("unterminated")));
  EXPECT_THAT(
      ParseJson(std::string(40, '[')),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deeply")));
  EXPECT_THAT(ParseJson(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mammovl::train
