#include "data/synth/dicom_writer.h"

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gdcmAttribute.h"
#include "gdcmImage.h"
#include "gdcmImageReader.h"
#include "gdcmStringFilter.h"
#include "gdcmTransferSyntax.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

cv::Mat1w TestPixels(int bits) {
  cv::Mat1w m(40, 24);
  const int maxval = (1 << bits) - 1;
  for (int y = 0; y < m.rows; ++y) {
    for (int x = 0; x < m.cols; ++x) m(y, x) = static_cast<uint16_t>((y * 977 + x * 131) % (maxval + 1));
  }
  return m;
}

MammogramDicomInfo TestInfo() {
  MammogramDicomInfo info;
  info.patient_name = "TESTNAME^ONLY";
  info.patient_id = "MRN00000001";
  info.patient_birth_date = "19600101";
  info.patient_age_years = 63;
  info.study_instance_uid = "2.25.1";
  info.series_instance_uid = "2.25.2";
  info.sop_instance_uid = "2.25.3";
  info.study_date = "20230102";
  info.accession_number = "ACC1";
  info.manufacturer = "HOLOGIC, Inc.";
  info.model_name = "Selenia Dimensions";
  info.laterality = "L";
  info.view_position = "MLO";
  info.pixel_spacing_mm = 0.07;
  info.window_center = 2000;
  info.window_width = 3000;
  return info;
}

std::string Tag(gdcm::StringFilter& f, uint16_t g, uint16_t e) {
  std::string s = f.ToString(gdcm::Tag(g, e));
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

struct Case {
  SynthConfig::TransferSyntax syntax;
  gdcm::TransferSyntax::TSType expected;
  int bits;
  bool monochrome1;
};

class DicomWriterTest : public ::testing::TestWithParam<Case> {};

TEST_P(DicomWriterTest, GdcmReadsBackExactPixelsAndTags) {
  const Case c = GetParam();
  const cv::Mat1w pixels = TestPixels(c.bits);
  MammogramDicomInfo info = TestInfo();
  info.transfer_syntax = c.syntax;
  info.bits_stored = c.bits;
  info.monochrome1 = c.monochrome1;
  const std::string path = std::string(::testing::TempDir()) + "/w.dcm";
  MVL_ASSERT_OK(WriteMammogramDicom(path, pixels, info));

  gdcm::ImageReader reader;
  reader.SetFileName(path.c_str());
  ASSERT_TRUE(reader.Read());
  const gdcm::Image& image = reader.GetImage();
  EXPECT_EQ(image.GetTransferSyntax(), gdcm::TransferSyntax(c.expected));
  EXPECT_EQ(image.GetDimension(0), 24u);
  EXPECT_EQ(image.GetDimension(1), 40u);
  EXPECT_EQ(image.GetPixelFormat().GetBitsAllocated(), 16);
  EXPECT_EQ(image.GetPixelFormat().GetBitsStored(), WrittenBitsStored(c.syntax, c.bits));
  EXPECT_EQ(image.GetPhotometricInterpretation(),
            c.monochrome1 ? gdcm::PhotometricInterpretation::MONOCHROME1
                          : gdcm::PhotometricInterpretation::MONOCHROME2);
  std::vector<char> buffer(image.GetBufferLength());
  ASSERT_TRUE(image.GetBuffer(buffer.data()));
  ASSERT_EQ(buffer.size(), pixels.total() * 2);
  EXPECT_EQ(std::memcmp(buffer.data(), pixels.data, buffer.size()), 0);

  gdcm::StringFilter f;
  f.SetFile(reader.GetFile());
  EXPECT_EQ(Tag(f, 0x0008, 0x0060), "MG");
  EXPECT_EQ(Tag(f, 0x0008, 0x0016), "1.2.840.10008.5.1.4.1.1.1.2");
  EXPECT_EQ(Tag(f, 0x0008, 0x0018), "2.25.3");
  EXPECT_EQ(Tag(f, 0x0020, 0x0062), "L");
  EXPECT_EQ(Tag(f, 0x0018, 0x5101), "MLO");
  EXPECT_EQ(Tag(f, 0x0008, 0x0070), "HOLOGIC, Inc.");
  EXPECT_EQ(Tag(f, 0x0010, 0x0010), "TESTNAME^ONLY");
  EXPECT_EQ(Tag(f, 0x0020, 0x0020), "A\\F");
  EXPECT_EQ(Tag(f, 0x0028, 0x1050), "2000");
  EXPECT_EQ(Tag(f, 0x0028, 0x1051), "3000");
  const std::string spacing = Tag(f, 0x0018, 0x1164);
  const size_t sep = spacing.find('\\');
  ASSERT_NE(sep, std::string::npos) << spacing;
  EXPECT_DOUBLE_EQ(std::stod(spacing.substr(0, sep)), 0.07);
  EXPECT_DOUBLE_EQ(std::stod(spacing.substr(sep + 1)), 0.07);
}

INSTANTIATE_TEST_SUITE_P(
    Syntaxes, DicomWriterTest,
    ::testing::Values(
        Case{SynthConfig::EXPLICIT_VR_LITTLE_ENDIAN, gdcm::TransferSyntax::ExplicitVRLittleEndian, 12, false},
        Case{SynthConfig::IMPLICIT_VR_LITTLE_ENDIAN, gdcm::TransferSyntax::ImplicitVRLittleEndian, 14, true},
        Case{SynthConfig::JPEG_LS_LOSSLESS, gdcm::TransferSyntax::JPEGLSLossless, 16, false},
        Case{SynthConfig::JPEG_2000_LOSSLESS, gdcm::TransferSyntax::JPEG2000Lossless, 12, true}));

TEST(DicomWriterStandaloneTest, EncodingIsDeterministic) {
  MammogramDicomInfo info = TestInfo();
  info.transfer_syntax = SynthConfig::JPEG_2000_LOSSLESS;
  MVL_ASSERT_OK_AND_ASSIGN(const std::string a, EncodeMammogramDicom(TestPixels(12), info));
  MVL_ASSERT_OK_AND_ASSIGN(const std::string b, EncodeMammogramDicom(TestPixels(12), info));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.substr(128, 4), "DICM");
}

TEST(DicomWriterStandaloneTest, RejectsBadInputByField) {
  MammogramDicomInfo info = TestInfo();
  EXPECT_THAT(EncodeMammogramDicom(cv::Mat1w(), info),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  info.bits_stored = 20;
  EXPECT_THAT(EncodeMammogramDicom(TestPixels(12), info),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bits_stored")));
  info = TestInfo();
  info.laterality = "B";
  EXPECT_THAT(EncodeMammogramDicom(TestPixels(12), info),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("laterality")));
  info = TestInfo();
  info.sop_instance_uid.clear();
  EXPECT_THAT(EncodeMammogramDicom(TestPixels(12), info),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UID")));
  // A failed write leaves no file behind.
  const std::string path = std::string(::testing::TempDir()) + "/bad.dcm";
  EXPECT_FALSE(WriteMammogramDicom(path, TestPixels(12), info).ok());
  EXPECT_FALSE(core::PathExists(path));
}

TEST(DicomWriterStandaloneTest, PatientOrientationFollowsLateralityAndView) {
  EXPECT_EQ(MammogramPatientOrientation("L", "CC"), "A\\R");
  EXPECT_EQ(MammogramPatientOrientation("R", "CC"), "P\\L");
  EXPECT_EQ(MammogramPatientOrientation("L", "MLO"), "A\\F");
  EXPECT_EQ(MammogramPatientOrientation("R", "MLO"), "P\\F");
}

}  // namespace
}  // namespace mammovl::data
