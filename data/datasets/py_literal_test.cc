#include "data/datasets/py_literal.h"

#include <cmath>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PyLiteralTest, StringListsInEveryQuotingStyle) {
  MVL_ASSERT_OK_AND_ASSIGN(auto a, ParsePyStringList("['CC', 'MLO']"));
  EXPECT_THAT(a, ElementsAre("CC", "MLO"));
  MVL_ASSERT_OK_AND_ASSIGN(auto b, ParsePyStringList("[\"it's\", 'say \"x\"', 'a\\\\b']"));
  EXPECT_THAT(b, ElementsAre("it's", "say \"x\"", "a\\b"));
  MVL_ASSERT_OK_AND_ASSIGN(auto c, ParsePyStringList(" [] "));
  EXPECT_TRUE(c.empty());
  MVL_ASSERT_OK_AND_ASSIGN(auto d, ParsePyStringList("('x',)"));
  EXPECT_THAT(d, ElementsAre("x"));
  MVL_ASSERT_OK_AND_ASSIGN(auto e, ParsePyStringList("img.png", /*allow_bare_value=*/true));
  EXPECT_THAT(e, ElementsAre("img.png"));
  MVL_ASSERT_OK_AND_ASSIGN(auto f, ParsePyStringList("", true));
  EXPECT_TRUE(f.empty());
  EXPECT_THAT(ParsePyStringList("img.png"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePyStringList("['a', 1]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("list of strings")));
  EXPECT_THAT(ParsePyStringList("['a'"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePyStringList("['a' 'b']"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PyLiteralTest, NestedListsJsonAndNumbers) {
  MVL_ASSERT_OK_AND_ASSIGN(PyValue v, ParsePyLiteral("[[], ['Mass'], [], ['Asymmetry', 'Mass']]"));
  ASSERT_EQ(v.items.size(), 4u);
  EXPECT_TRUE(v.items[0].items.empty());
  EXPECT_EQ(v.items[3].items[1].str, "Mass");
  // FPN-MIL: a JSON list of Python-repr strings.
  MVL_ASSERT_OK_AND_ASSIGN(auto outer,
                           ParsePyStringList("[\"['Suspicious Calcification', 'Mass']\", \"['Mass']\"]"));
  ASSERT_EQ(outer.size(), 2u);
  MVL_ASSERT_OK_AND_ASSIGN(auto inner, ParsePyStringList(outer[0]));
  EXPECT_THAT(inner, ElementsAre("Suspicious Calcification", "Mass"));
  MVL_ASSERT_OK_AND_ASSIGN(auto nums, ParsePyNumberList("[360.3, -47.06, 1e3, 2]"));
  EXPECT_THAT(nums, ElementsAre(360.3, -47.06, 1000.0, 2.0));
  MVL_ASSERT_OK_AND_ASSIGN(auto one, ParsePyNumberList("0.0"));
  EXPECT_THAT(one, ElementsAre(0.0));
  MVL_ASSERT_OK_AND_ASSIGN(PyValue n, ParsePyLiteral("[None, True, nan, \"\\u00e9\"]"));
  EXPECT_EQ(n.items[0].kind, PyValue::Kind::kNone);
  EXPECT_TRUE(n.items[1].boolean);
  EXPECT_TRUE(std::isnan(n.items[2].number));
  EXPECT_EQ(n.items[3].str, "\xC3\xA9");
  EXPECT_THAT(ParsePyNumberList("[1, 'a']"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePyLiteral("[1.2.3]"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PyLiteralTest, FormattingMatchesPythonRepr) {
  // Expected strings are what Python 3 prints for repr(...).
  EXPECT_EQ(PyStringList({"CC", "MLO"}), "['CC', 'MLO']");
  EXPECT_EQ(PyStringList({}), "[]");
  EXPECT_EQ(PyRepr("it's"), "\"it's\"");
  EXPECT_EQ(PyRepr("say \"x\" it's"), "'say \"x\" it\\'s'");
  EXPECT_EQ(PyRepr("a\\b\n"), "'a\\\\b\\n'");
  EXPECT_EQ(JsonStringList({"['Mass']", "x\"y"}), "[\"['Mass']\", \"x\\\"y\"]");
  EXPECT_EQ(PyFloat(360.3), "360.3");
  EXPECT_EQ(PyFloat(1000.0), "1000.0");
  EXPECT_EQ(PyFloat(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(PyFloat(1e16), "1e+16");
  EXPECT_EQ(PyFloat(1.5e-5), "1.5e-05");
  EXPECT_EQ(PyFloat(0.0001), "0.0001");
  EXPECT_EQ(PyFloat(-2.0), "-2.0");
  EXPECT_EQ(PyNumberList({0.0}), "[0.0]");
  EXPECT_EQ(PyNumberList({360.3, 411.5}), "[360.3, 411.5]");
}

}  // namespace
}  // namespace mammovl::data
