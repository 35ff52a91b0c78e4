// A tiny regression model and a synthetic, seekable data source for the
// trainer's tests: Linear(8,16) -> tanh -> dropout -> Linear(16,4) fitted to
// y = x A, with a running-mean buffer (like BatchNorm's) and input noise from
// the caller's own generator. Test-only.
#ifndef MAMMOVL_TRAIN_TESTING_TINY_MODEL_H_
#define MAMMOVL_TRAIN_TESTING_TINY_MODEL_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "train/named_tensors.h"
#include "train/trainer.h"

namespace mammovl::train::testing {

struct TinyBatch {
  at::Tensor x;  // [rows, 8]
  at::Tensor y;  // [rows, 4]
};

class TinyModel {
 public:
  // Weights from a generator seeded with `seed`.
  explicit TinyModel(uint64_t seed);

  // Mean squared error of the batch; updates the running-mean buffer.
  // `dropout` is the drop probability (torch's generator), `noise` adds
  // N(0, 0.01) input noise drawn from `rng` when not null.
  at::Tensor Loss(const TinyBatch& batch, double dropout, std::mt19937* noise);

  const NamedTensors& parameters() const { return parameters_; }
  const NamedTensors& buffers() const { return buffers_; }

 private:
  NamedTensors parameters_;
  NamedTensors buffers_;
};

// Batch k of a run is the same on every rank and in every process: rows drawn
// from a generator seeded by (seed, k); a rank takes its share of the rows.
class TinyDataSource : public DataSource<TinyBatch> {
 public:
  TinyDataSource(int64_t global_batch, int rank, int world_size, uint64_t seed)
      : global_batch_(global_batch),
        rank_(rank),
        world_size_(world_size),
        seed_(seed) {}

  absl::StatusOr<TinyBatch> Next() override;
  std::string Position() const override { return std::to_string(index_); }
  absl::Status Seek(absl::string_view position) override;

 private:
  int64_t global_batch_;
  int rank_;
  int world_size_;
  uint64_t seed_;
  int64_t index_ = 0;
};

}  // namespace mammovl::train::testing

#endif  // MAMMOVL_TRAIN_TESTING_TINY_MODEL_H_
