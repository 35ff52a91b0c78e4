// Stage costs of the Mammo-CLIP preset on a full-size 3328x2560 16-bit
// mammogram (synthetic, built in memory): read/decode, intensity, crop,
// resize, PNG encoding, SHA-256. tools/bench/preprocess_bench.sh compares
// whole runs with the Python reference.
#include <cmath>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "data/dicom/dicom_reader.h"
#include "data/dicom/sha256.h"
#include "data/image/breast_crop.h"
#include "data/image/geometry.h"
#include "data/image/intensity.h"
#include "data/preprocess/pipeline.h"
#include "data/preprocess/recipe.h"

namespace mammovl::data {
namespace {

constexpr int kRows = 3328;
constexpr int kCols = 2560;

cv::Mat Mammogram() {
  cv::Mat m(kRows, kCols, CV_16U);
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0, 12);
  for (int r = 0; r < kRows; ++r) {
    uint16_t* p = m.ptr<uint16_t>(r);
    for (int c = 0; c < kCols; ++c) {
      const double x = c / (kCols * 0.62),
                   y = (r - kRows * 0.5) / (kRows * 0.44);
      const double d = x * x + y * y;
      const double v = d < 1 ? 1800 + 900 * (1 - d) +
                                   250 * std::sin(c / 41.0) * std::cos(r / 57.0)
                             : 60;
      p[c] = static_cast<uint16_t>(std::clamp(v + noise(rng), 0.0, 4095.0));
    }
  }
  return m;
}

void Append16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>(v >> 8));
}
void Append32(std::string& s, uint32_t v) {
  Append16(s, v & 0xFFFF);
  Append16(s, v >> 16);
}
void Element(std::string& s, uint16_t g, uint16_t e, const char* vr,
             const std::string& value) {
  Append16(s, g);
  Append16(s, e);
  s.append(vr, 2);
  const bool long_vr = std::string(vr) == "OW" || std::string(vr) == "OB";
  if (long_vr) {
    Append16(s, 0);
    Append32(s, static_cast<uint32_t>(value.size()));
  } else {
    Append16(s, static_cast<uint16_t>(value.size()));
  }
  s += value;
}
std::string Us(uint16_t v) {
  std::string s;
  Append16(s, v);
  return s;
}

// A minimal explicit VR little endian mammogram file.
const std::string& DicomBytes() {
  static const std::string* bytes = [] {
    auto* s = new std::string(128, '\0');
    *s += "DICM";
    Element(*s, 0x0002, 0x0010, "UI", std::string("1.2.840.10008.1.2.1\0", 20));
    Element(*s, 0x0008, 0x0060, "CS", "MG");
    Element(*s, 0x0028, 0x0002, "US", Us(1));
    Element(*s, 0x0028, 0x0004, "CS", "MONOCHROME2 ");
    Element(*s, 0x0028, 0x0010, "US", Us(kRows));
    Element(*s, 0x0028, 0x0011, "US", Us(kCols));
    Element(*s, 0x0028, 0x0100, "US", Us(16));
    Element(*s, 0x0028, 0x0101, "US", Us(12));
    Element(*s, 0x0028, 0x0102, "US", Us(11));
    Element(*s, 0x0028, 0x0103, "US", Us(0));
    const cv::Mat m = Mammogram();
    Element(
        *s, 0x7FE0, 0x0010, "OW",
        std::string(reinterpret_cast<const char*>(m.ptr(0)), m.total() * 2));
    return s;
  }();
  return *bytes;
}

std::string DicomFile() {
  const std::string path = "/tmp/mammovl_pipeline_benchmark.dcm";
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(DicomBytes().data(), 1, DicomBytes().size(), f);
  std::fclose(f);
  return path;
}

// From the page cache: read, parse, validate, and frame views into the
// file buffer.
void BM_ReadNative(benchmark::State& state) {
  DicomReader reader;
  const std::string path = DicomFile();
  for (auto _ : state) benchmark::DoNotOptimize(reader.ReadFile(path));
}
BENCHMARK(BM_ReadNative)->Unit(benchmark::kMillisecond);

void BM_MinMaxNormalize(benchmark::State& state) {
  const cv::Mat m = Mammogram();
  const cv::Mat view = m(cv::Rect(5, 5, kCols - 10, kRows - 10));
  for (auto _ : state) benchmark::DoNotOptimize(MinMaxNormalize(view, 8));
}
BENCHMARK(BM_MinMaxNormalize)->Unit(benchmark::kMillisecond);

void BM_FindBreastCrop(benchmark::State& state) {
  const cv::Mat img8 = MinMaxNormalize(Mammogram(), 8);
  for (auto _ : state) benchmark::DoNotOptimize(FindBreastCrop(img8));
}
BENCHMARK(BM_FindBreastCrop)->Unit(benchmark::kMillisecond);

void BM_ResizeArea(benchmark::State& state) {
  const cv::Mat img8 = MinMaxNormalize(Mammogram(), 8);
  const cv::Mat crop = img8(cv::Rect(0, 200, 1600, 2900));
  for (auto _ : state)
    benchmark::DoNotOptimize(ResizeArea(crop, cv::Size(912, 1520)));
}
BENCHMARK(BM_ResizeArea)->Unit(benchmark::kMillisecond);

void BM_EncodePng(benchmark::State& state) {
  const cv::Mat img8 = MinMaxNormalize(Mammogram(), 8);
  const cv::Mat out =
      ResizeArea(img8(cv::Rect(0, 200, 1600, 2900)), cv::Size(912, 1520));
  std::vector<uchar> png;
  for (auto _ : state) cv::imencode(".png", out, png);
  state.counters["bytes"] = static_cast<double>(png.size());
}
BENCHMARK(BM_EncodePng)->Unit(benchmark::kMillisecond);

void BM_Sha256(benchmark::State& state) {
  const std::string data(1 << 20, 'x');
  for (auto _ : state) benchmark::DoNotOptimize(Sha256Hex(data));
  state.SetBytesProcessed(state.iterations() * data.size());
}
BENCHMARK(BM_Sha256)->Unit(benchmark::kMillisecond);

void BM_MammoClipPreset(benchmark::State& state) {
  DicomReader reader;
  PreprocessConfig config;
  const ImageRecipe recipe = *BuildRecipe(config);
  const std::string path = DicomFile();
  for (auto _ : state) {
    auto image = reader.ReadFile(path);
    benchmark::DoNotOptimize(ProcessFrame(*image, 0, recipe));
  }
}
BENCHMARK(BM_MammoClipPreset)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mammovl::data
