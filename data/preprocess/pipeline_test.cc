#include "data/preprocess/pipeline.h"

#include <opencv2/imgcodecs.hpp>
#include <string>

#include "core/status_matchers.h"
#include "data/dicom/dicom_reader.h"
#include "data/dicom/sha256.h"
#include "data/preprocess/csv.h"
#include "data/preprocess/recipe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;

constexpr char kMammo[] = "data/preprocess/testdata/mammo/";

ImageRecipe Preset(PreprocessConfig::Preset preset) {
  PreprocessConfig config;
  config.set_preset(preset);
  auto recipe = BuildRecipe(config);
  EXPECT_TRUE(recipe.ok()) << recipe.status();
  return *recipe;
}

// The presets reproduce the Python reference (pydicom + NumPy + OpenCV,
// tools/reference_bench/preprocess_reference.py) byte for byte.
TEST(PipelineTest, PresetsEqualPythonReferenceByteForByte) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const CsvTable expected,
      ReadCsvFile("data/preprocess/testdata/expected.csv"));
  ASSERT_EQ(expected.rows.size(), 12u);
  const int file = expected.Column("file"), preset = expected.Column("preset");
  const int sha = expected.Column("sha256"), crop_x = expected.Column("crop_x");
  const int crop_y = expected.Column("crop_y"),
            crop_w = expected.Column("crop_w");
  const int crop_h = expected.Column("crop_h");
  const ImageRecipe mammoclip = Preset(PreprocessConfig::MAMMOCLIP);
  const ImageRecipe mama = Preset(PreprocessConfig::MAMA);
  for (const auto& row : expected.rows) {
    SCOPED_TRACE(row[file] + " " + row[preset]);
    MVL_ASSERT_OK_AND_ASSIGN(const DicomImage image,
                             ReadDicomFile(kMammo + row[file]));
    const bool is_mammoclip = row[preset] == "mammoclip";
    MVL_ASSERT_OK_AND_ASSIGN(
        const ProcessedFrame out,
        ProcessFrame(image, 0, is_mammoclip ? mammoclip : mama));
    EXPECT_EQ(Sha256Hex(out.png), row[sha]);
    if (is_mammoclip) {
      EXPECT_EQ(out.image.size(), cv::Size(912, 1520));
      EXPECT_EQ(std::to_string(out.geometry.crop_x), row[crop_x]);
      EXPECT_EQ(std::to_string(out.geometry.crop_y), row[crop_y]);
      EXPECT_EQ(std::to_string(out.geometry.crop_width), row[crop_w]);
      EXPECT_EQ(std::to_string(out.geometry.crop_height), row[crop_h]);
      EXPECT_EQ(out.geometry.trim, 5);
      EXPECT_DOUBLE_EQ(out.geometry.scale_x, 912.0 / out.geometry.crop_width);
    } else {
      EXPECT_EQ(std::max(out.image.cols, out.image.rows), 1024);
    }
  }
}

TEST(PipelineTest, PngDecodesToTheReturnedImage) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage image,
      ReadDicomFile(std::string(kMammo) + "studyA/img01.dcm"));
  MVL_ASSERT_OK_AND_ASSIGN(
      const ProcessedFrame out,
      ProcessFrame(image, 0, Preset(PreprocessConfig::MAMMOCLIP)));
  const std::vector<uchar> bytes(out.png.begin(), out.png.end());
  const cv::Mat decoded = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(decoded.type(), CV_8UC1);
  EXPECT_EQ(cv::countNonZero(decoded != out.image), 0);
}

TEST(PipelineTest, SixteenBitWindowPadAndFlip) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage image,
      ReadDicomFile(std::string(kMammo) + "studyA/img01.dcm"));
  ImageRecipe recipe;
  recipe.mutable_window();  // the file's window: center 2048, width 2048
  recipe.set_output_bits(16);
  recipe.set_long_side(200);
  recipe.set_pad_to_aspect(1.0);
  recipe.mutable_flip()->set_breast_side(FlipConfig::RIGHT);
  MVL_ASSERT_OK(ValidateRecipe(recipe));
  MVL_ASSERT_OK_AND_ASSIGN(const ProcessedFrame out,
                           ProcessFrame(image, 0, recipe));
  EXPECT_EQ(out.image.type(), CV_16UC1);
  EXPECT_EQ(out.image.size(), cv::Size(200, 200));
  // 128x96 -> 200x150, padded by 25 on each side.
  EXPECT_EQ(out.geometry.resized_width, 150);
  EXPECT_EQ(out.geometry.padding.left, 25);
  EXPECT_EQ(out.geometry.padding.right, 25);
  // The synthetic breast sits on the left: flipped to the right.
  EXPECT_TRUE(out.geometry.flipped);
  EXPECT_EQ(BreastSideFromPixels(out.image), BreastSide::kRight);
  const std::vector<uchar> bytes(out.png.begin(), out.png.end());
  EXPECT_EQ(cv::imdecode(bytes, cv::IMREAD_UNCHANGED).type(), CV_16UC1);
}

TEST(PipelineTest, DicomFlipRuleUsesPatientOrientation) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage image,
      ReadDicomFile(std::string(kMammo) + "studyA/img03.dcm"));  // R, "P"
  ImageRecipe recipe = Preset(PreprocessConfig::MAMA);
  recipe.mutable_flip()->set_breast_side(FlipConfig::LEFT);
  recipe.mutable_flip()->set_rule(FlipConfig::DICOM);
  MVL_ASSERT_OK_AND_ASSIGN(const ProcessedFrame out,
                           ProcessFrame(image, 0, recipe));
  EXPECT_TRUE(out.geometry.flipped);
  EXPECT_EQ(BreastSideFromPixels(out.image), BreastSide::kLeft);
}

TEST(PipelineTest, WindowWithoutVoiFallsBackOrFails) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage image,
      ReadDicomFile(
          "data/dicom/testdata/generated/u16_multiframe3.dcm"));  // no window
  ImageRecipe recipe;
  recipe.mutable_window();
  MVL_ASSERT_OK_AND_ASSIGN(const ProcessedFrame fallback,
                           ProcessFrame(image, 0, recipe));
  ImageRecipe min_max;
  min_max.mutable_min_max();
  MVL_ASSERT_OK_AND_ASSIGN(const ProcessedFrame expected,
                           ProcessFrame(image, 0, min_max));
  EXPECT_EQ(fallback.png, expected.png);
  recipe.mutable_window()->set_fallback_to_min_max(false);
  EXPECT_THAT(ProcessFrame(image, 0, recipe),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(PipelineTest, VoiLutAndMonochrome1) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage lut,
      ReadDicomFile("data/dicom/testdata/generated/u16_voi_lut16.dcm"));
  ImageRecipe recipe;
  recipe.mutable_window();
  MVL_ASSERT_OK_AND_ASSIGN(const ProcessedFrame out,
                           ProcessFrame(lut, 0, recipe));
  // Stored values below the first mapped value (1000) map to LUT entry 0 = 0.
  const cv::Mat& stored = lut.frames[0];
  for (int r = 0; r < stored.rows; ++r) {
    for (int c = 0; c < stored.cols; ++c) {
      if (stored.at<uint16_t>(r, c) < 1000)
        ASSERT_EQ(out.image.at<uint8_t>(r, c), 0);
    }
  }
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage mono1,
      ReadDicomFile(
          "data/dicom/testdata/generated/u16_mono1_linear_exact.dcm"));
  ImageRecipe plain;
  plain.mutable_min_max();
  MVL_ASSERT_OK_AND_ASSIGN(const ProcessedFrame inverted,
                           ProcessFrame(mono1, 0, plain));
  plain.set_invert_monochrome1(false);
  MVL_ASSERT_OK_AND_ASSIGN(const ProcessedFrame raw,
                           ProcessFrame(mono1, 0, plain));
  cv::Mat sum;
  cv::add(inverted.image, raw.image, sum, cv::noArray(), CV_32S);
  double mn, mx;
  cv::minMaxLoc(sum, &mn, &mx);
  EXPECT_GE(mn, 254);  // truncation leaves at most one grey level
  EXPECT_LE(mx, 255);
}

TEST(PipelineTest, ConstantImagesArePolicy) {
  DicomImage image;
  image.header.rows = 20;
  image.header.columns = 20;
  image.header.photometric_interpretation = "MONOCHROME2";
  image.frames.push_back(cv::Mat(20, 20, CV_16U, cv::Scalar(7)));
  ImageRecipe recipe = Preset(PreprocessConfig::MAMA);
  MVL_ASSERT_OK_AND_ASSIGN(const ProcessedFrame out,
                           ProcessFrame(image, 0, recipe));
  EXPECT_EQ(cv::countNonZero(out.image),
            out.image.total());  // 7 * 255 / 7 = 255
  recipe.set_allow_constant_images(false);
  EXPECT_THAT(ProcessFrame(image, 0, recipe),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  recipe = Preset(PreprocessConfig::MAMMOCLIP);
  recipe.set_trim_border(10);
  EXPECT_THAT(ProcessFrame(image, 0, recipe),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mammovl::data
