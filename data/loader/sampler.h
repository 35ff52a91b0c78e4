// The order in which a loader visits samples: a permutation derived from
// (seed, epoch) alone, sharded across ranks like torch's
// DistributedSampler, cut into batches. A position (epoch, batch) is enough
// to resume exactly. No LibTorch.
#ifndef MAMMOVL_DATA_LOADER_SAMPLER_H_
#define MAMMOVL_DATA_LOADER_SAMPLER_H_

#include <cstdint>
#include <vector>

namespace mammovl::data {

struct LoaderPosition {
  int64_t epoch = 0;
  int64_t batch = 0;  // index of the next batch within the epoch
  bool operator==(const LoaderPosition& o) const { return epoch == o.epoch && batch == o.batch; }
};

struct ShardSpec {
  int rank = 0;
  int world_size = 1;
};

// Sample indices of this rank's batches for `epoch`. With `shuffle`, the
// permutation comes from (seed, epoch); every rank computes the same one and
// takes every world_size-th element starting at its rank. Without
// drop_last, the permutation is padded by repeating its start so that every
// rank gets the same count and the last batch may be short; with drop_last,
// the tail that does not divide evenly and the last short batch are dropped.
std::vector<std::vector<int64_t>> EpochBatches(int64_t num_samples, int64_t batch_size,
                                               uint64_t seed, int64_t epoch, bool shuffle,
                                               bool drop_last, const ShardSpec& shard);

// Number of batches per epoch for the same arguments.
int64_t BatchesPerEpoch(int64_t num_samples, int64_t batch_size, bool drop_last,
                        const ShardSpec& shard);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_LOADER_SAMPLER_H_
