#include "data/transforms/rng.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

TEST(RngTest, SameSeedSameStreamAndKnownFirstValue) {
  Rng a(123), b(123), c(124);
  const uint64_t first = a.NextU64();
  EXPECT_EQ(first, b.NextU64());
  EXPECT_NE(first, c.NextU64());
  // xoshiro256** seeded by SplitMix64(0): a fixed value guards against
  // accidental changes of the generator (every seed-determined file would
  // change with it).
  Rng zero(0);
  EXPECT_EQ(zero.NextU64(), 0x99EC5F36CB75F2B4ULL);
}

TEST(RngTest, UniformAndIntRanges) {
  Rng r(5);
  double sum = 0;
  for (int i = 0; i < 20000; ++i) {
    const double u = r.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 20000, 0.5, 0.01);
  std::vector<int> counts(5, 0);
  for (int i = 0; i < 50000; ++i) {
    const int64_t v = r.UniformInt(-2, 2);
    ASSERT_GE(v, -2);
    ASSERT_LE(v, 2);
    ++counts[v + 2];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
  EXPECT_EQ(r.UniformInt(7, 7), 7);
}

TEST(RngTest, NormalMoments) {
  Rng r(9);
  double s = 0, s2 = 0;
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    const double x = r.Normal();
    s += x;
    s2 += x * x;
  }
  EXPECT_NEAR(s / n, 0, 0.02);
  EXPECT_NEAR(s2 / n, 1, 0.03);
}

TEST(RngTest, CategoricalShuffleAndDerivedSeeds) {
  Rng r(1);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 30000; ++i) ++counts[r.Categorical({1, 0, 3})];
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[2] / 30000.0, 0.75, 0.02);
  EXPECT_EQ(r.Categorical({0, 0}), 0);

  std::vector<int> v = {0, 1, 2, 3, 4, 5, 6, 7};
  Rng s1(3), s2(3);
  std::vector<int> a = v, b = v;
  s1.Shuffle(a);
  s2.Shuffle(b);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, v);
  std::sort(a.begin(), a.end());
  EXPECT_EQ(a, v);

  std::set<uint64_t> seeds;
  for (uint64_t i = 0; i < 100; ++i) seeds.insert(DeriveSeed(42, {i, 1}));
  for (uint64_t i = 0; i < 100; ++i) seeds.insert(DeriveSeed(42, {1, i}));
  EXPECT_EQ(seeds.size(), 199u);  // (1,1) appears in both lists
  const std::string s = "abc";
  EXPECT_EQ(HashString(s.data(), s.size()), HashString("abc", 3));
  EXPECT_NE(HashString("abc", 3), HashString("abd", 3));
}

}  // namespace
}  // namespace mammovl::data
