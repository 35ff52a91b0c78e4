// Time of one pretraining step on CPU, built from the recipe configs
// (configs/mammoclip_b5.pbtxt, configs/mama.pbtxt) with random weights:
// `PretrainModel::ComputeLoss` on a synthetic batch, backward, AdamW step.
//   mammoclip_b5: two views [B, 1, H, W] (EfficientNet-B5) and two texts of
//                 256 tokens (BERT-base), multi-view loss.
//   mama:         image and partner at S×S (ViT-B/14-reg4), 144-token captions
//                 with 9 sentence separators through GPT-2 of width 2560 with
//                 --gpt2_layers blocks and LoRA, every late MaMA term on.
// Gradient checkpointing is off on both sides. tools/bench/pretrain_bench.sh
// runs it next to tools/reference_bench/pretrain_step_reference.py.
//
//   bazel run -c opt //train:pretrain_step_benchmark -- --threads=2 \
//       --benchmark_filter=mammoclip_b5 --height=1520 --width=912
//
// Flags besides Google Benchmark's (all --name=value): threads (2), iters
// (2, after one warm-up step), batch (2), height (1520), width (912), size
// (518), gpt2_layers (2; BioMedLM has 32).

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/optim/adamw.h>

#include "core/process_usage.h"
#include "absl/strings/str_cat.h"
#include "core/proto_config.h"
#include "data/loader/loader.h"
#include "train/experiment.pb.h"
#include "train/pretrain_model.h"

namespace mammovl::train {
namespace {

std::map<std::string, int> g_flags = {
    {"threads", 2}, {"iters", 2},  {"batch", 2},      {"height", 1520},
    {"width", 912}, {"size", 518}, {"gpt2_layers", 2}};

void RunStep(benchmark::State& state, const std::string& recipe) {
  at::set_num_threads(g_flags["threads"]);
  at::manual_seed(0);
  const int64_t b = g_flags["batch"];
  Experiment e;
  absl::Status s =
      core::LoadConfig(absl::StrCat("configs/", recipe, ".pbtxt"), {}, &e);
  if (!s.ok()) return state.SkipWithError(s.ToString().c_str());
  PretrainModelConfig& m = *e.mutable_model();
  m.mutable_vision()->clear_checkpoint();
  m.mutable_text()->clear_checkpoint();
  data::Batch batch;
  losses::LossContext context;
  if (recipe == "mama") {
    m.mutable_vision()->mutable_vit()->set_gradient_checkpointing_segments(0);
    m.mutable_text()->mutable_gpt2()->set_gradient_checkpointing(false);
    m.mutable_text()->mutable_gpt2()->set_n_layer(g_flags["gpt2_layers"]);
    m.mutable_text()->mutable_tokenizer()->set_tokenizer_json(
        "text/tokenizer/testdata/gpt2_mama_tokenizer.json");
    m.mutable_caption()->set_source(CaptionConfig::DATASET_TEXT);
    const int64_t size = g_flags["size"];
    batch.images = {at::randn({b, 1, size, size}), at::randn({b, 1, size, size})};
    std::string caption = "<|startoftext|>";
    for (int i = 0; i < 9; ++i) {
      caption += "the left breast is heterogeneously dense<|separatetext|>";
    }
    batch.texts = {std::vector<std::string>(b, caption)};
    context.global_step = e.loss().mama().late_loss_step();  // all terms on
  } else {
    m.mutable_text()->mutable_tokenizer()->mutable_wordpiece()->set_vocab_path(
        "text/tokenizer/testdata/bert_cased_vocab.txt");
    const int64_t h = g_flags["height"], w = g_flags["width"];
    batch.images = {at::randn({b, 1, h, w}), at::randn({b, 1, h, w})};
    std::string report;  // longer than 256 tokens: cut to exactly 256
    for (int i = 0; i < 40; ++i) report += "no suspicious mass is seen. ";
    batch.texts = {std::vector<std::string>(b, report),
                   std::vector<std::string>(b, report)};
  }
  for (int64_t i = 0; i < b; ++i) batch.sample_indices.push_back(i);
  auto model = BuildPretrainModel(e);
  if (!model.ok()) return state.SkipWithError(model.status().ToString().c_str());
  (*model)->SetTraining(true);
  std::vector<at::Tensor> trainable;
  for (const auto& [name, p] : (*model)->Parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  torch::optim::AdamW optimizer(trainable,
                                torch::optim::AdamWOptions(1e-5));
  auto step = [&]() -> bool {
    optimizer.zero_grad();
    auto out = (*model)->ComputeLoss(batch, context);
    if (!out.ok()) {
      state.SkipWithError(out.status().ToString().c_str());
      return false;
    }
    out->total.backward();
    optimizer.step();
    return true;
  };
  if (!step()) return;  // warm-up
  double cpu = 0;
  int iters = 0;
  for (auto _ : state) {
    const double c0 = core::ProcessCpuSeconds();
    for (int i = 0; i < g_flags["iters"]; ++i) {
      if (!step()) return;
      ++iters;
    }
    cpu += core::ProcessCpuSeconds() - c0;
  }
  state.counters["seconds_per_step"] = benchmark::Counter(
      static_cast<double>(iters), benchmark::Counter::kIsRate |
                                      benchmark::Counter::kInvert);
  state.counters["process_cpu_s_per_step"] = cpu / std::max(iters, 1);
  state.counters["peak_rss_mib"] = core::PeakRssMiB();
}

}  // namespace
}  // namespace mammovl::train

int main(int argc, char** argv) {
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    bool ours = false;
    for (auto& [name, value] : mammovl::train::g_flags) {
      const std::string prefix = "--" + name + "=";
      if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
        value = std::atoi(argv[i] + prefix.size());
        ours = true;
      }
    }
    if (!ours) rest.push_back(argv[i]);
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  for (const char* recipe : {"mammoclip_b5", "mama"}) {
    benchmark::RegisterBenchmark(recipe, mammovl::train::RunStep,
                                 std::string(recipe))
        ->Iterations(1)
        ->Unit(benchmark::kSecond)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
