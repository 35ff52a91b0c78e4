// A small, portable pseudo-random generator for everything in MammoVL's data
// path that must be reproducible from a seed: synthetic corpora, augmentation
// parameters, shuffling. Unlike the std:: distributions, every draw here is
// specified by this file, so a seed gives the same numbers with any standard
// library. No LibTorch, no OpenCV.
#ifndef MAMMOVL_DATA_TRANSFORMS_RNG_H_
#define MAMMOVL_DATA_TRANSFORMS_RNG_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace mammovl::data {

// Returns a well-mixed 64-bit value of `x` (SplitMix64 finaliser).
uint64_t Mix64(uint64_t x);

// Returns a seed derived from `seed` and the ordered `tags`, e.g.
// `DeriveSeed(corpus_seed, {patient, breast, view})`. Different tag lists
// give statistically independent streams.
uint64_t DeriveSeed(uint64_t seed, std::initializer_list<uint64_t> tags);

// Hashes a string to 64 bits (FNV-1a followed by `Mix64`); stable everywhere.
uint64_t HashString(const char* data, size_t size);

// xoshiro256** seeded through SplitMix64. Not thread-safe; cheap to copy.
class Rng {
 public:
  explicit Rng(uint64_t seed);

  // Uniform 64-bit value.
  uint64_t NextU64();
  // Uniform in [0, 1) with 53 random bits.
  double Uniform();
  // Uniform in [lo, hi).
  double Uniform(double lo, double hi);
  // Uniform integer in [lo, hi] (inclusive, unbiased). Requires lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi);
  // Standard normal (Box-Muller, both values used).
  double Normal();
  double Normal(double mean, double stddev) { return mean + stddev * Normal(); }
  // True with probability `p`.
  bool Bernoulli(double p);
  // Index drawn with probability proportional to `weights` (non-negative,
  // not all zero; otherwise returns 0).
  int Categorical(const std::vector<double>& weights);
  // Fisher-Yates shuffle of `v`.
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (int64_t i = static_cast<int64_t>(v.size()) - 1; i > 0; --i) {
      const int64_t j = UniformInt(0, i);
      std::swap(v[i], v[j]);
    }
  }

 private:
  uint64_t s_[4];
  bool has_spare_normal_ = false;
  double spare_normal_ = 0;
};

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_TRANSFORMS_RNG_H_
