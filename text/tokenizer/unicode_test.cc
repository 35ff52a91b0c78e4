#include "text/tokenizer/unicode.h"

#include <initializer_list>
#include <string>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::text {
namespace {

using ::mammovl::core::IsOk;
using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_THAT(ValidateUtf8(""), IsOk());
  EXPECT_THAT(ValidateUtf8("plain ascii"), IsOk());
  EXPECT_THAT(ValidateUtf8(
                  "caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"),
              IsOk());
}

TEST(Utf8Test, RejectsMalformedTextNamingTheOffset) {
  EXPECT_THAT(
      ValidateUtf8("ab\xFF"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("offset 2")));
  EXPECT_THAT(
      ValidateUtf8("a\xC3"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("truncated")));
  // Overlong '/', a surrogate, a code point above U+10FFFF, a stray
  // continuation byte, a bad third byte.
  for (const std::string bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80",
                                "\xF4\x90\x80\x80", "\x80", "\xE4\xB8\x41"}) {
    EXPECT_THAT(ValidateUtf8(bad), StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(Utf8Test, DecodeAndAppendRoundTrip) {
  const std::u32string cps = {U'a',     0xE9,  0x4E2D, 0x1F600,
                              0x10FFFF, 0x7FF, 0x800,  0xFFFF};
  std::string utf8;
  for (char32_t c : cps) AppendUtf8(c, &utf8);
  ASSERT_THAT(ValidateUtf8(utf8), IsOk());
  size_t pos = 0;
  std::u32string back;
  while (pos < utf8.size()) back.push_back(DecodeUtf8(utf8, &pos));
  EXPECT_EQ(back, cps);
  for (char32_t c : cps) {
    std::string one;
    AppendUtf8(c, &one);
    EXPECT_EQ(static_cast<int>(one.size()), Utf8Length(c));
  }
}

TEST(UnicodeClassTest, MatchesHuggingFaceClasses) {
  // Removed by clean_text: NUL, controls, format characters, U+FFFD,
  // private use; but not tab/newline/CR.
  for (char32_t c : std::initializer_list<char32_t>{
           0x0, 0x1, 0x7F, 0x85, 0xAD, 0x200B, 0xFEFF, 0xFFFD, 0xE000}) {
    EXPECT_TRUE(HasClass(c, kClassBertControl)) << std::hex << c;
  }
  for (char32_t c :
       std::initializer_list<char32_t>{U'\t', U'\n', U'\r', U'a', 0x378}) {
    EXPECT_FALSE(HasClass(c, kClassBertControl)) << std::hex << c;
  }
  for (char32_t c :
       std::initializer_list<char32_t>{U' ', U'\t', 0xA0, 0x3000, 0x2028})
    EXPECT_TRUE(HasClass(c, kClassWhitespace));
  EXPECT_FALSE(HasClass(0x200B, kClassWhitespace));
  for (char32_t c : std::initializer_list<char32_t>{U'!', U'$', U'^', U'`',
                                                    0x3001, 0x00BF}) {
    EXPECT_TRUE(HasClass(c, kClassBertPunctuation)) << std::hex << c;
  }
  EXPECT_TRUE(HasClass(0x301, kClassNonspacingMark));
  EXPECT_TRUE(HasClass(0x4E2D, kClassChinese));
  EXPECT_TRUE(HasClass(0x20000, kClassChinese));
  EXPECT_FALSE(HasClass(0x3042, kClassChinese));  // Hiragana.
  EXPECT_TRUE(HasClass(0x3042, kClassLetter));
  EXPECT_TRUE(HasClass(0x2163, kClassNumber));  // Roman numeral four.
  EXPECT_FALSE(
      HasClass(0x1F600, kClassLetter | kClassNumber | kClassWhitespace));
}

TEST(UnicodeMappingTest, LowercaseDecomposeAndCombiningClass) {
  char32_t out[4];
  ASSERT_EQ(ToLowercase(U'Q', out), 1);
  EXPECT_EQ(out[0], U'q');
  ASSERT_EQ(ToLowercase(0x3A3, out), 1);  // Σ → σ (no final-sigma context).
  EXPECT_EQ(out[0], 0x3C3);
  ASSERT_EQ(ToLowercase(0x130, out), 2);  // İ → i + combining dot.
  EXPECT_EQ(out[0], U'i');
  EXPECT_EQ(out[1], 0x307);
  ASSERT_EQ(Decompose(0xE9, out), 2);  // é.
  EXPECT_EQ(out[0], U'e');
  EXPECT_EQ(out[1], 0x301);
  ASSERT_EQ(Decompose(0xAC01, out), 3);  // Hangul 각.
  EXPECT_EQ(out[0], 0x1100);
  EXPECT_EQ(out[1], 0x1161);
  EXPECT_EQ(out[2], 0x11A8);
  ASSERT_EQ(Decompose(0x1E69, out), 3);  // ṩ → s, dot below, dot above.
  EXPECT_EQ(out[1], 0x323);
  EXPECT_EQ(out[2], 0x307);
  EXPECT_EQ(CombiningClass(0x301), 230);
  EXPECT_EQ(CombiningClass(0x323), 220);
  EXPECT_EQ(CombiningClass(U'a'), 0);
}

}  // namespace
}  // namespace mammovl::text
