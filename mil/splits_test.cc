#include "mil/splits.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/npy.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::mil {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

std::vector<int64_t> Golden(const std::string& name) {
  absl::StatusOr<core::NpyArray> array =
      core::ReadNpy("mil/testdata/splits/" + name + ".npy");
  EXPECT_TRUE(array.ok()) << array.status();
  if (!array.ok()) return {};
  absl::StatusOr<std::vector<int64_t>> values = core::NpyValues<int64_t>(*array);
  EXPECT_TRUE(values.ok()) << values.status();
  return values.ok() ? *values : std::vector<int64_t>();
}

class SplitsGoldenTest : public ::testing::TestWithParam<std::string> {};

// The folds equal scikit-learn's StratifiedGroupKFold(shuffle=False) on
// cohorts with a rare, a common and a three-class target.
TEST_P(SplitsGoldenTest, EqualsScikitLearn) {
  const std::string name = GetParam();
  const std::vector<int64_t> patients = Golden(name + "_patients");
  const std::vector<int64_t> labels64 = Golden(name + "_labels");
  const std::vector<int64_t> expected = Golden(name + "_folds");
  const std::vector<int64_t> n_splits = Golden(name + "_n_splits");
  ASSERT_EQ(n_splits.size(), 1u);
  ASSERT_EQ(patients.size(), labels64.size());
  std::vector<int> labels(labels64.begin(), labels64.end());
  std::vector<std::string> groups;
  for (int64_t p : patients) groups.push_back(absl::StrFormat("p%05d", p));
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<int> folds,
                           StratifiedGroupKFold(labels, groups, n_splits[0]));
  ASSERT_EQ(folds.size(), expected.size());
  int mismatches = 0;
  for (size_t i = 0; i < folds.size(); ++i) mismatches += folds[i] != expected[i];
  EXPECT_EQ(mismatches, 0);
  // A patient never straddles two folds.
  std::map<std::string, int> fold_of;
  for (size_t i = 0; i < folds.size(); ++i) {
    auto [it, inserted] = fold_of.emplace(groups[i], folds[i]);
    EXPECT_EQ(it->second, folds[i]) << groups[i];
  }
  std::set<int> used(folds.begin(), folds.end());
  EXPECT_EQ(static_cast<int64_t>(used.size()), n_splits[0]);
}

INSTANTIATE_TEST_SUITE_P(Cohorts, SplitsGoldenTest,
                         ::testing::Values("rare", "common", "three_classes"));

TEST(SplitsTest, RejectsBadArguments) {
  const std::vector<int> labels = {0, 1, 0, 1};
  const std::vector<std::string> groups = {"a", "b", "c", "d"};
  EXPECT_THAT(StratifiedGroupKFold(labels, groups, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("n_splits")));
  EXPECT_THAT(StratifiedGroupKFold(labels, {"a", "b"}, 2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("labels")));
  const std::vector<int> six = {0, 0, 0, 1, 1, 1};
  EXPECT_THAT(StratifiedGroupKFold(six, {"a", "a", "b", "b", "a", "b"}, 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("groups")));
}

}  // namespace
}  // namespace mammovl::mil
