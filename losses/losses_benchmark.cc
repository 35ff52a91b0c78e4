// Forward + backward time of the pretraining losses at the references' sizes
// (per rank), single process. Compared with the same computations in Python
// PyTorch by tools/bench/losses_bench.sh.
//   bazel build //losses:losses_benchmark && bazel-bin/losses/losses_benchmark
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "losses/classification_losses.h"
#include "losses/clip_loss.h"
#include "losses/loss.h"
#include "losses/mgca_loss.h"
#include "losses/ntxent_loss.h"
#include "losses/sla_loss.h"

namespace mammovl::losses {
namespace {

at::Tensor Leaf(std::vector<int64_t> shape) {
  return at::randn(shape).set_requires_grad(true);
}

at::Tensor LogitScale() {
  return at::scalar_tensor(std::log(1 / 0.07), at::kFloat)
      .set_requires_grad(true);
}

void Clear(std::vector<at::Tensor>& leaves) {
  for (at::Tensor& t : leaves) t.mutable_grad().reset();
}

void BM_clip_b64_d512(benchmark::State& state) {
  std::vector<at::Tensor> x = {Leaf({64, 512}), Leaf({64, 512}), LogitScale()};
  const ClipLossConfig config;
  for (auto _ : state) {
    ClipLoss(x[0], x[1], x[2], config, LocalBatch()).total.backward();
    Clear(x);
  }
}
BENCHMARK(BM_clip_b64_d512)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

void BM_mammo_clip_b16_d512(benchmark::State& state) {
  std::vector<at::Tensor> x = {Leaf({16, 512}), Leaf({16, 512}),
                               Leaf({16, 512}), Leaf({16, 512}), LogitScale()};
  const MammoClipLossConfig config;
  for (auto _ : state) {
    MammoClipLoss(x[0], x[1], x[2], x[3], x[4], config, LocalBatch(), true)
        .total.backward();
    Clear(x);
  }
}
BENCHMARK(BM_mammo_clip_b16_d512)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

void BM_ntxent_b36_d512(benchmark::State& state) {
  std::vector<at::Tensor> x = {Leaf({36, 512}), Leaf({36, 512})};
  SimClrLossConfig config;
  config.set_temperature(0.5);
  for (auto _ : state) {
    NtXentLoss(x[0], x[1], config, LocalBatch()).total.backward();
    Clear(x);
  }
}
BENCHMARK(BM_ntxent_b36_d512)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

// MaMA: 37 x 37 patches, ~10 sentences per caption (ragged: 6..12).
void BM_sla_b16_p1369_s12_c512(benchmark::State& state) {
  std::vector<at::Tensor> x = {Leaf({16, 1369, 512}), Leaf({16, 12, 512}),
                               LogitScale()};
  const at::Tensor count =
      at::arange(16, at::kLong).remainder(7) + 6;  // 6..12 sentences
  const at::Tensor padding =
      at::arange(12, at::kLong).unsqueeze(0) >= count.unsqueeze(1);
  const SlaLossConfig config;
  for (auto _ : state) {
    SlaLoss(x[0], x[1], padding, x[2], config, LocalBatch()).total.backward();
    Clear(x);
  }
}
BENCHMARK(BM_sla_b16_p1369_s12_c512)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

// MGCA ResNet-50: 72 per GPU, 19 x 19 patches, 111 word slots, 128-d, 500
// prototypes.
void BM_mgca_b72(benchmark::State& state) {
  std::vector<at::Tensor> x = {
      Leaf({72, 128}), Leaf({72, 128}), Leaf({72, 361, 128}),
      Leaf({72, 111, 128}),
      L2Normalize(at::randn({500, 128})).set_requires_grad(true)};
  LossInputs in;
  in.image = x[0];
  in.text = x[1];
  in.image_local = x[2];
  in.text_local = x[3];
  const at::Tensor words =
      at::arange(72, at::kLong).remainder(60) + 20;  // 20..79 words
  in.text_local_padding =
      at::arange(111, at::kLong).unsqueeze(0) >= words.unsqueeze(1);
  in.text_local_weights =
      at::rand({72, 111}).masked_fill(in.text_local_padding, 0);
  const MgcaLossConfig config;
  for (auto _ : state) {
    MgcaLoss(in, x[4], config, LocalBatch()).total.backward();
    Clear(x);
  }
}
BENCHMARK(BM_mgca_b72)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

// RetinaNet at 512 x 512: 49,104 anchors, one class.
void BM_focal_anchors49104(benchmark::State& state) {
  std::vector<at::Tensor> x = {Leaf({49104, 1})};
  const at::Tensor targets = (at::rand({49104, 1}) < 0.001).to(at::kFloat);
  FocalLossConfig config;
  config.set_probability_clamp(1e-4);
  config.set_normalization(FocalLossConfig::NUM_POSITIVES);
  for (auto _ : state) {
    FocalLoss(x[0], targets, config).backward();
    Clear(x);
  }
}
BENCHMARK(BM_focal_anchors49104)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

}  // namespace
}  // namespace mammovl::losses

// Threads: $MVL_BENCH_THREADS, default 2 (the development machine's cores).
int main(int argc, char** argv) {
  const char* threads = std::getenv("MVL_BENCH_THREADS");
  at::set_num_threads(threads != nullptr ? std::max(1, std::atoi(threads)) : 2);
  at::manual_seed(0);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
