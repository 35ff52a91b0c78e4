#include "data/dicom/pseudonym.h"

#include "data/dicom/sha256.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

TEST(PseudonymTest, IsPrefixOfSaltedDigest) {
  // sha256("s1:PID-42") computed independently with Python's hashlib.
  EXPECT_EQ(Pseudonymize("s1", "PID-42"), "9e6551e45a0e7392");
  EXPECT_EQ(Pseudonymize("s1", "PID-42"), Sha256Hex("s1:PID-42").substr(0, 16));
  EXPECT_EQ(Pseudonymize("s1", "PID-42").size(), 16u);
}

TEST(PseudonymTest, IgnoresDicomPaddingAndDependsOnSalt) {
  EXPECT_EQ(Pseudonymize("s1", "PID-42 "), Pseudonymize("s1", "PID-42"));
  EXPECT_EQ(Pseudonymize("s1", std::string("PID-42\0", 7)),
            Pseudonymize("s1", "PID-42"));
  EXPECT_NE(Pseudonymize("s2", "PID-42"), Pseudonymize("s1", "PID-42"));
  EXPECT_NE(Pseudonymize("s1", "PID-43"), Pseudonymize("s1", "PID-42"));
}

TEST(PseudonymTest, EmptyStaysEmpty) {
  EXPECT_EQ(Pseudonymize("s1", ""), "");
  EXPECT_EQ(Pseudonymize("s1", "  "), "");
}

}  // namespace
}  // namespace mammovl::data
