#include "data/loader/sampler.h"

#include <algorithm>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

std::vector<int64_t> Flatten(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(SamplerTest, SequentialOrderAndLastBatch) {
  const auto keep = EpochBatches(10, 4, 1, 0, /*shuffle=*/false, /*drop_last=*/false, {});
  ASSERT_EQ(keep.size(), 3u);
  EXPECT_EQ(keep[2], (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(Flatten(keep), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  const auto drop = EpochBatches(10, 4, 1, 0, false, true, {});
  ASSERT_EQ(drop.size(), 2u);
  EXPECT_EQ(BatchesPerEpoch(10, 4, false, {}), 3);
  EXPECT_EQ(BatchesPerEpoch(10, 4, true, {}), 2);
}

TEST(SamplerTest, ShuffleDependsOnSeedAndEpochOnly) {
  const auto a = Flatten(EpochBatches(100, 10, 7, 3, true, true, {}));
  const auto b = Flatten(EpochBatches(100, 10, 7, 3, true, true, {}));
  const auto c = Flatten(EpochBatches(100, 10, 7, 4, true, true, {}));
  const auto d = Flatten(EpochBatches(100, 10, 8, 3, true, true, {}));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
}

TEST(SamplerTest, ShardsAreDisjointAndCoverTheEpoch) {
  // drop_last: 10 samples over 3 ranks -> 3 each, disjoint.
  std::set<int64_t> seen;
  for (int rank = 0; rank < 3; ++rank) {
    const auto mine = Flatten(EpochBatches(10, 1, 5, 0, true, true, {rank, 3}));
    EXPECT_EQ(mine.size(), 3u);
    for (int64_t i : mine) EXPECT_TRUE(seen.insert(i).second) << i;
  }
  EXPECT_EQ(seen.size(), 9u);
  // Without drop_last every rank gets 4: the permutation is padded by its
  // start, so all 10 samples are seen and two are seen twice.
  std::multiset<int64_t> all;
  for (int rank = 0; rank < 3; ++rank) {
    const auto mine = Flatten(EpochBatches(10, 4, 5, 0, true, false, {rank, 3}));
    EXPECT_EQ(mine.size(), 4u);
    all.insert(mine.begin(), mine.end());
    EXPECT_EQ(BatchesPerEpoch(10, 4, false, {rank, 3}), 1);
  }
  EXPECT_EQ(all.size(), 12u);
  for (int64_t i = 0; i < 10; ++i) EXPECT_GE(all.count(i), 1u);
}

}  // namespace
}  // namespace mammovl::data
