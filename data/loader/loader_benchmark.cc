// Loader throughput on the PNG release of a synthetic corpus, with the
// Mammo-CLIP (1520×912) and MaMA (518²) training augmentations. Run by
// tools/bench/loader_bench.sh next to the Python reference; reads the PNG
// folder from MAMMOVL_BENCH_PNG_DIR. Reports images/s and peak RSS.

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <dirent.h>

#include "core/process_usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "data/loader/loader.h"
#include "google/protobuf/text_format.h"

namespace mammovl::data {
namespace {

std::shared_ptr<std::vector<Sample>> PngSamples() {
  auto samples = std::make_shared<std::vector<Sample>>();
  const char* dir = std::getenv("MAMMOVL_BENCH_PNG_DIR");
  if (dir == nullptr) return samples;
  DIR* top = opendir(dir);
  if (top == nullptr) return samples;
  std::vector<std::string> files;
  while (dirent* p = readdir(top)) {
    const std::string patient = p->d_name;
    if (patient == "." || patient == "..") continue;
    DIR* sub = opendir(absl::StrCat(dir, "/", patient).c_str());
    if (sub == nullptr) continue;
    while (dirent* f = readdir(sub)) {
      if (absl::EndsWith(f->d_name, ".png")) files.push_back(absl::StrCat(dir, "/", patient, "/", f->d_name));
    }
    closedir(sub);
  }
  closedir(top);
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    Sample s;
    s.id = f;
    s.images.push_back({f, f, "", ""});
    samples->push_back(s);
  }
  return samples;
}

void BM_Loader(benchmark::State& state, const std::string& transform) {
  auto samples = PngSamples();
  if (samples->empty()) {
    state.SkipWithError("set MAMMOVL_BENCH_PNG_DIR to a corpus' png/ folder");
    return;
  }
  LoaderConfig config;
  config.set_batch_size(8);
  config.set_num_workers(static_cast<int>(state.range(0)));
  TransformConfig t;
  google::protobuf::TextFormat::ParseFromString(transform, &t);
  auto loader = Loader::Create(config, samples, PairingConfig(), {t});
  if (!loader.ok()) {
    state.SkipWithError(std::string(loader.status().message()).c_str());
    return;
  }
  for (int i = 0; i < 2; ++i) (void)(*loader)->Next();  // warm up
  int64_t images = 0;
  for (auto _ : state) {
    absl::StatusOr<Batch> batch = (*loader)->Next();
    if (!batch.ok()) {
      state.SkipWithError(std::string(batch.status().message()).c_str());
      return;
    }
    images += batch->size();
    benchmark::DoNotOptimize(batch->images[0].data_ptr());
  }
  state.SetItemsProcessed(images);
  state.counters["peak_rss_MiB"] = core::PeakRssMiB();
  state.counters["peak_prefetch_MiB"] =
      static_cast<double>((*loader)->stats().peak_bytes_in_flight) / (1 << 20);
}

BENCHMARK_CAPTURE(BM_Loader, mammoclip_1520x912,
                  std::string("mammoclip { height: 1520 width: 912 }"))
    ->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(20);
BENCHMARK_CAPTURE(BM_Loader, mammoclip_1520x912_stepwise,
                  std::string("mammoclip { height: 1520 width: 912 fused: false }"))
    ->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(20);
BENCHMARK_CAPTURE(BM_Loader, mama_518, std::string("mama { size: 518 }"))
    ->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(20);

}  // namespace
}  // namespace mammovl::data

BENCHMARK_MAIN();
