#include "data/dicom/sha256.h"

#include <string>

#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

// Test vectors from FIPS 180-4 examples and NIST CAVP (SHA256ShortMsg).
TEST(Sha256Test, MatchesPublishedVectors) {
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, IncrementalUpdatesEqualOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  const std::string expected = Sha256Hex(data);
  for (size_t split : {0, 1, 55, 56, 63, 64, 65, 127, 999, 1000}) {
    Sha256 hasher;
    hasher.Update(absl::string_view(data).substr(0, split));
    hasher.Update(absl::string_view(data).substr(split));
    EXPECT_EQ(DigestToHex(hasher.Finish()), expected) << "split " << split;
  }
}

}  // namespace
}  // namespace mammovl::data
