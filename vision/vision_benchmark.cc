// Throughput of the image encoders on CPU: inference (eval, InferenceMode) and
// one training step (train mode, forward + sum of the pooled feature as loss +
// backward + AdamW), for EfficientNet-B2/B5 at 1520×912 and DINOv2
// ViT-B/14-reg4 at 518×518, batch 1 and 4. tools/bench/vision_bench.sh runs
// it next to the Python reference (tools/reference_bench/vision_reference.py).
//
//   bazel run //vision:vision_benchmark -- --threads=2 \
//       --benchmark_filter='b2/infer/1'
//
// Flags besides Google Benchmark's: --threads=N (intra-op threads, default 2),
// --iters=N (timed iterations per case, default 2; one warm-up runs first),
// --contiguous (NCHW activations instead of channels_last), --keep_memory (tell
// glibc malloc never to return memory to the OS, the equivalent of
// MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=huge).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <c10/core/InferenceMode.h>
#include <malloc.h>
#include <torch/optim/adamw.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/process_usage.h"
#include "vision/backbone.h"
#include "vision/efficientnet.h"
#include "vision/vision_config.pb.h"
#include "vision/vit.h"

namespace mammovl::vision {
namespace {

int g_iters = 2;
bool g_channels_last = true;

std::shared_ptr<BackboneImpl> Build(const std::string& model) {
  if (model == "vit") {
    return std::make_shared<VisionTransformerImpl>(
        VitConfig());  // DINOv2 ViT-B/14-reg4
  }
  EfficientNetConfig config;
  config.set_variant(model == "b5" ? EfficientNetConfig::B5
                                   : EfficientNetConfig::B2);
  return std::make_shared<EfficientNetImpl>(config, g_channels_last);
}

void Run(benchmark::State& state, const std::string& model, bool train) {
  const int64_t batch = state.range(0);
  std::shared_ptr<BackboneImpl> net = Build(model);
  const bool vit = model == "vit";
  at::manual_seed(0);
  const at::Tensor x =
      vit ? at::randn({batch, 3, 518, 518}) : at::randn({batch, 3, 1520, 912});
  std::unique_ptr<torch::optim::AdamW> optimizer;
  if (train) {
    net->train();
    optimizer = std::make_unique<torch::optim::AdamW>(
        net->parameters(), torch::optim::AdamWOptions(1e-5));
  } else {
    net->eval();
  }
  auto step = [&] {
    if (train) {
      optimizer->zero_grad();
      net->Forward(x).pooled.sum().backward();
      optimizer->step();
    } else {
      c10::InferenceMode guard;
      benchmark::DoNotOptimize(net->Forward(x).pooled);
    }
  };
  step();  // warm-up: first touch of memory, oneDNN kernel creation
  const double cpu0 = core::ProcessCpuSeconds();
  for (auto _ : state) step();
  state.counters["process_cpu_s_per_iter"] =
      (core::ProcessCpuSeconds() - cpu0) / static_cast<double>(state.iterations());
  state.counters["peak_rss_mib"] = core::PeakRssMiB();
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(batch),
                         benchmark::Counter::kIsIterationInvariantRate);
}

void Register() {
  for (const char* model : {"b2", "b5", "vit"}) {
    for (bool train : {false, true}) {
      const std::string name =
          std::string(model) + (train ? "/train" : "/infer");
      benchmark::RegisterBenchmark(
          name.c_str(),
          [model, train](benchmark::State& s) { Run(s, model, train); })
          ->Arg(1)
          ->Arg(4)
          ->Iterations(g_iters)
          ->Unit(benchmark::kSecond)
          ->UseRealTime();
    }
  }
}

}  // namespace
}  // namespace mammovl::vision

int main(int argc, char** argv) {
  int threads = 2;
  bool keep_memory = false;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      threads = std::atoi(argv[i] + 10);
    } else if (std::strncmp(argv[i], "--iters=", 8) == 0) {
      mammovl::vision::g_iters = std::atoi(argv[i] + 8);
    } else if (std::strcmp(argv[i], "--contiguous") == 0) {
      mammovl::vision::g_channels_last = false;
    } else if (std::strcmp(argv[i], "--keep_memory") == 0) {
      keep_memory = true;
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (keep_memory) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, -1);
  }
  at::set_num_threads(threads);
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  mammovl::vision::Register();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
