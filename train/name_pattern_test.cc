#include "train/name_pattern.h"

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::train {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

TEST(NamePatternTest, GlobMatchesWholeNameAcrossDots) {
  MVL_ASSERT_OK_AND_ASSIGN(NamePattern p,
                           NamePattern::Parse("text_encoder.*", "freeze[0]"));
  EXPECT_TRUE(p.Matches("text_encoder.layer.0.attention.self.query.weight"));
  EXPECT_FALSE(p.Matches("vision.text_encoder.x"));
  MVL_ASSERT_OK_AND_ASSIGN(NamePattern bias, NamePattern::Parse("*.bias", "f"));
  EXPECT_TRUE(bias.Matches("a.b.c.bias"));
  EXPECT_FALSE(bias.Matches("a.bias_scale"));
  MVL_ASSERT_OK_AND_ASSIGN(NamePattern cls,
                           NamePattern::Parse("blocks.[0-2].*", "f"));
  EXPECT_TRUE(cls.Matches("blocks.1.mlp.fc1.weight"));
  EXPECT_FALSE(cls.Matches("blocks.3.mlp.fc1.weight"));
}

TEST(NamePatternTest, RegexMustMatchWholeName) {
  MVL_ASSERT_OK_AND_ASSIGN(
      NamePattern p,
      NamePattern::Parse(R"(re:blocks\.(1[01]|[0-9])\..*)", "f"));
  EXPECT_TRUE(p.Matches("blocks.11.attn.qkv.weight"));
  EXPECT_TRUE(p.Matches("blocks.4.attn.qkv.weight"));
  EXPECT_FALSE(p.Matches("blocks.12.attn.qkv.weight"));
  EXPECT_FALSE(p.Matches("vision.blocks.4.attn.qkv.weight"));
}

TEST(NamePatternTest, RejectsEmptyAndMalformedPatterns) {
  EXPECT_THAT(
      NamePattern::Parse("", "freeze[2]"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("freeze[2]")));
  EXPECT_THAT(NamePattern::Parse("re:(unclosed", "freeze[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bad regular expression")));
  EXPECT_THAT(
      ParseNamePatterns({"a.*", "re:["}, "freeze"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("freeze[1]")));
}

TEST(NamePatternTest, MatchesAny) {
  MVL_ASSERT_OK_AND_ASSIGN(auto patterns,
                           ParseNamePatterns({"a.*", "re:b[0-9]"}, "f"));
  EXPECT_TRUE(MatchesAny(patterns, "a.x"));
  EXPECT_TRUE(MatchesAny(patterns, "b7"));
  EXPECT_FALSE(MatchesAny(patterns, "c"));
  EXPECT_FALSE(MatchesAny({}, "a.x"));
}

}  // namespace
}  // namespace mammovl::train
