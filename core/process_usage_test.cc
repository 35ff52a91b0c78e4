#include "core/process_usage.h"

#include <cstring>
#include <memory>

#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

TEST(ProcessUsageTest, CpuSecondsGrowWithWork) {
  const double before = ProcessCpuSeconds();
  volatile double sink = 0;
  while (ProcessCpuSeconds() - before < 0.05) {
    for (int i = 0; i < 100000; ++i) sink = sink + i * 1e-9;
  }
  EXPECT_GE(ProcessCpuSeconds() - before, 0.05);
}

TEST(ProcessUsageTest, PeakRssCoversMemoryTouched) {
  constexpr size_t kBytes = 64 << 20;
  std::unique_ptr<char[]> block(new char[kBytes]);
  std::memset(block.get(), 1, kBytes);
  EXPECT_GE(PeakRssMiB(), 64.0);
  EXPECT_EQ(block[kBytes - 1], 1);
}

}  // namespace
}  // namespace mammovl::core
