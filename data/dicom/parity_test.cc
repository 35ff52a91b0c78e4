// Pixel parity with pydicom: every file of Debian's python3-pydicom test
// data and every generated fixture is decoded and compared with the goldens
// that tools/fixtures/make_dicom_fixtures.py wrote from pydicom.
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/npy.h"
#include "core/proto_config.h"
#include "core/status_matchers.h"
#include "data/dicom/dicom_reader.h"
#include "data/dicom/parity_golden.pb.h"
#include "data/dicom/sha256.h"
#include "data/dicom/voi_lut.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

constexpr char kPydicomDir[] =
    "/usr/lib/python3/dist-packages/pydicom/data/test_files/";
constexpr char kTestdata[] = "data/dicom/testdata/";

std::string HashInt64(const cv::Mat& m) {
  cv::Mat wide;
  m.convertTo(wide, CV_64F);
  std::vector<int64_t> values;
  values.reserve(m.total());
  for (int r = 0; r < wide.rows; ++r) {
    for (int c = 0; c < wide.cols; ++c)
      values.push_back(static_cast<int64_t>(wide.at<double>(r, c)));
  }
  return Sha256Hex(
      absl::string_view(reinterpret_cast<const char*>(values.data()),
                        values.size() * sizeof(int64_t)));
}

std::string HashFloat64(const cv::Mat& m) {
  const cv::Mat c = m.isContinuous() ? m : m.clone();
  return Sha256Hex(absl::string_view(reinterpret_cast<const char*>(c.ptr(0)),
                                     c.total() * 8));
}

std::string CodeName(absl::StatusCode code) {
  return absl::StatusCodeToString(code);
}

class ParityTest : public testing::Test {
 protected:
  void SetUp() override {
    MVL_ASSERT_OK_AND_ASSIGN(
        const std::string text,
        core::ReadFileToString(absl::StrCat(kTestdata, "parity.textproto")));
    MVL_ASSERT_OK(core::ParseTextProto(text, "parity.textproto", &golden_));
  }
  static std::string PathOf(const FileGolden& f) {
    return (f.root() == "pydicom" ? kPydicomDir : kTestdata) + f.path();
  }
  ParityGolden golden_;
};

TEST_F(ParityTest, EveryFileMatchesPydicom) {
  ReadOptions clean_options;
  clean_options.all_frames = true;
  ReadOptions raw_options = clean_options;
  raw_options.clean_unused_bits = false;
  DicomReader clean_reader(clean_options);
  DicomReader raw_reader(raw_options);

  std::map<std::string, int> counts;
  int pydicom_compared = 0;
  int windowed_compared = 0;
  double worst_window_diff = 0;
  for (const FileGolden& f : golden_.file()) {
    SCOPED_TRACE(f.root() + ":" + f.path());
    const std::string path = PathOf(f);
    auto clean = clean_reader.ReadFile(path);
    switch (f.expect()) {
      case FileGolden::REJECT:
        ++counts["rejected"];
        ASSERT_FALSE(clean.ok());
        EXPECT_EQ(CodeName(clean.status().code()), f.reject_code())
            << clean.status();
        continue;
      case FileGolden::SKIP:
        ++counts[f.skip_kind() == FileGolden::COLOUR ? "skipped colour"
                                                     : "skipped other"];
        EXPECT_FALSE(clean.ok()) << f.reason();
        if (f.skip_kind() == FileGolden::COLOUR) {
          EXPECT_EQ(clean.status().code(), absl::StatusCode::kUnimplemented)
              << clean.status();
        }
        continue;
      case FileGolden::DECODE:
        break;
      default:
        FAIL() << "bad golden";
    }
    ++counts["decoded"];
    if (f.root() == "pydicom") ++pydicom_compared;
    ASSERT_TRUE(clean.ok()) << clean.status();
    auto raw = raw_reader.ReadFile(path);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_EQ(static_cast<int>(clean->frames.size()), f.frames());
    EXPECT_EQ(clean->is_signed, f.is_signed());
    for (const FrameGolden& g : f.frame()) {
      SCOPED_TRACE(absl::StrCat("frame ", g.index()));
      const cv::Mat& stored = raw->frames[g.index()];
      ASSERT_EQ(stored.rows, f.rows());
      ASSERT_EQ(stored.cols, f.columns());
      // Exact equality of the stored values with pydicom's...
      EXPECT_EQ(HashInt64(stored), g.stored_sha256());
      double mn, mx;
      cv::minMaxLoc(stored, &mn, &mx);
      EXPECT_EQ(static_cast<int64_t>(mn), g.stored_min());
      EXPECT_EQ(static_cast<int64_t>(mx), g.stored_max());
      // ...and, by default, after cleaning bits above Bits Stored.
      const std::string expected_clean =
          g.has_cleaned_sha256() ? g.cleaned_sha256() : g.stored_sha256();
      EXPECT_EQ(HashInt64(clean->frames[g.index()]), expected_clean);
      // Modality LUT / rescale, exactly (float64 bytes).
      const cv::Mat modality = ApplyModalityLut(stored, raw->header);
      EXPECT_EQ(HashFloat64(modality), g.modality_sha256());
      if (!g.has_windowed_npy()) continue;
      // VOI LUT / windowing within one grey level.
      ++windowed_compared;
      MVL_ASSERT_OK_AND_ASSIGN(
          const cv::Mat windowed,
          ApplyVoiLut(modality, raw->header, raw->is_signed));
      MVL_ASSERT_OK_AND_ASSIGN(const core::NpyArray npy,
                               core::ReadNpy(absl::StrCat(
                                   kTestdata, "windowed/", g.windowed_npy())));
      MVL_ASSERT_OK_AND_ASSIGN(const std::vector<double> samples,
                               core::NpyValues<double>(npy));
      const cv::Mat flat = windowed.reshape(1, 1);
      ASSERT_GT(samples.size(), 0u);
      for (size_t i = 0; i < samples.size(); ++i) {
        const double ours =
            flat.at<double>(0, static_cast<int>(i * g.windowed_step()));
        const double diff = std::abs(ours - samples[i]);
        worst_window_diff = std::max(worst_window_diff, diff);
        ASSERT_LE(diff, 1.0) << "sample " << i;
      }
      cv::minMaxLoc(windowed, &mn, &mx);
      EXPECT_NEAR(mn, g.windowed_min(), 1.0);
      EXPECT_NEAR(mx, g.windowed_max(), 1.0);
    }
  }
  std::string summary;
  for (const auto& [k, v] : counts) absl::StrAppend(&summary, k, "=", v, " ");
  absl::StrAppend(&summary, "pydicom_files_compared=", pydicom_compared,
                  " windowed_frames=", windowed_compared,
                  " worst_window_diff=", worst_window_diff);
  RecordProperty("summary", summary);
  std::cout << "parity: " << summary << "\n";
  EXPECT_GE(pydicom_compared, 20);
  EXPECT_GE(counts["rejected"], 15);
}

}  // namespace
}  // namespace mammovl::data
