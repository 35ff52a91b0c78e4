// End-to-end embedding extraction: PNG files on disk -> loader (decode,
// Mammo-CLIP evaluation transform: min-max + mean/std, 3 channels) ->
// EfficientNet (B5 by default) at 1520x912 -> linear projection -> L2 norm,
// through `EmbedSamples`, the path zero-shot evaluation and feature caching
// take. Compared with tools/reference_bench/embedding_reference.py by
// tools/bench/embedding_bench.sh.
//
//   MVL_BENCH_PNG_DIR=/tmp/pngs bazel-bin/eval/embedding_benchmark \
//       --benchmark_min_time=0 [--variant=b2] [--batch=1] [--threads=2]
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "eval/embed_samples.h"
#include "google/protobuf/text_format.h"
#include "vision/image_encoder.h"

namespace mammovl::eval {
namespace {

// An image tower alone as a VisionLanguageModel (no text tower).
class ImageTowerModel : public VisionLanguageModel {
 public:
  explicit ImageTowerModel(vision::ImageEncoder encoder) : encoder_(std::move(encoder)) {}
  absl::StatusOr<at::Tensor> EncodeImages(const at::Tensor& images) override {
    torch::InferenceMode guard;
    at::Tensor x = images.size(1) == 1 ? images.expand({-1, 3, -1, -1}) : images;
    return torch::nn::functional::normalize(
        encoder_->forward(x.contiguous(at::MemoryFormat::ChannelsLast)).embedding,
        torch::nn::functional::NormalizeFuncOptions().dim(1));
  }
  absl::StatusOr<at::Tensor> EncodeTexts(const std::vector<std::string>&) override {
    return absl::UnimplementedError("image tower only");
  }
  absl::StatusOr<at::Tensor> ImageFeatures(const at::Tensor& images, bool) override {
    return EncodeImages(images);
  }
  double LogitScale() const override { return 1; }
  void SetTraining(bool training) override { encoder_->train(training); }
  std::vector<std::pair<std::string, at::Tensor>> ImageParameters() override { return {}; }
  std::vector<std::pair<std::string, at::Tensor>> ImageBuffers() override { return {}; }

 private:
  vision::ImageEncoder encoder_;
};

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]).rfind(prefix, 0) == 0) return std::string(argv[i]).substr(prefix.size());
  }
  return fallback;
}

std::string g_variant = "B5";
int g_batch = 1;
int g_workers = 2;

void BM_PngToEmbeddings(benchmark::State& state) {
  const char* dir = std::getenv("MVL_BENCH_PNG_DIR");
  if (dir == nullptr) {
    state.SkipWithError("set MVL_BENCH_PNG_DIR to a folder of 1520x912 PNGs");
    return;
  }
  auto samples = std::make_shared<std::vector<data::Sample>>();
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".png") continue;
    data::Sample s;
    s.id = entry.path().stem().string();
    s.images.push_back({entry.path().string(), s.id, "", ""});
    samples->push_back(std::move(s));
  }
  std::sort(samples->begin(), samples->end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  vision::VisionConfig vision;
  google::protobuf::TextFormat::ParseFromString(
      absl::StrCat("efficientnet { variant: ", g_variant,
                   " } projection { linear { output_dim: 512 } }"),
      &vision);
  torch::manual_seed(0);
  auto encoder = vision::BuildImageEncoder(vision);
  if (!encoder.ok()) {
    state.SkipWithError(encoder.status().ToString().c_str());
    return;
  }
  ImageTowerModel model(*encoder);
  data::DataConfig data;
  google::protobuf::TextFormat::ParseFromString(
      absl::StrCat("transforms { mammoclip { height: 1520 width: 912 } train: false } "
                   "loader { output_channels: 3 batch_size: ", g_batch,
                   " num_workers: ", g_workers, " }"),
      &data);
  // Warm-up on the first batch (first-touch memory, oneDNN kernels).
  auto first = std::make_shared<std::vector<data::Sample>>(samples->begin(),
                                                           samples->begin() + g_batch);
  if (!EmbedSamples(model, first, data, ImageOutput::kEmbedding, "warm-up").ok()) {
    state.SkipWithError("warm-up failed");
    return;
  }
  for (auto _ : state) {
    auto out = EmbedSamples(model, samples, data, ImageOutput::kEmbedding, "embed");
    if (!out.ok()) {
      state.SkipWithError(out.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(out->values.data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(samples->size()));
}
BENCHMARK(BM_PngToEmbeddings)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

}  // namespace
}  // namespace mammovl::eval

int main(int argc, char** argv) {
  using namespace mammovl::eval;  // NOLINT: flags of this file only
  g_variant = Flag(argc, argv, "variant", "B5");
  for (char& c : g_variant) c = static_cast<char>(std::toupper(c));
  g_batch = std::atoi(Flag(argc, argv, "batch", "1").c_str());
  g_workers = std::atoi(Flag(argc, argv, "workers", "2").c_str());
  at::set_num_threads(std::atoi(Flag(argc, argv, "threads", "2").c_str()));
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (i == 0 || a.rfind("--benchmark", 0) == 0) rest.push_back(argv[i]);
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
