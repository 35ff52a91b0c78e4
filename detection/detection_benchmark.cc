// Timing of the detector's per-step and per-evaluation work: anchor grids,
// NMS, the RetinaNet loss (forward + backward), post-processing and the AP
// metrics. Inputs are the closed forms in
// tools/reference_bench/detection_reference.py, which times the Python
// reference (NumPy / PyTorch / torchvision) on the same data;
// tools/bench/detection_bench.sh runs both.
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "benchmark/benchmark.h"
#include "detection/anchors.h"
#include "detection/box.h"
#include "detection/box_ops.h"
#include "detection/metrics.h"
#include "detection/postprocess.h"
#include "detection/retinanet_loss.h"

namespace mammovl::detection {
namespace {

at::Tensor Anchors512() {
  return AnchorGenerator::Create(AnchorConfig())->ForImage(512, 512).value();
}

// N boxes in clusters over a 512 x 512 image, scores in [0, 1).
void NmsInputs(int64_t n, at::Tensor* boxes, at::Tensor* scores) {
  *boxes = at::empty({n, 4});
  *scores = at::empty({n});
  auto b = boxes->accessor<float, 2>();
  auto s = scores->accessor<float, 1>();
  for (int64_t i = 0; i < n; ++i) {
    const double cx = static_cast<double>((i * 37) % 500) + static_cast<double>((i * 13) % 7);
    const double cy = static_cast<double>((i * 91) % 500) + static_cast<double>((i * 5) % 11);
    const double w = 20.0 + static_cast<double>(i % 30);
    const double h = 20.0 + static_cast<double>((i * 7) % 30);
    b[i][0] = static_cast<float>(cx - w / 2);
    b[i][1] = static_cast<float>(cy - h / 2);
    b[i][2] = static_cast<float>(cx + w / 2);
    b[i][3] = static_cast<float>(cy + h / 2);
    s[i] = static_cast<float>(static_cast<double>((i * 2654435761LL) % 1000) / 1000.0);
  }
}

void BM_Anchors512(benchmark::State& state) {
  const auto gen = AnchorGenerator::Create(AnchorConfig()).value();
  for (auto _ : state) benchmark::DoNotOptimize(gen.ForImage(512, 512));
}
BENCHMARK(BM_Anchors512)->Unit(benchmark::kMillisecond);

void BM_Nms(benchmark::State& state) {
  at::Tensor boxes, scores;
  NmsInputs(state.range(0), &boxes, &scores);
  for (auto _ : state) benchmark::DoNotOptimize(Nms(boxes, scores, 0.5));
}
BENCHMARK(BM_Nms)->Arg(5000)->Unit(benchmark::kMillisecond);

// Batch of 4 at 512 x 512, one class, 3 boxes per image.
void BM_RetinaLossForwardBackward(benchmark::State& state) {
  const at::Tensor anchors = Anchors512();
  const int64_t a = anchors.size(0);
  const at::Tensor idx = at::arange(4 * a, at::kLong).reshape({4, a, 1});
  const at::Tensor logits = -4.0 + (idx * 31 % 100).to(at::kFloat) / 25.0;
  const at::Tensor cls0 = at::sigmoid(logits);
  const at::Tensor reg0 =
      ((at::arange(4 * a * 4, at::kLong) * 13 % 100).to(at::kFloat) / 100.0 - 0.5)
          .reshape({4, a, 4});
  std::vector<ImageTargets> targets;
  for (int i = 0; i < 4; ++i) {
    const float o = 20.0f * i;
    targets.push_back({at::tensor({100 + o, 120 + o, 180 + o, 200 + o, 300 - o, 50 + o,
                                   340 - o, 110 + o, 30 + o, 400 - o, 90 + o, 470 - o})
                           .reshape({3, 4}),
                       at::zeros({3}, at::kLong)});
  }
  for (auto _ : state) {
    const at::Tensor cls = cls0.clone().set_requires_grad(true);
    const at::Tensor reg = reg0.clone().set_requires_grad(true);
    auto loss = ComputeRetinaLoss(cls, reg, anchors, targets, RetinaLossConfig(),
                                  AssignerConfig(), BoxCoderConfig());
    loss->total.backward();
    benchmark::DoNotOptimize(cls.grad());
  }
}
BENCHMARK(BM_RetinaLossForwardBackward)->Unit(benchmark::kMillisecond);

void BM_Postprocess512(benchmark::State& state) {
  const at::Tensor anchors = Anchors512();
  const int64_t a = anchors.size(0);
  const at::Tensor idx = at::arange(a, at::kLong).reshape({a, 1});
  const at::Tensor cls = at::sigmoid(-6.0 + (idx * 31 % 100).to(at::kFloat) / 20.0);
  const at::Tensor reg =
      ((at::arange(a * 4, at::kLong) * 13 % 100).to(at::kFloat) / 100.0 - 0.5)
          .reshape({a, 4});
  for (auto _ : state) {
    benchmark::DoNotOptimize(PostprocessDetections(cls, reg, anchors, 512, 512,
                                                   BoxCoderConfig(), PostprocessConfig()));
  }
}
BENCHMARK(BM_Postprocess512)->Unit(benchmark::kMillisecond);

// 1,000 images, 2 lesions and 20 detections each.
void EvalInputs(std::vector<ImageDetections>* dets, std::vector<ImageGroundTruth>* gts) {
  for (int64_t i = 0; i < 1000; ++i) {
    ImageGroundTruth g;
    for (int64_t k = 0; k < 2; ++k) {
      const float x = static_cast<float>((i * 53 + k * 211) % 400);
      const float y = static_cast<float>((i * 97 + k * 131) % 400);
      g.boxes.push_back({x, y, x + 40, y + 50});
      g.labels.push_back(0);
    }
    ImageDetections d;
    for (int64_t j = 0; j < 20; ++j) {
      const Box& t = g.boxes[j % 2];
      const float dx = static_cast<float>((i * 7 + j * 11) % 41) - 20;
      const float dy = static_cast<float>((i * 3 + j * 17) % 41) - 20;
      d.boxes.push_back({t.x1 + dx, t.y1 + dy, t.x2 + dx, t.y2 + dy});
      d.scores.push_back(static_cast<float>(((i * 31 + j * 7919) % 1000) / 1000.0));
      d.labels.push_back(0);
    }
    dets->push_back(d);
    gts->push_back(g);
  }
}

void BM_VocAp(benchmark::State& state) {
  std::vector<ImageDetections> dets;
  std::vector<ImageGroundTruth> gts;
  EvalInputs(&dets, &gts);
  for (auto _ : state) benchmark::DoNotOptimize(VocAveragePrecision(dets, gts, 0, 0.5));
}
BENCHMARK(BM_VocAp)->Unit(benchmark::kMillisecond);

void BM_CocoAp(benchmark::State& state) {
  std::vector<ImageDetections> dets;
  std::vector<ImageGroundTruth> gts;
  EvalInputs(&dets, &gts);
  for (auto _ : state) benchmark::DoNotOptimize(CocoAveragePrecision(dets, gts, 0));
}
BENCHMARK(BM_CocoAp)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mammovl::detection

int main(int argc, char** argv) {
  at::set_num_threads(2);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
