#include "train/tensorboard.h"

#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::train {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

constexpr char kPythonFile[] =
    "train/testdata/tensorboard/events.out.tfevents.1700000000.fixture-host";

std::string TempDir(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

TEST(Crc32cTest, MatchesPublishedCheckValues) {
  // RFC 3720 (iSCSI) appendix B.4 test vectors.
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8a9136aau);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62a8ab43u);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(EventWriterTest, WritesTheSameBytesAsTheIndependentPythonEncoder) {
  // The clock is read once for the file name, then once per event.
  std::vector<double> times = {1700000000.5, 1700000000.5, 1700000001.25,
                               1700000002.0, 1700000003.0, 1700000004.0};
  size_t next = 0;
  EventWriter::Options options;
  options.clock = [&] { return times.at(next++); };
  options.hostname = "fixture-host";
  MVL_ASSERT_OK_AND_ASSIGN(auto writer,
                           EventWriter::Create(TempDir("tb_same"), options));
  EXPECT_EQ(writer->path(), TempDir("tb_same") +
                                "/events.out.tfevents.1700000000.fixture-host");
  MVL_ASSERT_OK(writer->AddScalars({{"loss", 0.75}, {"lr", 1e-3}}, 3));
  MVL_ASSERT_OK(writer->AddSessionStart(5));
  MVL_ASSERT_OK(writer->AddText("config", "max_steps: 3", 0));
  MVL_ASSERT_OK(writer->AddScalar("loss", -2.5, 7));
  MVL_ASSERT_OK_AND_ASSIGN(std::string ours,
                           core::ReadFileToString(writer->path()));
  MVL_ASSERT_OK_AND_ASSIGN(std::string python,
                           core::ReadFileToString(kPythonFile));
  EXPECT_EQ(ours.size(), python.size());
  EXPECT_TRUE(ours == python)
      << "event file bytes differ from the Python-encoded fixture";
}

TEST(EventReaderTest, ReadsThePythonWrittenFile) {
  MVL_ASSERT_OK_AND_ASSIGN(EventFile file, ReadEventFile(kPythonFile));
  EXPECT_FALSE(file.truncated);
  ASSERT_EQ(file.events.size(), 5u);
  EXPECT_EQ(file.events[0].file_version(), "brain.Event:2");
  EXPECT_EQ(file.events[0].wall_time(), 1700000000.5);
  EXPECT_EQ(file.events[2].session_log().status(),
            tensorboard::SessionLog::START);
  EXPECT_EQ(file.events[2].step(), 5);
  const auto& text = file.events[3].summary().value(0);
  EXPECT_EQ(text.metadata().plugin_data().plugin_name(), "text");
  ASSERT_EQ(text.tensor().string_val_size(), 1);
  EXPECT_EQ(text.tensor().string_val(0), "max_steps: 3");

  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ScalarPoint> scalars,
                           ReadScalars(kPythonFile));
  ASSERT_EQ(scalars.size(), 3u);
  EXPECT_EQ(scalars[0].tag, "loss");
  EXPECT_EQ(scalars[0].step, 3);
  EXPECT_EQ(scalars[0].value, 0.75f);
  EXPECT_EQ(scalars[0].wall_time, 1700000001.25);
  EXPECT_EQ(scalars[1].tag, "lr");
  EXPECT_EQ(scalars[1].value, 1e-3f);
  EXPECT_EQ(scalars[2].step, 7);
  EXPECT_EQ(scalars[2].value, -2.5f);
}

TEST(EventReaderTest, RoundTripsManyScalars) {
  MVL_ASSERT_OK_AND_ASSIGN(auto writer,
                           EventWriter::Create(TempDir("tb_round")));
  for (int step = 0; step < 100; ++step) {
    MVL_ASSERT_OK(writer->AddScalars(
        {{"train/loss", 1.0 / (step + 1)}, {"lr", step * 1e-5}}, step));
  }
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ScalarPoint> scalars,
                           ReadScalars(writer->path()));
  ASSERT_EQ(scalars.size(), 200u);
  for (int step = 0; step < 100; ++step) {
    EXPECT_EQ(scalars[2 * step].tag, "train/loss");
    EXPECT_EQ(scalars[2 * step].step, step);
    EXPECT_EQ(scalars[2 * step].value, static_cast<float>(1.0 / (step + 1)));
    EXPECT_EQ(scalars[2 * step + 1].value, static_cast<float>(step * 1e-5));
  }
  // A second writer in the same folder and second gets its own file.
  MVL_ASSERT_OK_AND_ASSIGN(auto second,
                           EventWriter::Create(TempDir("tb_round")));
  EXPECT_NE(second->path(), writer->path());
}

TEST(EventReaderTest, DetectsCorruptionAndToleratesATruncatedTail) {
  MVL_ASSERT_OK_AND_ASSIGN(std::string bytes,
                           core::ReadFileToString(kPythonFile));
  // Flip one bit inside the second record's data.
  // The version event: wall_time (1 + 8 bytes) and file_version (2 + 13).
  ASSERT_EQ(static_cast<unsigned char>(bytes[0]), 24);
  const size_t first_record = 16 + 24;
  std::string corrupt = bytes;
  corrupt[first_record + 14] ^= 0x01;
  const std::string corrupt_path = TempDir("corrupt.tfevents");
  MVL_ASSERT_OK(core::WriteFileAtomically(corrupt_path, corrupt));
  EXPECT_THAT(
      ReadEventFile(corrupt_path),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("record at byte " + std::to_string(first_record))));
  // Corrupt a length field.
  corrupt = bytes;
  corrupt[first_record] ^= 0x40;
  MVL_ASSERT_OK(core::WriteFileAtomically(corrupt_path, corrupt));
  EXPECT_THAT(
      ReadEventFile(corrupt_path),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bad length CRC")));
  // A file cut in the middle of its last record.
  const std::string cut_path = TempDir("cut.tfevents");
  MVL_ASSERT_OK(
      core::WriteFileAtomically(cut_path, bytes.substr(0, bytes.size() - 5)));
  MVL_ASSERT_OK_AND_ASSIGN(EventFile cut, ReadEventFile(cut_path));
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.events.size(), 4u);
  EXPECT_THAT(ReadEventFile(TempDir("missing.tfevents")),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace mammovl::train
