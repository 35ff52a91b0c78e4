#include "data/dicom/dicom_reader.h"

#include <malloc.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "data/dicom/pseudonym.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Generated(const std::string& name) {
  return "data/dicom/testdata/generated/" + name;
}
std::string Bad(const std::string& name) {
  return "data/dicom/testdata/bad/" + name;
}

TEST(DicomReaderTest, ReadsMammographyMetadata) {
  ReadOptions options;
  options.parse.patient_id_salt = "test-salt";
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage image,
      ReadDicomFile(Generated("u16_bs12_window_linear.dcm"), options));
  const DicomHeader& h = image.header;
  // Written by make_dicom_fixtures.py with index 1.
  EXPECT_EQ(h.rows, 40);
  EXPECT_EQ(h.columns, 32);
  EXPECT_EQ(h.bits_allocated, 16);
  EXPECT_EQ(h.bits_stored, 12);
  EXPECT_EQ(h.modality, "MG");
  EXPECT_EQ(h.laterality(), "L");
  EXPECT_EQ(h.view_position, "CC");
  EXPECT_EQ(h.sop_instance_uid, "1.2.826.0.1.3680043.10.1157.1001");
  EXPECT_EQ(h.study_instance_uid, "1.2.826.0.1.3680043.10.1157.2001");
  EXPECT_EQ(h.series_instance_uid, "1.2.826.0.1.3680043.10.1157.3001");
  EXPECT_EQ(h.manufacturer, "MammoVL fixtures");
  ASSERT_TRUE(h.pixel_spacing.has_value());
  EXPECT_DOUBLE_EQ((*h.pixel_spacing)[0], 0.1);
  EXPECT_EQ(h.window_centers, (std::vector<double>{2048, 1000}));
  EXPECT_EQ(h.window_widths, (std::vector<double>{3000, 500}));
  EXPECT_EQ(h.transfer_syntax, TransferSyntax::kExplicitVrLittleEndian);
  EXPECT_TRUE(h.has_preamble);
  // The patient id is only kept as its salted pseudonym.
  EXPECT_EQ(h.patient_pseudonym, Pseudonymize("test-salt", "FIXTURE-001"));
  ASSERT_EQ(image.frames.size(), 1u);
  EXPECT_EQ(image.frames[0].type(), CV_16UC1);
  EXPECT_FALSE(image.is_signed);
  EXPECT_EQ(image.bits_stored, 12);
}

TEST(DicomReaderTest, FirstFrameByDefaultAllFramesOnRequest) {
  MVL_ASSERT_OK_AND_ASSIGN(const DicomImage first,
                           ReadDicomFile(Generated("u16_multiframe3.dcm")));
  EXPECT_EQ(first.header.number_of_frames, 3);
  ASSERT_EQ(first.frames.size(), 1u);
  ReadOptions all;
  all.all_frames = true;
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage every,
      ReadDicomFile(Generated("u16_multiframe3.dcm"), all));
  ASSERT_EQ(every.frames.size(), 3u);
  EXPECT_EQ(every.frame_indices, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(cv::countNonZero(every.frames[0] != first.frames[0]), 0);
  EXPECT_GT(cv::countNonZero(every.frames[1] != every.frames[0]), 0);
  // Compressed multi-frame: same through RLE, JPEG 2000 and JPEG-LS.
  for (const char* name :
       {"u16_bs12_2frames_rle.dcm", "u16_bs12_2frames_j2k_lossless.dcm",
        "u16_bs12_2frames_jpegls_lossless.dcm"}) {
    MVL_ASSERT_OK_AND_ASSIGN(const DicomImage c,
                             ReadDicomFile(Generated(name), all));
    ASSERT_EQ(c.frames.size(), 2u) << name;
  }
}

TEST(DicomReaderTest, AllLosslessSyntaxesDecodeToTheSamePixels) {
  MVL_ASSERT_OK_AND_ASSIGN(const DicomImage reference,
                           ReadDicomFile(Generated("u16_bs12_rle.dcm")));
  for (const char* name :
       {"u16_bs12_j2k_lossless.dcm", "u16_bs12_jpegls_lossless.dcm",
        "u16_bs12_jpeg_lossless_sv1.dcm", "u16_bs12_jpeg_lossless.dcm"}) {
    MVL_ASSERT_OK_AND_ASSIGN(const DicomImage image,
                             ReadDicomFile(Generated(name)));
    EXPECT_EQ(cv::countNonZero(image.frames[0] != reference.frames[0]), 0)
        << name;
  }
}

TEST(DicomReaderTest, JpegTwoThousandThreadsGiveTheSamePixels) {
  ReadOptions threaded;
  threaded.jpeg2000_threads = 2;
  MVL_ASSERT_OK_AND_ASSIGN(const DicomImage a,
                           ReadDicomFile(Generated("u16_bs12_j2k_lossy.dcm")));
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage b,
      ReadDicomFile(Generated("u16_bs12_j2k_lossy.dcm"), threaded));
  EXPECT_EQ(cv::countNonZero(a.frames[0] != b.frames[0]), 0);
}

TEST(DicomReaderTest, CleansBitsAboveBitsStoredByDefault) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage clean,
      ReadDicomFile(Generated("u16_bs12_dirty_high_bits.dcm")));
  double mn, mx;
  cv::minMaxLoc(clean.frames[0], &mn, &mx);
  EXPECT_LE(mx, 4095);
  ReadOptions raw;
  raw.clean_unused_bits = false;
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage dirty,
      ReadDicomFile(Generated("u16_bs12_dirty_high_bits.dcm"), raw));
  cv::minMaxLoc(dirty.frames[0], &mn, &mx);
  EXPECT_GT(mx, 4095);
  cv::Mat masked;
  cv::bitwise_and(dirty.frames[0], cv::Scalar(0x0FFF), masked);
  EXPECT_EQ(cv::countNonZero(masked != clean.frames[0]), 0);
}

TEST(DicomReaderTest, SignedTwelveBitIsSignExtended) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage image,
      ReadDicomFile(Generated("s16_bs12_implicit_sigmoid_rescale.dcm")));
  EXPECT_EQ(image.frames[0].type(), CV_16SC1);
  double mn, mx;
  cv::minMaxLoc(image.frames[0], &mn, &mx);
  EXPECT_EQ(mn, -2048);
  EXPECT_EQ(mx, 2047);
  EXPECT_TRUE(image.header.has_rescale);
  EXPECT_DOUBLE_EQ(image.header.rescale_slope, 0.5);
  EXPECT_DOUBLE_EQ(image.header.rescale_intercept, -100);
  EXPECT_EQ(image.header.voi_lut_function, "SIGMOID");
}

TEST(DicomReaderTest, ReadBytesEqualsReadFile) {
  const std::string path = Generated("u16_deflated.dcm");
  MVL_ASSERT_OK_AND_ASSIGN(const std::string bytes,
                           core::ReadFileToString(path));
  DicomReader reader;
  MVL_ASSERT_OK_AND_ASSIGN(const DicomImage a, reader.ReadBytes(bytes));
  MVL_ASSERT_OK_AND_ASSIGN(const DicomImage b, reader.ReadFile(path));
  EXPECT_EQ(a.header.transfer_syntax,
            TransferSyntax::kDeflatedExplicitVrLittleEndian);
  EXPECT_EQ(cv::countNonZero(a.frames[0] != b.frames[0]), 0);
  EXPECT_GE(b.timings.io_s, 0);
  EXPECT_GT(b.timings.parse_s + b.timings.decode_s, 0);
}

TEST(DicomReaderTest, FramesStayValidWhileTheReaderMovesOn) {
  DicomReader reader;
  MVL_ASSERT_OK_AND_ASSIGN(const DicomImage a,
                           reader.ReadFile(Generated("u16_multiframe3.dcm")));
  const cv::Mat copy = a.frames[0].clone();
  EXPECT_NE(a.storage, nullptr);  // a view into the file buffer
  // Reading other files must not overwrite the buffer `a` points into.
  MVL_ASSERT_OK_AND_ASSIGN(const DicomImage b,
                           reader.ReadFile(Generated("s8.dcm")));
  MVL_ASSERT_OK_AND_ASSIGN(const DicomImage c,
                           reader.ReadFile(Generated("u16_big_endian.dcm")));
  EXPECT_EQ(cv::countNonZero(a.frames[0] != copy), 0);
  EXPECT_EQ(c.storage, nullptr);  // byte-swapped: copied
  // Dirty high bits force a cleaned copy.
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage d,
      reader.ReadFile(Generated("u16_bs12_dirty_high_bits.dcm")));
  EXPECT_EQ(d.storage, nullptr);
}

TEST(DicomReaderTest, ReadHeaderSkipsPixels) {
  DicomReader reader;
  MVL_ASSERT_OK_AND_ASSIGN(const DicomHeader h,
                           reader.ReadHeader(Generated("u16_bs12_rle.dcm")));
  EXPECT_EQ(h.transfer_syntax, TransferSyntax::kRle);
  EXPECT_TRUE(h.pixel_data.encapsulated);
  EXPECT_EQ(h.pixel_data.fragments.size(), 1u);
  // A header read does not validate pixels: a file with truncated pixel
  // data still yields its header.
  MVL_EXPECT_OK(reader.ReadHeader(Bad("truncated_pixels.dcm")));
}

struct BadCase {
  const char* file;
  absl::StatusCode code;
  const char* message;
};

// Each malformed input ends in a precise error, never a crash.
TEST(DicomReaderTest, RefusesMalformedFiles) {
  const BadCase cases[] = {
      {"empty.dcm", absl::StatusCode::kInvalidArgument, "empty"},
      {"not_dicom.dcm", absl::StatusCode::kInvalidArgument, "not a DICOM file"},
      {"preamble_only.dcm", absl::StatusCode::kDataLoss, "no dataset"},
      {"header_cut.dcm", absl::StatusCode::kDataLoss,
       "meta group is truncated"},
      {"truncated_pixels.dcm", absl::StatusCode::kDataLoss,
       "Pixel Data is truncated"},
      {"missing_pixel_data.dcm", absl::StatusCode::kFailedPrecondition,
       "no Pixel Data"},
      {"rows_mismatch.dcm", absl::StatusCode::kDataLoss, "truncated"},
      {"unsupported_syntax.dcm", absl::StatusCode::kUnimplemented,
       "transfer syntax"},
      {"absurd_length.dcm", absl::StatusCode::kDataLoss,
       "declares 2147483632 bytes"},
      {"bits_allocated_13.dcm", absl::StatusCode::kUnimplemented,
       "Bits Allocated 13"},
      {"samples_per_pixel_0.dcm", absl::StatusCode::kDataLoss,
       "Samples per Pixel is 0"},
      {"absurd_frames.dcm", absl::StatusCode::kDataLoss, "1000000 frame"},
      {"j2k_size_mismatch.dcm", absl::StatusCode::kDataLoss,
       "JPEG 2000 codestream is 32x40"},
      {"j2k_truncated_codestream.dcm", absl::StatusCode::kDataLoss,
       "end-of-image marker"},
      {"jpegls_truncated.dcm", absl::StatusCode::kDataLoss,
       "end-of-image marker"},
      {"rle_bad_offsets.dcm", absl::StatusCode::kDataLoss, "RLE segment"},
      {"fragment_length_overflow.dcm", absl::StatusCode::kDataLoss, "fragment"},
      {"deep_nesting.dcm", absl::StatusCode::kDataLoss, "nested deeper"},
      {"rgb.dcm", absl::StatusCode::kUnimplemented, "RGB"},
  };
  for (const BadCase& c : cases) {
    EXPECT_THAT(ReadDicomFile(Bad(c.file)),
                StatusIs(c.code, HasSubstr(c.message)))
        << c.file;
  }
  EXPECT_THAT(ReadDicomFile("data/dicom/testdata/no_such_file.dcm"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ReadDicomFile("data/dicom/testdata"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DicomReaderTest, EnforcesSizeLimits) {
  ReadOptions small;
  small.max_file_bytes = 1000;
  EXPECT_THAT(ReadDicomFile(Generated("u16_bs12_window_linear.dcm"), small),
              StatusIs(absl::StatusCode::kResourceExhausted));
  ReadOptions tiny_decode;
  tiny_decode.max_decoded_bytes = 100;
  EXPECT_THAT(ReadDicomFile(Generated("u16_bs12_rle.dcm"), tiny_decode),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

// Reads `bytes` (which must fail) 10 times to warm up, then `reads` times,
// and returns how far the heap in use grew meanwhile.
int64_t HeapGrowthOverFailedReads(DicomReader& reader, const std::string& bytes,
                                  int reads) {
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(reader.ReadBytes(bytes).ok());
  const int64_t before = static_cast<int64_t>(mallinfo2().uordblks);
  for (int i = 0; i < reads; ++i) EXPECT_FALSE(reader.ReadBytes(bytes).ok());
  return static_cast<int64_t>(mallinfo2().uordblks) - before;
}

absl::StatusOr<std::string> Regression(absl::string_view name) {
  return core::ReadFileToString(
      absl::StrCat("data/dicom/testdata/regressions/", name));
}

// Found by //data/dicom:dicom_reader_fuzzer: GDCM's JPEGLSCodec::Decode
// leaked the frame's compressed bytes whenever CharLS refused the stream.
TEST(DicomReaderTest, CorruptJpegLsStreamLeaksNothing) {
  auto bytes = Regression("jpegls_corrupt_stream_leak.dcm");
  MVL_ASSERT_OK(bytes);
  ReadOptions options;
  options.all_frames = true;  // the corrupt stream is the second frame
  DicomReader reader(options);
  EXPECT_THAT(reader.ReadBytes(*bytes), StatusIs(absl::StatusCode::kDataLoss));
  // The leak was 1,772 bytes per read (354 KB here).
  EXPECT_LT(HeapGrowthOverFailedReads(reader, *bytes, 200), 32 * 1024);
}

// Found by both DICOM fuzz targets: a marker inside a baseline scan (a DQT
// in one file, a COM and a whole second image in the other) made libjpeg end
// the scan early and zero the rest (GDCM called it a success), and GDCM's
// 8-bit JPEG codec then never destroyed its decompressor (about 24 KB per
// read). Such frames are refused before GDCM.
TEST(DicomReaderTest, JpegMarkerInsideScanIsRefusedAndLeaksNothing) {
  for (const char* name :
       {"jpeg_dqt_inside_scan_leak.dcm", "jpeg_soi_inside_scan_leak.dcm"}) {
    SCOPED_TRACE(name);
    auto bytes = Regression(name);
    MVL_ASSERT_OK(bytes);
    DicomReader reader;
    EXPECT_THAT(reader.ReadBytes(*bytes),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("JPEG scan holds a marker FF")));
    // The leak was 23,944 bytes per read (4.8 MB here).
    EXPECT_LT(HeapGrowthOverFailedReads(reader, *bytes, 200), 32 * 1024);
  }
}

// Found by //data/dicom:dicom_reader_fuzzer: GDCM's JPEG 2000 codec
// returned without destroying OpenJPEG's image when a codestream failed to
// decode (here a tile-part length of 5 bytes), 112 bytes per read.
TEST(DicomReaderTest, CorruptJpeg2000FrameIsRefusedAndLeaksNothing) {
  auto bytes = Regression("j2k_bad_tile_length_leak.dcm");
  MVL_ASSERT_OK(bytes);
  DicomReader reader;
  EXPECT_THAT(reader.ReadBytes(*bytes),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("OpenJPEG could not decode")));
  // The leak was 112 bytes per read (224 KB here).
  EXPECT_LT(HeapGrowthOverFailedReads(reader, *bytes, 2000), 32 * 1024);
}

// Found by //data/preprocess:dicom_preprocess_fuzzer: 183 bytes between two
// JPEG markers made libjpeg warn while reading the header, and GDCM's JPEG
// codec answers any such warning with a failed assertion (abort).
TEST(DicomReaderTest, JpegHeaderWarningsAreRefusedBeforeGdcm) {
  auto bytes = Regression("jpeg_bytes_between_markers_abort.dcm");
  MVL_ASSERT_OK(bytes);
  ReadOptions options;
  options.all_frames = true;
  EXPECT_THAT(DicomReader(options).ReadBytes(*bytes),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("marker stream is corrupt")));
}

// Found by //data/dicom:dicom_reader_fuzzer: a DHT marker code replaced by
// a zero (FF 00 where a marker belongs). libjpeg skips the stuffed zero and
// the segment behind it as "extraneous bytes", warns, and GDCM's JPEG codec
// answers the warning with a failed assertion (abort).
TEST(DicomReaderTest, StuffedZeroWhereAMarkerBelongsIsRefusedBeforeGdcm) {
  auto bytes = Regression("jpeg_stuffed_zero_between_markers_abort.dcm");
  MVL_ASSERT_OK(bytes);
  EXPECT_THAT(DicomReader().ReadBytes(*bytes),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("marker stream is corrupt at byte 84")));
}

// Found by //data/preprocess:dicom_preprocess_fuzzer: GDCM's codecs assert
// that Bits Stored equals Bits Allocated when 8 bits are allocated, so an
// 8-bit JPEG frame with Bits Stored 7 aborted the process. It now decodes,
// with the bit above Bits Stored cleared as for any JPEG frame.
TEST(DicomReaderTest, EightBitJpegWithFewerBitsStoredDecodes) {
  auto bytes = Regression("jpeg_u8_bits_stored_7_abort.dcm");
  MVL_ASSERT_OK(bytes);
  MVL_ASSERT_OK_AND_ASSIGN(const DicomImage image,
                           DicomReader().ReadBytes(*bytes));
  ASSERT_EQ(image.frames.size(), 1u);
  EXPECT_EQ(image.bits_stored, 7);
  const cv::Mat& m = image.frames[0];
  ASSERT_EQ(m.type(), CV_8UC1);
  double max_value = 0;
  cv::minMaxLoc(m, nullptr, &max_value);
  EXPECT_LE(max_value, 127);
  // The same frame read with Bits Stored 8 keeps the top bit; clearing it
  // is the only difference.
  std::string eight = *bytes;
  // (0028,0101) US, length 2, value 7 (explicit VR little endian).
  const std::string bits_stored_7("\x28\x00\x01\x01US\x02\x00\x07\x00", 10);
  const size_t at = eight.find(bits_stored_7);
  ASSERT_NE(at, std::string::npos);
  eight[at + 8] = 8;
  MVL_ASSERT_OK_AND_ASSIGN(const DicomImage full,
                           DicomReader().ReadBytes(eight));
  cv::Mat low = full.frames[0] & 0x7F;
  EXPECT_EQ(cv::norm(low, m, cv::NORM_INF), 0);
  EXPECT_GT(cv::norm(full.frames[0], m, cv::NORM_INF), 0)
      << "the fixture should have pixels with the top bit set";
}

TEST(DicomReaderTest, ErrorsNeverCarryPatientData) {
  // Files written with PatientName "Fixture^Patient" / PatientID "FIXTURE-nnn".
  for (const char* name :
       {"truncated_pixels.dcm", "rows_mismatch.dcm", "absurd_length.dcm",
        "j2k_size_mismatch.dcm", "samples_per_pixel_0.dcm"}) {
    const auto result = ReadDicomFile(Bad(name));
    ASSERT_FALSE(result.ok());
    EXPECT_THAT(std::string(result.status().message()),
                Not(testing::AnyOf(HasSubstr("Fixture"), HasSubstr("FIXTURE"))))
        << name;
  }
}

TEST(ApplyModalityLutTest, RescaleAndLut) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const DicomImage image,
      ReadDicomFile(Generated("s16_bs12_implicit_sigmoid_rescale.dcm")));
  const cv::Mat values = ApplyModalityLut(image.frames[0], image.header);
  ASSERT_EQ(values.type(), CV_64FC1);
  EXPECT_DOUBLE_EQ(values.at<double>(0, 0),
                   image.frames[0].at<int16_t>(0, 0) * 0.5 - 100);
  MVL_ASSERT_OK_AND_ASSIGN(const DicomImage lut,
                           ReadDicomFile(Generated("u16_modality_lut.dcm")));
  ASSERT_TRUE(lut.header.modality_lut.has_value());
  EXPECT_EQ(lut.header.modality_lut->num_entries, 1024);
  const cv::Mat mapped = ApplyModalityLut(lut.frames[0], lut.header);
  const int v = lut.frames[0].at<uint16_t>(3, 4);
  EXPECT_EQ(mapped.at<double>(3, 4), lut.header.modality_lut->data[v]);
}

}  // namespace
}  // namespace mammovl::data
