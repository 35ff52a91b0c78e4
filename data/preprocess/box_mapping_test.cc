#include "data/preprocess/box_mapping.h"

#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "data/preprocess/csv.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

ManifestRow Row() {
  ManifestRow r;
  r.rows = 1000;
  r.columns = 800;
  r.geometry.trim = 5;
  r.geometry.crop_x = 10;
  r.geometry.crop_y = 20;
  r.geometry.crop_width = 400;
  r.geometry.crop_height = 900;
  r.geometry.scale_x = 2.0;
  r.geometry.scale_y = 0.5;
  r.geometry.out_width = 800;
  r.geometry.out_height = 450;
  return r;
}

TEST(MapBoxTest, TrimCropScale) {
  const Box b = MapBox({115, 225, 215, 425}, Row());
  // x: (115 - 5 - 10) * 2 = 200; y: (225 - 5 - 20) * 0.5 = 100.
  EXPECT_DOUBLE_EQ(b.xmin, 200);
  EXPECT_DOUBLE_EQ(b.ymin, 100);
  EXPECT_DOUBLE_EQ(b.xmax, 400);
  EXPECT_DOUBLE_EQ(b.ymax, 200);
}

TEST(MapBoxTest, ClampsEachAxisToItsOwnSizeThenPadsAndFlips) {
  ManifestRow r = Row();
  // Beyond the trimmed width (790) and height (990).
  const Box clamped = MapBox({0, 0, 5000, 5000}, r);
  EXPECT_DOUBLE_EQ(clamped.xmin, (0 - 10) * 2.0);
  EXPECT_DOUBLE_EQ(clamped.xmax, (790 - 10) * 2.0);
  EXPECT_DOUBLE_EQ(clamped.ymax, (990 - 20) * 0.5);
  r.geometry.padding.left = 7;
  r.geometry.padding.top = 3;
  r.geometry.flipped = true;
  const Box b = MapBox({115, 225, 215, 425}, r);
  EXPECT_DOUBLE_EQ(b.xmin, 800 - (400 + 7));
  EXPECT_DOUBLE_EQ(b.xmax, 800 - (200 + 7));
  EXPECT_DOUBLE_EQ(b.ymin, 103);
}

// The annotations fixture carries the Python reference's mapping of its
// boxes (expected_resized_*), from the crops the reference found.
TEST(MapBoxesCsvTest, MatchesReferenceMapping) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR"));
  MVL_ASSERT_OK_AND_ASSIGN(
      const CsvTable expected,
      ReadCsvFile("data/preprocess/testdata/expected.csv"));
  // A manifest with the reference crops of the mammoclip preset.
  std::string manifest = CsvLine(ManifestColumns());
  for (const auto& row : expected.rows) {
    if (row[expected.Column("preset")] != "mammoclip") continue;
    const std::string file = row[expected.Column("file")];
    ManifestRow m;
    m.source_path = file;
    m.output_path = file.substr(0, file.size() - 4) + ".png";
    m.study_id = file.substr(0, file.find('/'));
    m.image_id = file.substr(file.find('/') + 1, 5);
    const bool small = file == "studyA/img03.dcm";
    const bool tall = file == "studyB/img04.dcm";
    m.rows = small ? 120 : tall ? 136 : 128;
    m.columns = small ? 90 : tall ? 100 : 96;
    FrameGeometry& g = m.geometry;
    g.trim = 5;
    ASSERT_TRUE(absl::SimpleAtoi(row[expected.Column("crop_x")], &g.crop_x));
    ASSERT_TRUE(absl::SimpleAtoi(row[expected.Column("crop_y")], &g.crop_y));
    ASSERT_TRUE(
        absl::SimpleAtoi(row[expected.Column("crop_w")], &g.crop_width));
    ASSERT_TRUE(
        absl::SimpleAtoi(row[expected.Column("crop_h")], &g.crop_height));
    g.scale_x = 912.0 / g.crop_width;
    g.scale_y = 1520.0 / g.crop_height;
    g.out_width = 912;
    g.out_height = 1520;
    manifest += CsvLine(ManifestFields(m));
  }
  MVL_ASSERT_OK(core::WriteFileAtomically(dir + "/manifest.csv", manifest));
  BoxMappingConfig config;
  config.set_annotations_csv("data/preprocess/testdata/annotations.csv");
  config.set_output_csv(dir + "/mapped.csv");
  MVL_ASSERT_OK(MapBoxesCsv(config, dir + "/manifest.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable out,
                           ReadCsvFile(dir + "/mapped.csv"));
  ASSERT_EQ(out.rows.size(), 6u);
  int compared = 0;
  for (const auto& row : out.rows) {
    for (const char* axis : {"xmin", "ymin", "xmax", "ymax"}) {
      const std::string got = row[out.Column(std::string("resized_") + axis)];
      const std::string want =
          row[out.Column(std::string("expected_resized_") + axis)];
      if (want.empty()) {
        EXPECT_TRUE(got.empty());
        continue;
      }
      double g = 0, w = 0;
      ASSERT_TRUE(absl::SimpleAtod(got, &g));
      ASSERT_TRUE(absl::SimpleAtod(want, &w));
      EXPECT_NEAR(g, w, 1e-5);  // both sides printed with 6 decimals
      ++compared;
    }
  }
  EXPECT_EQ(compared, 16);
  // Unchanged input columns, including the quoted list column.
  EXPECT_EQ(out.rows[0][out.Column("finding_categories")],
            "['Mass', 'Asymmetry']");
}

}  // namespace
}  // namespace mammovl::data
