#include "tools/fuzz/fuzz_dictionary.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::fuzz {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FuzzDictionaryTest, ParsesNamedAndBareWordsWithEscapes) {
  std::vector<std::string> words;
  std::string error;
  ASSERT_TRUE(ParseDictionary(
      "# comment\n\nkw1=\"DICM\"\n  "
      "\"a\\\"b\"\ntag_rows=\"\\x28\\x00\\x10\\x00\"\r\nbs=\"\\\\\"\n",
      &words, &error))
      << error;
  EXPECT_THAT(words, ElementsAre("DICM", "a\"b",
                                 std::string("\x28\x00\x10\x00", 4), "\\"));
}

TEST(FuzzDictionaryTest, RejectsMalformedLinesNamingTheLine) {
  for (const char* bad :
       {"x=\"open\n", "x=\"\\q\"\n", "x=\"\\x4\"\n", "x=unquoted\n",
        "x=\"a\" tail\n", "bad-name=\"a\"\n"}) {
    std::vector<std::string> words;
    std::string error;
    EXPECT_FALSE(
        ParseDictionary(std::string("ok=\"1\"\n") + bad, &words, &error))
        << bad;
    EXPECT_THAT(error, HasSubstr("line 2")) << bad;
  }
}

}  // namespace
}  // namespace mammovl::fuzz
