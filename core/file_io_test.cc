#include "core/file_io.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::HasSubstr;

std::string TestDir(const std::string& name) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  EXPECT_THAT(MakeDirectories(dir), IsOk());
  return dir;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

TEST(FileIoTest, WriteThenReadRoundTrips) {
  const std::string path = TestDir("roundtrip") + "/a.bin";
  const std::string payload("x\0y\nz", 5);
  MVL_ASSERT_OK(WriteFileAtomically(path, payload));
  MVL_ASSERT_OK_AND_ASSIGN(std::string back, ReadFileToString(path));
  EXPECT_EQ(back, payload);
  MVL_ASSERT_OK_AND_ASSIGN(int64_t size, FileSize(path));
  EXPECT_EQ(size, 5);
}

TEST(FileIoTest, MissingFileIsNotFoundAndNamesPath) {
  EXPECT_THAT(ReadFileToString("/nonexistent/dir/file.txt"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/dir/file.txt")));
  EXPECT_THAT(MappedFile::Open("/nonexistent/x"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(FileIoTest, UncommittedWriterLeavesOldFileAndNoTemp) {
  const std::string dir = TestDir("abandon");
  const std::string path = dir + "/out.txt";
  MVL_ASSERT_OK(WriteFileAtomically(path, "old"));
  {
    MVL_ASSERT_OK_AND_ASSIGN(AtomicFileWriter writer, AtomicFileWriter::Open(path));
    MVL_ASSERT_OK(writer.Append("new content that is never committed"));
    EXPECT_EQ(ListDir(dir).size(), 2u);  // old file + temp
  }
  EXPECT_THAT(ListDir(dir), ::testing::ElementsAre("out.txt"));
  MVL_ASSERT_OK_AND_ASSIGN(std::string back, ReadFileToString(path));
  EXPECT_EQ(back, "old");
}

TEST(FileIoTest, CommitReplacesAndClosesWriter) {
  const std::string dir = TestDir("commit");
  const std::string path = dir + "/out.txt";
  MVL_ASSERT_OK(WriteFileAtomically(path, "old"));
  MVL_ASSERT_OK_AND_ASSIGN(AtomicFileWriter writer, AtomicFileWriter::Open(path));
  MVL_ASSERT_OK(writer.Append("new "));
  MVL_ASSERT_OK(writer.Append("content"));
  MVL_ASSERT_OK(writer.Commit());
  EXPECT_THAT(writer.Append("more"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(ListDir(dir), ::testing::ElementsAre("out.txt"));
  MVL_ASSERT_OK_AND_ASSIGN(std::string back, ReadFileToString(path));
  EXPECT_EQ(back, "new content");
}

TEST(FileIoTest, FullDiskFailsClearlyAndKeepsPreviousFile) {
  const std::string dir = TestDir("full");
  const std::string path = dir + "/ckpt.bin";
  MVL_ASSERT_OK(WriteFileAtomically(path, "previous checkpoint"));
  // A file size limit makes write() fail with EFBIG, as a full disk would.
  signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const absl::Status status = WriteFileAtomically(path, std::string(100000, 'x'));
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(path)));
  MVL_ASSERT_OK_AND_ASSIGN(std::string back, ReadFileToString(path));
  EXPECT_EQ(back, "previous checkpoint");
  EXPECT_THAT(ListDir(dir), ::testing::ElementsAre("ckpt.bin"));
}

TEST(FileIoTest, OpenInMissingFolderFails) {
  EXPECT_THAT(AtomicFileWriter::Open("/nonexistent/folder/x.txt"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/folder/x.txt")));
}

TEST(FileIoTest, MakeDirectoriesIsIdempotentAndRejectsFiles) {
  const std::string dir = TestDir("mkdirs") + "/a/b/c";
  MVL_ASSERT_OK(MakeDirectories(dir));
  MVL_ASSERT_OK(MakeDirectories(dir));
  EXPECT_TRUE(PathExists(dir));
  MVL_ASSERT_OK(WriteFileAtomically(dir + "/f", "x"));
  EXPECT_THAT(MakeDirectories(dir + "/f"), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(FileIoTest, MappedFileSeesContentsAndEmptyFiles) {
  const std::string dir = TestDir("mapped");
  MVL_ASSERT_OK(WriteFileAtomically(dir + "/data", "hello mapped"));
  MVL_ASSERT_OK(WriteFileAtomically(dir + "/empty", ""));
  MVL_ASSERT_OK_AND_ASSIGN(MappedFile mapped, MappedFile::Open(dir + "/data"));
  EXPECT_EQ(mapped.data(), "hello mapped");
  MappedFile moved = std::move(mapped);
  EXPECT_EQ(moved.data(), "hello mapped");
  MVL_ASSERT_OK_AND_ASSIGN(MappedFile empty, MappedFile::Open(dir + "/empty"));
  EXPECT_TRUE(empty.data().empty());
  EXPECT_THAT(MappedFile::Open(dir), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FileIoTest, RecognisesTempFileNames) {
  int64_t pid = 0;
  EXPECT_TRUE(IsAtomicTempFileName(".model.safetensors.tmp.1234.7", &pid));
  EXPECT_EQ(pid, 1234);
  EXPECT_TRUE(IsAtomicTempFileName(".a.tmp.1.0", nullptr));
  for (const char* name : {"model.safetensors", ".tmp.12.3", "..tmp.12.3", ".a.tmp.x.3",
                           ".a.tmp.12.y", ".a.tmp.12", ".a.tmpx.12.3", "a.tmp.12.3",
                           ".a.tmp.0.1", ".a.tmp.-4.1"}) {
    EXPECT_FALSE(IsAtomicTempFileName(name, nullptr)) << name;
  }
}

// A writer killed before Commit() leaves its temporary file; the next run
// removes it, but never the file of a writer that is still running.
TEST(FileIoTest, RemovesOnlyTempFilesOfDeadWriters) {
  const std::string dir = TestDir("stale");
  MVL_ASSERT_OK(MakeDirectories(dir + "/sub/deeper"));
  // A pid that is certainly not running: a child that has been reaped.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  const std::string dead = std::to_string(child);
  MVL_ASSERT_OK(WriteFileAtomically(dir + "/.a.png.tmp." + dead + ".0", "half"));
  MVL_ASSERT_OK(WriteFileAtomically(dir + "/sub/deeper/.b.tmp." + dead + ".3", "half"));
  MVL_ASSERT_OK(WriteFileAtomically(dir + "/a.png", "whole"));
  MVL_ASSERT_OK(WriteFileAtomically(dir + "/.hidden_config", "kept"));
  MVL_ASSERT_OK_AND_ASSIGN(AtomicFileWriter live, AtomicFileWriter::Open(dir + "/c.bin"));
  MVL_ASSERT_OK(live.Append("in progress"));
  // Only the top folder first.
  MVL_ASSERT_OK_AND_ASSIGN(int64_t removed, RemoveStaleTempFiles(dir, false));
  EXPECT_EQ(removed, 1);
  EXPECT_THAT(ListDir(dir), ::testing::UnorderedElementsAre(
                                ".hidden_config", "a.png", "sub",
                                ::testing::StartsWith(".c.bin.tmp.")));
  MVL_ASSERT_OK_AND_ASSIGN(removed, RemoveStaleTempFiles(dir, true));
  EXPECT_EQ(removed, 1);
  EXPECT_TRUE(ListDir(dir + "/sub/deeper").empty());
  MVL_ASSERT_OK(live.Commit());
  MVL_ASSERT_OK_AND_ASSIGN(std::string back, ReadFileToString(dir + "/c.bin"));
  EXPECT_EQ(back, "in progress");
  MVL_ASSERT_OK_AND_ASSIGN(removed, RemoveStaleTempFiles(dir + "/missing", true));
  EXPECT_EQ(removed, 0);
}

}  // namespace
}  // namespace mammovl::core
