#include "core/status_macros.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::HasSubstr;

absl::Status FailIf(bool fail) {
  return fail ? absl::DataLossError("broken") : absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<int>> MakeInt(int value) {
  if (value < 0) return absl::InvalidArgumentError("negative");
  return std::make_unique<int>(value);
}

int calls = 0;
absl::Status CountedFailure() {
  ++calls;
  return absl::InternalError("counted");
}

absl::Status UsesReturnIfError(bool fail, bool* reached_end) {
  MVL_RETURN_IF_ERROR(FailIf(fail));
  *reached_end = true;
  return absl::OkStatus();
}

absl::StatusOr<int> UsesAssignOrReturn(int value) {
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<int> ptr, MakeInt(value));
  int doubled = 0;
  MVL_ASSIGN_OR_RETURN(auto again, MakeInt(*ptr * 2));
  doubled = *again;
  return doubled;
}

TEST(StatusMacrosTest, ReturnIfErrorPassesOkThrough) {
  bool reached = false;
  MVL_EXPECT_OK(UsesReturnIfError(false, &reached));
  EXPECT_TRUE(reached);
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsFirstError) {
  bool reached = false;
  EXPECT_THAT(UsesReturnIfError(true, &reached),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("broken")));
  EXPECT_FALSE(reached);
}

TEST(StatusMacrosTest, ReturnIfErrorEvaluatesOnce) {
  calls = 0;
  auto f = []() -> absl::Status {
    MVL_RETURN_IF_ERROR(CountedFailure());
    return absl::OkStatus();
  };
  EXPECT_FALSE(f().ok());
  EXPECT_EQ(calls, 1);
}

TEST(StatusMacrosTest, ReturnIfErrorAcceptsStatusOr) {
  auto f = [](int v) -> absl::Status {
    MVL_RETURN_IF_ERROR(MakeInt(v));
    return absl::OkStatus();
  };
  MVL_EXPECT_OK(f(1));
  EXPECT_THAT(f(-1), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StatusMacrosTest, AssignOrReturnMovesValue) {
  MVL_ASSERT_OK_AND_ASSIGN(int value, UsesAssignOrReturn(21));
  EXPECT_EQ(value, 42);
}

TEST(StatusMacrosTest, AssignOrReturnPropagatesError) {
  EXPECT_THAT(UsesAssignOrReturn(-3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
}

}  // namespace
}  // namespace mammovl::core
