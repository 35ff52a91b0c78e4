// Every checked-in detector config parses and validates, so configs cannot
// drift from the schema.
#include <filesystem>
#include <string>
#include <vector>

#include "core/proto_config.h"
#include "core/status_matchers.h"
#include "detection/detector_config.pb.h"
#include "detection/detector_runner.h"
#include "gtest/gtest.h"

namespace mammovl::detection {
namespace {

TEST(DetectorConfigsTest, AllParseAndValidate) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("configs/detector")) {
    if (entry.path().extension() != ".pbtxt") continue;
    SCOPED_TRACE(entry.path().string());
    DetectorPipelineConfig config;
    MVL_ASSERT_OK(core::LoadConfig(entry.path().string(), {}, &config));
    MVL_EXPECT_OK(ValidateDetectorPipelineConfig(config));
    ++count;
  }
  EXPECT_GE(count, 6);
}

TEST(DetectorConfigsTest, DataFractionOverride) {
  DetectorPipelineConfig config;
  MVL_ASSERT_OK(core::LoadConfig("configs/detector/vindr_mass_b5_finetune.pbtxt",
                                 {"train_data.data_pct: 0.1"}, &config));
  EXPECT_DOUBLE_EQ(config.train_data().data_pct(), 0.1);
  EXPECT_EQ(config.model().classes(0), "Mass");
  EXPECT_EQ(config.model().encoder().efficientnet().tap_blocks_size(), 2);
}

}  // namespace
}  // namespace mammovl::detection
