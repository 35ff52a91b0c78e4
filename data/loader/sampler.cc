#include "data/loader/sampler.h"

#include <algorithm>
#include <numeric>

#include "data/transforms/rng.h"

namespace mammovl::data {
namespace {

int64_t PerRank(int64_t n, bool drop_last, int world) {
  if (world <= 1) return n;
  return drop_last ? n / world : (n + world - 1) / world;
}

}  // namespace

int64_t BatchesPerEpoch(int64_t num_samples, int64_t batch_size, bool drop_last,
                        const ShardSpec& shard) {
  const int64_t per_rank = PerRank(num_samples, drop_last, shard.world_size);
  if (batch_size <= 0) return 0;
  return drop_last ? per_rank / batch_size : (per_rank + batch_size - 1) / batch_size;
}

std::vector<std::vector<int64_t>> EpochBatches(int64_t num_samples, int64_t batch_size,
                                               uint64_t seed, int64_t epoch, bool shuffle,
                                               bool drop_last, const ShardSpec& shard) {
  std::vector<int64_t> order(num_samples);
  std::iota(order.begin(), order.end(), 0);
  if (shuffle) {
    Rng rng(DeriveSeed(seed, {0x0D3E, static_cast<uint64_t>(epoch)}));
    rng.Shuffle(order);
  }
  const int world = std::max(1, shard.world_size);
  const int64_t per_rank = PerRank(num_samples, drop_last, world);
  const int64_t total = per_rank * world;
  if (total > num_samples && num_samples > 0) {
    // Pad by repeating the start of the permutation.
    for (int64_t i = num_samples; i < total; ++i) order.push_back(order[(i - num_samples) % num_samples]);
  }
  order.resize(total);
  std::vector<int64_t> mine;
  for (int64_t i = shard.rank; i < total; i += world) mine.push_back(order[i]);
  std::vector<std::vector<int64_t>> batches;
  for (size_t b = 0; b < mine.size(); b += batch_size) {
    const size_t end = std::min(mine.size(), b + static_cast<size_t>(batch_size));
    if (drop_last && end - b < static_cast<size_t>(batch_size)) break;
    batches.emplace_back(mine.begin() + b, mine.begin() + end);
  }
  return batches;
}

}  // namespace mammovl::data
