// Fuzz-style robustness: random truncations and byte mutations of valid
// files must end in an OK result or an error, never a crash, hang or
// sanitizer report (run under --config=asan as well).
#include <dirent.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "data/dicom/dicom_reader.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

std::vector<std::string> GeneratedFiles() {
  std::vector<std::string> files;
  const std::string dir = "data/dicom/testdata/generated/";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return files;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() > 4 && name.substr(name.size() - 4) == ".dcm")
      files.push_back(dir + name);
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

struct Tally {
  int ok = 0;
  int errors = 0;
};

void ReadOne(DicomReader& reader, const std::string& bytes, Tally* tally) {
  const auto result = reader.ReadBytes(bytes);
  if (result.ok()) {
    ++tally->ok;
    for (const cv::Mat& m : result->frames) {
      ASSERT_EQ(m.rows, result->header.rows);
      ASSERT_EQ(m.cols, result->header.columns);
    }
  } else {
    ++tally->errors;
    ASSERT_FALSE(result.status().message().empty());
  }
}

TEST(DicomFuzzTest, RandomTruncationsNeverCrash) {
  const std::vector<std::string> files = GeneratedFiles();
  ASSERT_GE(files.size(), 25u);
  std::mt19937_64 rng(20240601);
  ReadOptions options;
  options.all_frames = true;
  DicomReader reader(options);
  Tally tally;
  int cases = 0;
  for (const std::string& path : files) {
    auto bytes = core::ReadFileToString(path);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    std::uniform_int_distribution<size_t> length(0, bytes->size());
    for (int i = 0; i < 120; ++i) {
      SCOPED_TRACE(path);
      ReadOne(reader, bytes->substr(0, length(rng)), &tally);
      ++cases;
    }
    // Every cut in the last 64 bytes (end markers, padding, delimiters).
    for (size_t cut = 1; cut <= std::min<size_t>(64, bytes->size()); ++cut) {
      ReadOne(reader, bytes->substr(0, bytes->size() - cut), &tally);
      ++cases;
    }
  }
  std::cout << "truncations: " << cases << " cases, " << tally.ok
            << " decoded, " << tally.errors << " refused\n";
  EXPECT_GE(cases, 3000);
  EXPECT_GT(tally.errors, cases / 2);
}

TEST(DicomFuzzTest, RandomHeaderMutationsNeverCrash) {
  const std::vector<std::string> files = GeneratedFiles();
  std::mt19937_64 rng(7);
  DicomReader reader;
  Tally tally;
  int cases = 0;
  for (const std::string& path : files) {
    auto bytes = core::ReadFileToString(path);
    ASSERT_TRUE(bytes.ok());
    // Mutate bytes before the pixel data (the header), 1-4 bytes at a time.
    auto header = reader.ReadHeader(path);
    ASSERT_TRUE(header.ok()) << header.status();
    const size_t limit =
        header->pixel_data.encapsulated
            ? static_cast<size_t>(header->pixel_data.fragments.front().offset +
                                  64)
            : static_cast<size_t>(header->pixel_data.value.offset);
    std::uniform_int_distribution<size_t> where(
        0, std::min(limit, bytes->size()) - 1);
    std::uniform_int_distribution<int> value(0, 255), count(1, 4);
    for (int i = 0; i < 80; ++i) {
      std::string mutated = *bytes;
      for (int k = count(rng); k > 0; --k)
        mutated[where(rng)] = static_cast<char>(value(rng));
      SCOPED_TRACE(path);
      ReadOne(reader, mutated, &tally);
      ++cases;
    }
  }
  std::cout << "header mutations: " << cases << " cases, " << tally.ok
            << " decoded, " << tally.errors << " refused\n";
  EXPECT_GE(cases, 2000);
}

}  // namespace
}  // namespace mammovl::data
