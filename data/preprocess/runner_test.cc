#include "data/preprocess/runner.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/proto_config.h"
#include "core/status_matchers.h"
#include "data/dicom/sha256.h"
#include "data/preprocess/csv.h"
#include "data/preprocess/manifest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

namespace fs = std::filesystem;
using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

constexpr char kMammo[] = "data/preprocess/testdata/mammo";
constexpr char kBad[] = "data/dicom/testdata/bad";

const char* const kGood[] = {"studyA/img01", "studyA/img02", "studyA/img03",
                             "studyB/img04", "studyB/img05", "studyC/img06"};
const char* const kBadFiles[] = {"empty.dcm", "truncated_pixels.dcm",
                                 "j2k_size_mismatch.dcm", "not_dicom.dcm"};

class RunnerTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(std::getenv("TEST_TMPDIR")) /
            testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    input_ = root_ / "in";
    fs::create_directories(input_);
    fs::copy(kMammo, input_, fs::copy_options::recursive);
    fs::create_directories(input_ / "broken");
    for (const char* name : kBadFiles)
      fs::copy_file(fs::path(kBad) / name, input_ / "broken" / name);
    // Not DICOM by extension: ignored.
    MVL_ASSERT_OK(core::WriteFileAtomically((input_ / "notes.txt").string(),
                                            "ignore me"));
  }

  // A run over the test tree; outputs are 114x190 unless `full_size` (the
  // Mammo-CLIP preset's 912x1520), to keep the tests fast.
  PreprocessConfig Config(const std::string& out, const std::string& extra = "",
                          bool full_size = false) {
    PreprocessConfig c;
    EXPECT_THAT(
        core::ParseTextProto(
            absl::StrCat("input_dir: '", input_.string(), "' output_dir: '",
                         (root_ / out).string(), "' num_workers: 2 ", extra),
            "test", &c),
        core::IsOk());
    if (!full_size && c.preset() == PreprocessConfig::MAMMOCLIP) {
      c.mutable_recipe()->mutable_fixed_size()->set_width(114);
      c.mutable_recipe()->mutable_fixed_size()->set_height(190);
    }
    return c;
  }

  std::string Out(const std::string& out, const std::string& file) {
    return (root_ / out / file).string();
  }

  static std::map<std::string, std::string> ExpectedHashes() {
    std::map<std::string, std::string> hashes;
    auto table = ReadCsvFile("data/preprocess/testdata/expected.csv");
    EXPECT_TRUE(table.ok());
    for (const auto& row : table->rows) {
      if (row[1] == "mammoclip") hashes[row[0]] = row[2];
    }
    return hashes;
  }

  fs::path root_;
  fs::path input_;
};

TEST_F(RunnerTest, ConvertsGoodFilesAndRecordsBadOnes) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const RunSummary s, RunPreprocess(Config("out", "", /*full_size=*/true)));
  EXPECT_EQ(s.inputs, 10);
  EXPECT_EQ(s.converted, 6);
  EXPECT_EQ(s.failed, 4);
  EXPECT_EQ(s.frames_written, 6);
  EXPECT_GT(s.stage_seconds.at("decode"), 0);

  MVL_ASSERT_OK_AND_ASSIGN(const std::vector<ManifestRow> rows,
                           ReadManifest(Out("out", "manifest.csv")));
  ASSERT_EQ(rows.size(), 6u);
  const auto expected = ExpectedHashes();
  for (size_t i = 0; i < rows.size(); ++i) {
    const ManifestRow& r = rows[i];
    EXPECT_EQ(r.source_path, absl::StrCat(kGood[i], ".dcm"));
    EXPECT_EQ(r.output_path, absl::StrCat(kGood[i], ".png"));
    EXPECT_EQ(r.study_id, std::string(kGood[i]).substr(0, 6));
    EXPECT_EQ(r.image_id, std::string(kGood[i]).substr(7));
    // The same bytes as the Python reference of the Mammo-CLIP recipe.
    EXPECT_EQ(r.sha256, expected.at(r.source_path)) << r.source_path;
    MVL_ASSERT_OK_AND_ASSIGN(const std::string png,
                             core::ReadFileToString(Out("out", r.output_path)));
    EXPECT_EQ(Sha256Hex(png), r.sha256);
    EXPECT_EQ(r.bytes, static_cast<int64_t>(png.size()));
    EXPECT_EQ(r.geometry.out_width, 912);
    EXPECT_EQ(r.patient_pseudonym.size(), 16u);
    EXPECT_FALSE(r.sop_instance_uid.empty());
    EXPECT_EQ(r.manufacturer, "MammoVL synthetic");
    EXPECT_EQ(r.pixel_spacing_row, "0.085");
  }
  EXPECT_EQ(rows[0].laterality, "L");
  EXPECT_EQ(rows[0].view, "CC");
  EXPECT_EQ(rows[3].view, "MLO");
  EXPECT_EQ(rows[2].photometric_interpretation, "MONOCHROME1");
  EXPECT_EQ(rows[4].transfer_syntax_uid, "1.2.840.10008.1.2.4.90");
  // Patients 0 (img01-03) share a pseudonym, patient 1 has another.
  EXPECT_EQ(rows[0].patient_pseudonym, rows[2].patient_pseudonym);
  EXPECT_NE(rows[0].patient_pseudonym, rows[3].patient_pseudonym);

  MVL_ASSERT_OK_AND_ASSIGN(const std::vector<FailureRow> failures,
                           ReadFailures(Out("out", "failures.csv")));
  ASSERT_EQ(failures.size(), 4u);
  std::map<std::string, std::string> reasons;
  for (const FailureRow& f : failures) reasons[f.source_path] = f.reason;
  EXPECT_THAT(reasons.at("broken/empty.dcm"), HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(reasons.at("broken/truncated_pixels.dcm"),
              HasSubstr("Pixel Data is truncated"));
  EXPECT_THAT(reasons.at("broken/j2k_size_mismatch.dcm"),
              HasSubstr("JPEG 2000 codestream"));
  EXPECT_THAT(reasons.at("broken/not_dicom.dcm"),
              HasSubstr("not a DICOM file"));

  // Nothing partial, nothing extra.
  int pngs = 0;
  for (const auto& e : fs::recursive_directory_iterator(root_ / "out")) {
    const std::string name = e.path().filename().string();
    EXPECT_FALSE(absl::StrContains(name, ".part-")) << name;
    pngs += absl::EndsWith(name, ".png");
  }
  EXPECT_EQ(pngs, 6);
  EXPECT_TRUE(core::PathExists(Out("out", "run_stats.json")));
  MVL_ASSERT_OK_AND_ASSIGN(
      const std::string saved,
      core::ReadFileToString(Out("out", "preprocess_config.pbtxt")));
  EXPECT_THAT(saved, HasSubstr("trim_border: 5"));
}

// Every malformed fixture of data/dicom ends in failures.csv with its reason,
// and the run goes on to convert the good files.
TEST_F(RunnerTest, EveryBadInputEndsInFailures) {
  std::string list = "path\n";
  int bad = 0;
  for (const auto& e : fs::directory_iterator(kBad)) {
    list += fs::absolute(e.path()).string() + "\n";
    ++bad;
  }
  list += "studyA/img01.dcm\n";
  const std::string csv = (root_ / "list.csv").string();
  MVL_ASSERT_OK(core::WriteFileAtomically(csv, list));
  PreprocessConfig c = Config("out", absl::StrCat("input_csv: '", csv, "'"));
  MVL_ASSERT_OK_AND_ASSIGN(const RunSummary s, RunPreprocess(c));
  EXPECT_EQ(bad, 21);
  EXPECT_EQ(s.failed, bad);
  EXPECT_EQ(s.converted, 1);
  MVL_ASSERT_OK_AND_ASSIGN(const std::vector<FailureRow> failures,
                           ReadFailures(Out("out", "failures.csv")));
  ASSERT_EQ(static_cast<int>(failures.size()), bad);
  for (const FailureRow& f : failures) {
    EXPECT_FALSE(f.reason.empty()) << f.source_path;
    EXPECT_THAT(f.reason, testing::AnyOf(HasSubstr("DATA_LOSS"), HasSubstr("INVALID_ARGUMENT"),
                                         HasSubstr("UNIMPLEMENTED"),
                                         HasSubstr("FAILED_PRECONDITION")))
        << f.source_path;
  }
}

TEST_F(RunnerTest, ResumeSkipsVerifiedOutputsAndRedoesCorruptOnes) {
  MVL_ASSERT_OK(RunPreprocess(Config("out")).status());
  MVL_ASSERT_OK_AND_ASSIGN(const std::string first,
                           core::ReadFileToString(Out("out", "manifest.csv")));
  MVL_ASSERT_OK_AND_ASSIGN(const RunSummary again,
                           RunPreprocess(Config("out")));
  EXPECT_EQ(again.resumed, 6);
  EXPECT_EQ(again.converted, 0);
  EXPECT_EQ(again.failed, 4);  // failures are retried
  MVL_ASSERT_OK_AND_ASSIGN(const std::string second,
                           core::ReadFileToString(Out("out", "manifest.csv")));
  EXPECT_EQ(first, second);
  // A damaged PNG and a deleted one are converted again.
  MVL_ASSERT_OK(
      core::WriteFileAtomically(Out("out", "studyB/img04.png"), "garbage"));
  fs::remove(Out("out", "studyC/img06.png"));
  MVL_ASSERT_OK_AND_ASSIGN(const RunSummary third,
                           RunPreprocess(Config("out")));
  EXPECT_EQ(third.resumed, 4);
  EXPECT_EQ(third.converted, 2);
  MVL_ASSERT_OK_AND_ASSIGN(const std::string after,
                           core::ReadFileToString(Out("out", "manifest.csv")));
  EXPECT_EQ(first, after);
  // Without resume an existing manifest is refused.
  EXPECT_THAT(
      RunPreprocess(Config("out", "resume: false")),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("resume")));
}

TEST_F(RunnerTest, ThreadsAndProcessesWriteTheSameOutputs) {
  MVL_ASSERT_OK(RunPreprocess(Config("procs")).status());
  MVL_ASSERT_OK(
      RunPreprocess(Config("threads", "isolate_workers: false num_workers: 3"))
          .status());
  for (const char* file : {"manifest.csv", "failures.csv"}) {
    MVL_ASSERT_OK_AND_ASSIGN(const std::string a,
                             core::ReadFileToString(Out("procs", file)));
    MVL_ASSERT_OK_AND_ASSIGN(const std::string b,
                             core::ReadFileToString(Out("threads", file)));
    EXPECT_EQ(a, b) << file;
  }
}

TEST_F(RunnerTest, DecoderCrashCostsOneFile) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const RunSummary s,
      RunPreprocess(Config("out", "crash_on_path_substring: 'img04'")));
  EXPECT_EQ(s.converted, 5);
  EXPECT_EQ(s.failed, 5);
  MVL_ASSERT_OK_AND_ASSIGN(const std::vector<FailureRow> failures,
                           ReadFailures(Out("out", "failures.csv")));
  bool found = false;
  for (const FailureRow& f : failures) {
    if (f.source_path == "studyB/img04.dcm") {
      found = true;
      EXPECT_THAT(f.reason,
                  HasSubstr("decoder crash: worker killed by signal"));
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(RunnerTest, HangingImageTimesOut) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const RunSummary s,
      RunPreprocess(Config(
          "out", "slow_down_s: 30 image_timeout_s: 0.3 num_workers: 5")));
  EXPECT_EQ(s.converted, 0);
  EXPECT_EQ(s.failed, 10);
  MVL_ASSERT_OK_AND_ASSIGN(const std::vector<FailureRow> failures,
                           ReadFailures(Out("out", "failures.csv")));
  EXPECT_THAT(failures[0].reason, HasSubstr("timed out"));
}

TEST_F(RunnerTest, FailurePolicyStopsTheRunAndExitsNonZero) {
  const auto result =
      RunPreprocess(Config("out", "max_failures: 1 num_workers: 1"));
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kAborted,
                               HasSubstr("failure policy exceeded")));
  // The outputs written so far are complete and recorded.
  MVL_ASSERT_OK_AND_ASSIGN(const std::vector<FailureRow> failures,
                           ReadFailures(Out("out", "failures.csv")));
  EXPECT_EQ(failures.size(), 2u);
  MVL_ASSERT_OK_AND_ASSIGN(const std::vector<ManifestRow> rows,
                           ReadManifest(Out("out", "manifest.csv")));
  for (const ManifestRow& r : rows) {
    MVL_ASSERT_OK_AND_ASSIGN(const std::string png,
                             core::ReadFileToString(Out("out", r.output_path)));
    EXPECT_EQ(Sha256Hex(png), r.sha256);
  }
  MVL_EXPECT_OK(RunPreprocess(Config("out2", "max_failures: 4")).status());
}

TEST_F(RunnerTest, ShardsMergeIntoTheSingleRunManifest) {
  MVL_ASSERT_OK(RunPreprocess(Config("single")).status());
  for (int i = 0; i < 3; ++i) {
    MVL_ASSERT_OK(
        RunPreprocess(Config("sharded", absl::StrCat("shard_index: ", i,
                                                     " shard_count: 3")))
            .status());
    EXPECT_TRUE(core::PathExists(
        Out("sharded", absl::StrCat("manifest-0000", i, "-of-00003.csv"))));
  }
  PreprocessConfig merge = Config("sharded", "mode: MERGE_MANIFESTS");
  MVL_ASSERT_OK(RunPreprocessMode(merge));
  for (const char* file : {"manifest.csv", "failures.csv"}) {
    MVL_ASSERT_OK_AND_ASSIGN(const std::string a,
                             core::ReadFileToString(Out("single", file)));
    MVL_ASSERT_OK_AND_ASSIGN(const std::string b,
                             core::ReadFileToString(Out("sharded", file)));
    EXPECT_EQ(a, b) << file;
  }
}

TEST_F(RunnerTest, UidLayoutsAndCollisions) {
  // A second copy of img01 has the same SOP Instance UID.
  fs::copy_file(input_ / "studyA/img01.dcm",
                input_ / "studyC/copy_of_img01.dcm");
  MVL_ASSERT_OK_AND_ASSIGN(const RunSummary s,
                           RunPreprocess(Config("out", "layout: STUDY_UID")));
  EXPECT_EQ(s.converted, 6);
  MVL_ASSERT_OK_AND_ASSIGN(const std::vector<ManifestRow> rows,
                           ReadManifest(Out("out", "manifest.csv")));
  for (const ManifestRow& r : rows) {
    EXPECT_EQ(r.output_path,
              r.study_instance_uid + "/" + r.sop_instance_uid + ".png");
  }
  MVL_ASSERT_OK_AND_ASSIGN(const std::vector<FailureRow> failures,
                           ReadFailures(Out("out", "failures.csv")));
  bool collision = false;
  for (const FailureRow& f : failures)
    collision |= absl::StrContains(f.reason, "already written for");
  EXPECT_TRUE(collision);
  MVL_ASSERT_OK(
      RunPreprocess(
          Config("pseudo", "layout: PATIENT_PSEUDONYM patient_id_salt: 's'"))
          .status());
  MVL_ASSERT_OK_AND_ASSIGN(const std::vector<ManifestRow> p,
                           ReadManifest(Out("pseudo", "manifest.csv")));
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p[0].output_path.substr(0, 16), p[0].patient_pseudonym);
  EXPECT_EQ(p[0].study_id, p[0].patient_pseudonym);
}

TEST_F(RunnerTest, CsvInputNamesOutputs) {
  const std::string list = (root_ / "list.csv").string();
  MVL_ASSERT_OK(core::WriteFileAtomically(
      list,
      absl::StrCat("path,study_id,image_id\n", "studyA/img01.dcm,P1,first\n",
                   input_.string(), "/studyB/img04.dcm,P2,second\n")));
  PreprocessConfig c;
  MVL_ASSERT_OK(core::ParseTextProto(
      absl::StrCat("input_csv: '", list, "' input_dir: '", input_.string(),
                   "' output_dir: '", (root_ / "out").string(),
                   "' preset: MAMA isolate_workers: false"),
      "test", &c));
  MVL_ASSERT_OK_AND_ASSIGN(const RunSummary s, RunPreprocess(c));
  EXPECT_EQ(s.converted, 2);
  EXPECT_TRUE(core::PathExists(Out("out", "P1/first.png")));
  EXPECT_TRUE(core::PathExists(Out("out", "P2/second.png")));
}

TEST_F(RunnerTest, AllFramesWritesOnePngPerFrame) {
  fs::copy_file("data/dicom/testdata/generated/u16_multiframe3.dcm",
                input_ / "multi.dcm");
  MVL_ASSERT_OK_AND_ASSIGN(
      const RunSummary s,
      RunPreprocess(Config("out", "all_frames: true preset: MAMA")));
  EXPECT_EQ(s.frames_written, 6 + 3);
  for (int k = 0; k < 3; ++k)
    EXPECT_TRUE(
        core::PathExists(Out("out", absl::StrCat("multi_f", k, ".png"))));
}

TEST_F(RunnerTest, BoxMappingModeUsesTheManifest) {
  MVL_ASSERT_OK(RunPreprocess(Config("out", "", /*full_size=*/true)).status());
  PreprocessConfig c = Config("out", "mode: MAP_BOXES", /*full_size=*/true);
  c.mutable_map_boxes()->set_annotations_csv(
      "data/preprocess/testdata/annotations.csv");
  c.mutable_map_boxes()->set_output_csv(Out("out", "detector.csv"));
  MVL_ASSERT_OK(RunPreprocessMode(c));
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable t,
                           ReadCsvFile(Out("out", "detector.csv")));
  // img01's box, mapped with the crop this run found, equals the reference's.
  EXPECT_EQ(t.rows[0][t.Column("resized_xmin")].substr(0, 8),
            t.rows[0][t.Column("expected_resized_xmin")].substr(0, 8));
  EXPECT_EQ(t.rows[0][t.Column("resized_ymax")].substr(0, 8),
            t.rows[0][t.Column("expected_resized_ymax")].substr(0, 8));
}

}  // namespace
}  // namespace mammovl::data
