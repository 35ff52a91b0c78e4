#include "core/path_confinement.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string TestDir(const std::string& name) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  EXPECT_THAT(MakeDirectories(dir), IsOk());
  return dir;
}

TEST(PathConfinementTest, AcceptsPathsInsideTheRoot) {
  const std::string root = TestDir("inside");
  const PathConfinement c(root, false);
  for (const std::string rel : {"p1/img.png", "p1/./img.png", "p1/../p2/img.png", "a/b/c/../../d"}) {
    MVL_EXPECT_OK(c.Check(root + "/" + rel, "t.csv line 2 column 'path'", true)) << rel;
  }
  const PathConfinement slash(root + "/", false);
  MVL_EXPECT_OK(slash.Check(root + "/" + "p/x.png", "here", true));
}

TEST(PathConfinementTest, RefusesEscapesNamingTheRow) {
  const std::string root = TestDir("escapes");
  const PathConfinement c(root, false);
  EXPECT_THAT(c.Check(root + "/../secret.png", "t.csv line 3 column 'path'", true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("t.csv line 3 column 'path'"), HasSubstr("'..'"),
                             HasSubstr("allow_paths_outside_root"))));
  EXPECT_THAT(c.Check(root + "/p/../../../etc/passwd", "row", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'..'")));
  // An absolute cell joined to the root: "root//etc/passwd".
  EXPECT_THAT(c.Check(root + "//etc/passwd", "row", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
  EXPECT_THAT(c.Check("/etc/passwd", "row", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
  // An absolute cell joined in the middle: "root/patient//etc/passwd".
  EXPECT_THAT(c.Check(root + "/p1//etc/passwd", "row", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
  // A sibling folder whose name starts like the root.
  EXPECT_THAT(c.Check(root + "2/x.png", "row", true),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // The empty root is the working folder.
  const PathConfinement cwd("", false);
  MVL_EXPECT_OK(cwd.Check("images/a.png", "row", false));
  EXPECT_THAT(cwd.Check("../a.png", "row", false), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(cwd.Check("/a.png", "row", false), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PathConfinementTest, ResolvesSymlinks) {
  const std::string root = TestDir("links/root");
  const std::string outside = TestDir("links/outside");
  MVL_ASSERT_OK(WriteFileAtomically(outside + "/secret.png", "x"));
  MVL_ASSERT_OK(MakeDirectories(root + "/p"));
  MVL_ASSERT_OK(WriteFileAtomically(root + "/p/real.png", "x"));
  ASSERT_EQ(::symlink((outside + "/secret.png").c_str(), (root + "/p/link.png").c_str()), 0);
  ASSERT_EQ(::symlink(outside.c_str(), (root + "/dirlink").c_str()), 0);
  ASSERT_EQ(::symlink((root + "/p/real.png").c_str(), (root + "/p/inner.png").c_str()), 0);
  const PathConfinement c(root, false);
  EXPECT_THAT(c.Check(root + "/p/link.png", "t.csv line 4 column 'path'", true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("t.csv line 4"), HasSubstr("symlink"),
                             HasSubstr("secret.png"))));
  EXPECT_THAT(c.Check(root + "/dirlink/secret.png", "row", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("symlink")));
  MVL_EXPECT_OK(c.Check(root + "/p/inner.png", "row", true));  // a link inside the root
  MVL_EXPECT_OK(c.Check(root + "/p/link.png", "row", false));  // not resolved when asked not to
  // A root that is itself a symlink: paths below it are inside.
  const std::string root_link = std::string(std::getenv("TEST_TMPDIR")) + "/links/root_link";
  ASSERT_EQ(::symlink(root.c_str(), root_link.c_str()), 0);
  MVL_EXPECT_OK(PathConfinement(root_link, false).Check(root_link + "/p/real.png", "row", true));
}

TEST(PathConfinementTest, AllowOutsideAcceptsEverything) {
  const PathConfinement c(TestDir("allow"), true);
  MVL_EXPECT_OK(c.Check("/etc/passwd", "row", true));
  MVL_EXPECT_OK(c.Check(c.root() + "/../x", "row", true));
}

}  // namespace
}  // namespace mammovl::core
