// AdamW step and gradient clipping over the parameters of six BERT-base-sized
// transformer layers (96 tensors, 42.5M parameters), 2 intra-op threads.
// The Python reference is tools/reference_bench/optimizer_reference.py; run
// both with tools/bench/optimizer_bench.sh.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <vector>

#include "benchmark/benchmark.h"
#include "train/optimizer.h"

namespace mammovl::train {
namespace {

NamedTensors TransformerLayers(int layers) {
  NamedTensors params;
  at::manual_seed(0);
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    at::Tensor p = at::randn(shape).set_requires_grad(true);
    p.mutable_grad() = at::randn(shape) * 1e-3;
    params.emplace_back(name, p);
  };
  for (int l = 0; l < layers; ++l) {
    const std::string prefix = "layer." + std::to_string(l) + ".";
    for (const char* m : {"query", "key", "value", "output"}) {
      add(prefix + m + ".weight", {768, 768});
      add(prefix + m + ".bias", {768});
    }
    add(prefix + "ln1.weight", {768});
    add(prefix + "ln1.bias", {768});
    add(prefix + "fc1.weight", {3072, 768});
    add(prefix + "fc1.bias", {3072});
    add(prefix + "fc2.weight", {768, 3072});
    add(prefix + "fc2.bias", {768});
    add(prefix + "ln2.weight", {768});
    add(prefix + "ln2.bias", {768});
  }
  return params;
}

void BM_AdamWStep(benchmark::State& state) {
  at::set_num_threads(2);
  const NamedTensors params = TransformerLayers(6);
  TrainConfig config;
  config.mutable_adamw()->set_weight_decay(0.05);
  config.mutable_weight_decay_groups()->set_policy(
      WeightDecayGroupsConfig::DECAY_ALL);
  auto optimizer = *BuildOptimizer(config, *MakeParamGroups(params, config));
  // Warm-up: the first step allocates the moments and touches the pages.
  for (int i = 0; i < 2; ++i) (void)optimizer->Step(1e-4);
  for (auto _ : state) {
    if (!optimizer->Step(1e-4).ok()) state.SkipWithError("step failed");
  }
}
BENCHMARK(BM_AdamWStep)->Unit(benchmark::kMillisecond);

void BM_ClipGradNorm(benchmark::State& state) {
  at::set_num_threads(2);
  const NamedTensors params = TransformerLayers(6);
  std::vector<at::Tensor> tensors;
  for (const auto& [name, p] : params) tensors.push_back(p);
  (void)ClipGradNorm(tensors, 1e9);
  for (auto _ : state) {
    benchmark::DoNotOptimize(ClipGradNorm(tensors, 1e9));
  }
}
BENCHMARK(BM_ClipGradNorm)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mammovl::train
