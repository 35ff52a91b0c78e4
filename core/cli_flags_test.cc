#include "core/cli_flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Overrides(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return SetOverrides(static_cast<int>(argv.size()), argv.data());
}

TEST(SetOverridesTest, CollectsEveryValueInOrderInBothSpellings) {
  EXPECT_THAT(Overrides({"main", "--set=a: 1", "--config=x", "--set", "b.c: 'd'",
                         "--set=e: 2"}),
              ElementsAre("a: 1", "b.c: 'd'", "e: 2"));
}

TEST(SetOverridesTest, IgnoresOtherFlagsTheProgramNameAndADanglingSet) {
  EXPECT_THAT(Overrides({"--set=not: read", "--settings=1", "--set"}), IsEmpty());
  EXPECT_THAT(Overrides({"main", "--setx=1", "--set"}), IsEmpty());
}

}  // namespace
}  // namespace mammovl::core
