// BERT-base (Bio_ClinicalBERT size) inference forward on a batch of 16 × 256
// tokens, random weights: all positions real, and report-like lengths (40 to
// 120 tokens, padded to 256) with and without trimming the padding columns.
// Compared with the PyTorch reference by tools/bench/text_bench.sh.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <vector>

#include "benchmark/benchmark.h"
#include "text/bert/bert.h"

namespace mammovl::text {
namespace {

BertModel& Model() {
  static BertModel* model = [] {
    at::set_num_threads(2);
    at::manual_seed(0);
    auto* m = new BertModel(BertConfig());
    (*m)->eval();
    return m;
  }();
  return *model;
}

at::Tensor Mask(bool report_lengths) {
  at::Tensor mask = at::ones({16, 256}, at::kLong);
  if (report_lengths) {
    for (int64_t r = 0; r < 16; ++r)
      mask[r].narrow(0, 40 + (r * 37) % 81, 256 - 40 - (r * 37) % 81).zero_();
  }
  return mask;
}

void Forward(benchmark::State& state, bool report_lengths, bool trim) {
  BertModel& model = Model();
  at::manual_seed(1);
  const at::Tensor ids = at::randint(1000, 28996, {16, 256}, at::kLong);
  const at::Tensor mask = Mask(report_lengths);
  const int64_t l = trim ? mask.sum(1).max().item<int64_t>() : 256;
  c10::InferenceMode guard;
  for (auto _ : state) {
    const BertOutput out =
        model->forward(ids.narrow(1, 0, l), mask.narrow(1, 0, l));
    benchmark::DoNotOptimize(out.last_hidden_state.data_ptr());
  }
  state.counters["tokens_computed"] = static_cast<double>(16 * l);
}

void BM_BertBaseForward16x256(benchmark::State& state) {
  Forward(state, false, false);
}
void BM_BertBaseForwardReports(benchmark::State& state) {
  Forward(state, true, false);
}
void BM_BertBaseForwardReportsTrimmed(benchmark::State& state) {
  Forward(state, true, true);
}
BENCHMARK(BM_BertBaseForward16x256)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);
BENCHMARK(BM_BertBaseForwardReports)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);
BENCHMARK(BM_BertBaseForwardReportsTrimmed)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

}  // namespace
}  // namespace mammovl::text
