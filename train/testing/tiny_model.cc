#include "train/testing/tiny_model.h"

#include <ATen/ATen.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mammovl::train::testing {
namespace {

constexpr int kIn = 8;
constexpr int kHidden = 16;
constexpr int kOut = 4;

at::Tensor Normal(std::mt19937_64& rng, std::vector<int64_t> shape,
                  double scale) {
  std::normal_distribution<float> normal(0.0f, static_cast<float>(scale));
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> values(n);
  for (float& v : values) v = normal(rng);
  return at::tensor(values, at::kFloat).reshape(shape);
}

}  // namespace

TinyModel::TinyModel(uint64_t seed) {
  std::mt19937_64 rng(seed);
  parameters_ = {
      {"encoder.weight",
       Normal(rng, {kHidden, kIn}, 0.3).set_requires_grad(true)},
      {"encoder.bias", at::zeros({kHidden}).set_requires_grad(true)},
      {"head.weight",
       Normal(rng, {kOut, kHidden}, 0.3).set_requires_grad(true)},
      {"head.bias", at::zeros({kOut}).set_requires_grad(true)},
  };
  buffers_ = {{"encoder.running_mean", at::zeros({kHidden})}};
}

at::Tensor TinyModel::Loss(const TinyBatch& batch, double dropout,
                           std::mt19937* noise) {
  at::Tensor x = batch.x;
  if (noise != nullptr) {
    std::normal_distribution<float> normal(0.0f, 0.01f);
    std::vector<float> values(x.numel());
    for (float& v : values) v = normal(*noise);
    x = x + at::tensor(values, at::kFloat).reshape(x.sizes());
  }
  at::Tensor h =
      at::tanh(at::linear(x, parameters_[0].second, parameters_[1].second));
  {
    at::NoGradGuard no_grad;
    buffers_[0].second.mul_(0.9).add_(h.detach().mean(0), 0.1);
  }
  if (dropout > 0) h = at::dropout(h, dropout, /*train=*/true);
  const at::Tensor y =
      at::linear(h, parameters_[2].second, parameters_[3].second);
  return at::mse_loss(y, batch.y);
}

absl::StatusOr<TinyBatch> TinyDataSource::Next() {
  std::mt19937_64 rng(seed_ * 1000003 + static_cast<uint64_t>(index_));
  ++index_;
  const at::Tensor x = Normal(rng, {global_batch_, kIn}, 1.0);
  std::mt19937_64 fixed(12345);
  const at::Tensor a = Normal(fixed, {kIn, kOut}, 0.5);
  const at::Tensor y = at::matmul(x, a);
  const int64_t rows = global_batch_ / world_size_;
  return TinyBatch{x.narrow(0, rank_ * rows, rows).contiguous(),
                   y.narrow(0, rank_ * rows, rows).contiguous()};
}

absl::Status TinyDataSource::Seek(absl::string_view position) {
  int64_t index = 0;
  if (!absl::SimpleAtoi(position, &index) || index < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad data position '", position, "'"));
  }
  index_ = index;
  return absl::OkStatus();
}

}  // namespace mammovl::train::testing
