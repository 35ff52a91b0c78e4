#include "core/safetensors.h"

#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

#include "core/checkpoint_test_util.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Tensors = std::vector<std::pair<std::string, at::Tensor>>;

TEST(SafetensorsTest, LoadsEveryDtypeExactly) {
  const std::string path = TestDataPath("all_dtypes.safetensors");
  MVL_ASSERT_OK_AND_ASSIGN(SafetensorsFile file, SafetensorsFile::Open(path));
  EXPECT_EQ(file.path(), path);
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ExpectedTensor> expected,
                           ReadExpectedTensors("all_dtypes.safetensors"));
  const std::vector<std::string> names = file.names();
  ASSERT_EQ(names.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(names[i], expected[i].key);
    MVL_ASSERT_OK_AND_ASSIGN(at::Tensor t, file.Load(names[i]));
    EXPECT_TRUE(TensorMatches(t, expected[i]));
  }
  EXPECT_EQ(file.metadata().at("format"), "pt");
  ASSERT_NE(file.info("bf16"), nullptr);
  EXPECT_EQ(file.info("bf16")->dtype, SafetensorsDtype::kBF16);
  EXPECT_THAT(file.info("bf16")->shape, ElementsAre(5, 2));
  EXPECT_EQ(file.info("nope"), nullptr);
}

TEST(SafetensorsTest, MissingTensorIsNotFound) {
  const std::string path = TestDataPath("all_dtypes.safetensors");
  MVL_ASSERT_OK_AND_ASSIGN(SafetensorsFile file, SafetensorsFile::Open(path));
  EXPECT_THAT(file.Load("image_encoder.x"),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr(path), HasSubstr("'image_encoder.x'"))));
}

TEST(SafetensorsTest, LoadedTensorsOutliveTheFile) {
  at::Tensor kept;
  {
    MVL_ASSERT_OK_AND_ASSIGN(
        SafetensorsFile file,
        SafetensorsFile::Open(TestDataPath("all_dtypes.safetensors")));
    MVL_ASSERT_OK_AND_ASSIGN(kept, file.Load("f64"));
  }
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ExpectedTensor> expected,
                           ReadExpectedTensors("all_dtypes.safetensors"));
  EXPECT_TRUE(TensorMatches(kept, expected[1]));
}

TEST(SafetensorsTest, RewritingTheFixtureReproducesItsData) {
  const std::string source = TestDataPath("all_dtypes.safetensors");
  MVL_ASSERT_OK_AND_ASSIGN(SafetensorsFile in, SafetensorsFile::Open(source));
  Tensors tensors;
  // Reversed input order: the writer sorts.
  std::vector<std::string> names = in.names();
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    MVL_ASSERT_OK_AND_ASSIGN(at::Tensor t, in.Load(*it));
    tensors.emplace_back(*it, t);
  }
  const std::string path = TempPath("rewritten.safetensors");
  MVL_ASSERT_OK(WriteSafetensors(path, tensors, in.metadata()));

  MVL_ASSERT_OK_AND_ASSIGN(std::string original, ReadFileToString(source));
  MVL_ASSERT_OK_AND_ASSIGN(std::string written, ReadFileToString(path));
  MVL_ASSERT_OK_AND_ASSIGN(SafetensorsHeader a,
                           ParseSafetensorsHeader(original, source));
  MVL_ASSERT_OK_AND_ASSIGN(SafetensorsHeader b,
                           ParseSafetensorsHeader(written, path));
  EXPECT_EQ(original.substr(a.data_start), written.substr(b.data_start));
  EXPECT_EQ(b.metadata, a.metadata);
  EXPECT_EQ(b.data_start % 8, 0u);
  // The header lists tensors in data order, after the metadata.
  EXPECT_EQ(written.substr(8, 16), "{\"__metadata__\":");
  EXPECT_LT(written.find("\"i64\""), written.find("\"f64\""));
  EXPECT_LT(written.find("\"u8\""), written.find("\"bool\""));
}

TEST(SafetensorsTest, WritesViewsAndParametersAsPlainData) {
  const at::Tensor base = at::arange(12, at::kFloat).reshape({3, 4});
  const at::Tensor param = at::ones({2}).set_requires_grad(true);
  const Tensors tensors = {
      {"transposed", base.t()},
      {"column", base.select(1, 2)},
      {"expanded", at::arange(4, at::kHalf).expand({3, 4})},
      {"scalar", at::scalar_tensor(2.5, at::kDouble)},
      {"empty", at::zeros({0, 3}, at::kLong)},
      {"param", param},
      {"mask", at::arange(3) != 1},
  };
  const std::string path = TempPath("views.safetensors");
  MVL_ASSERT_OK(WriteSafetensors(path, tensors));
  MVL_ASSERT_OK_AND_ASSIGN(SafetensorsFile file, SafetensorsFile::Open(path));
  EXPECT_TRUE(file.metadata().empty());
  for (const auto& [name, tensor] : tensors) {
    MVL_ASSERT_OK_AND_ASSIGN(at::Tensor back, file.Load(name));
    EXPECT_EQ(back.sizes(), tensor.sizes()) << name;
    EXPECT_EQ(back.scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(back.is_contiguous()) << name;
    EXPECT_EQ(TensorBytes(back), TensorBytes(tensor)) << name;
  }
}

TEST(SafetensorsTest, InvalidTensorsAreRejectedAndLeaveNoFile) {
  const std::string path = TempPath("invalid.safetensors");
  MVL_ASSERT_OK(WriteFileAtomically(path, "previous"));
  const at::Tensor ok = at::zeros({2});
  struct Case {
    Tensors tensors;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"a", ok}, {"a", ok}}, "tensor 'a' appears twice"},
      {{{"__metadata__", ok}}, "tensor '__metadata__' has a reserved name"},
      {{{"u", at::Tensor()}}, "tensor 'u' is undefined"},
      {{{"c", at::zeros({2}, at::kComplexFloat)}},
       "tensor 'c' has dtype ComplexFloat"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(WriteSafetensors(path, c.tensors),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(path), HasSubstr(c.message))));
  }
  MVL_ASSERT_OK_AND_ASSIGN(std::string content, ReadFileToString(path));
  EXPECT_EQ(content, "previous");
  EXPECT_THAT(
      WriteSafetensors("/nonexistent/dir/x.safetensors", {{"a", ok}}),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/dir")));
}

TEST(SafetensorsTest, BoolBytesOtherThanZeroOrOneAreDataLoss) {
  const std::string path = TempPath("bool.safetensors");
  MVL_ASSERT_OK(WriteSafetensors(path, {{"mask", at::arange(2) == 0}}));
  MVL_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFileToString(path));
  bytes.back() = 2;
  MVL_ASSERT_OK(WriteFileAtomically(path, bytes));
  MVL_ASSERT_OK_AND_ASSIGN(SafetensorsFile file, SafetensorsFile::Open(path));
  EXPECT_THAT(file.Load("mask"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(path), HasSubstr("'mask'"),
                             HasSubstr("element 1 has the value 2"))));
}

TEST(SafetensorsTest, BadFilesFailToOpen) {
  const std::string overlap = TestDataPath("bad_overlap.safetensors");
  EXPECT_THAT(SafetensorsFile::Open(overlap),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(overlap), HasSubstr("overlap"))));
  const std::string range = TestDataPath("bad_out_of_range.safetensors");
  EXPECT_THAT(SafetensorsFile::Open(range),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(range), HasSubstr("out of range"))));
  const std::string empty = TempPath("empty.safetensors");
  MVL_ASSERT_OK(WriteFileAtomically(empty, ""));
  EXPECT_THAT(
      SafetensorsFile::Open(empty),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr(empty), HasSubstr("not a safetensors file"))));
  EXPECT_THAT(SafetensorsFile::Open("/nonexistent/a.safetensors"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace mammovl::core
