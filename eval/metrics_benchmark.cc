// Timing of the metrics an evaluation run spends time on: ROC AUC over a
// test split, multi-class AUC and a bootstrap interval. The inputs are the
// closed forms in tools/reference_bench/metrics_reference.py, which times
// scikit-learn on the same data; tools/bench/metrics_bench.sh runs both.
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "eval/metrics.h"
#include "eval/metrics_bootstrap.h"

namespace mammovl::eval {
namespace {

// y = 1 for every 7th sample; score quantised to 1e-3 (many ties), shifted up
// by 0.2 for positives.
void MakeBinary(int n, std::vector<int>* y, std::vector<double>* s) {
  y->resize(n);
  s->resize(n);
  for (int i = 0; i < n; ++i) {
    (*y)[i] = i % 7 == 0;
    const uint64_t h = (static_cast<uint64_t>(i) * 2654435761ULL) % 1000;
    (*s)[i] = static_cast<double>(h) / 1000.0 + 0.2 * (*y)[i];
  }
}

void BM_RocAuc(benchmark::State& state) {
  std::vector<int> y;
  std::vector<double> s;
  MakeBinary(static_cast<int>(state.range(0)), &y, &s);
  for (auto _ : state) benchmark::DoNotOptimize(RocAuc(y, s));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RocAuc)->Arg(13682)->Unit(benchmark::kMillisecond);

void BM_MulticlassRocAucOvr(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int k = 7;
  std::vector<int> y(n);
  std::vector<std::vector<double>> p(n, std::vector<double>(k));
  for (int i = 0; i < n; ++i) {
    y[i] = i % k;
    double total = 0;
    for (int c = 0; c < k; ++c) {
      p[i][c] = 1.0 + ((i * 31 + c * 17) % 10) + (c == y[i] ? 5.0 : 0.0);
      total += p[i][c];
    }
    for (double& v : p[i]) v /= total;
  }
  for (auto _ : state) benchmark::DoNotOptimize(MulticlassRocAuc(y, p));
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_MulticlassRocAucOvr)->Arg(5000)->Unit(benchmark::kMillisecond);

void BM_BootstrapRocAuc(benchmark::State& state) {
  std::vector<int> y;
  std::vector<double> s;
  MakeBinary(static_cast<int>(state.range(0)), &y, &s);
  BootstrapOptions options;
  options.num_resamples = 200;
  for (auto _ : state) benchmark::DoNotOptimize(BootstrapRocAuc(y, s, options));
}
BENCHMARK(BM_BootstrapRocAuc)->Arg(5956)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mammovl::eval
