#include "core/state_dict.h"

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
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

std::vector<std::string> Names(const StateDict& sd) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : sd) names.push_back(name);
  return names;
}

class FixtureTest : public ::testing::TestWithParam<const char*> {};

// Every loadable fixture gives exactly the tensors the generator recorded.
TEST_P(FixtureTest, LoadsExpectedTensors) {
  const std::string name = GetParam();
  MVL_ASSERT_OK_AND_ASSIGN(StateDict sd, LoadStateDict(TestDataPath(name)));
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ExpectedTensor> expected,
                           ReadExpectedTensors(name));
  ASSERT_EQ(sd.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(sd[i].first, expected[i].key);
    EXPECT_TRUE(TensorMatches(sd[i].second, expected[i]));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureTest,
                         ::testing::Values("plain_state_dict.pt",
                                           "mammoclip_b2.tar", "lightning.ckpt",
                                           "views.pt", "ddp_state_dict.pt",
                                           "zip64_state_dict.pt",
                                           "deflated_state_dict.pt",
                                           "all_dtypes.safetensors"));

TEST(StateDictTest, SelectsImageEncoderOfMammoClip) {
  MVL_ASSERT_OK_AND_ASSIGN(
      StateDict sd,
      LoadStateDict(TestDataPath("mammoclip_b2.tar"), "image_encoder."));
  EXPECT_THAT(Names(sd),
              ElementsAre("_conv_stem.weight", "_bn0.weight",
                          "_bn0.running_mean", "_bn0.num_batches_tracked",
                          "_blocks.0._depthwise_conv.weight"));
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ExpectedTensor> expected,
                           ReadExpectedTensors("mammoclip_b2.tar"));
  EXPECT_TRUE(TensorMatches(sd[0].second, expected[0]));
}

TEST(StateDictTest, SelectsLightningModelAndDdpPrefixes) {
  MVL_ASSERT_OK_AND_ASSIGN(
      StateDict lightning,
      LoadStateDict(TestDataPath("lightning.ckpt"), "model.encoder."));
  EXPECT_THAT(Names(lightning),
              ElementsAre("patch_embed.proj.weight", "patch_embed.proj.bias",
                          "cls_token"));
  // "module." is gone before the prefix applies.
  MVL_ASSERT_OK_AND_ASSIGN(
      StateDict ddp,
      LoadStateDict(TestDataPath("ddp_state_dict.pt"), "classifier."));
  EXPECT_THAT(Names(ddp), ElementsAre("weight", "bias"));
}

TEST(StateDictTest, PrefixWorksOnSafetensors) {
  MVL_ASSERT_OK_AND_ASSIGN(
      StateDict sd,
      LoadStateDict(TestDataPath("all_dtypes.safetensors"), "f32_"));
  EXPECT_THAT(Names(sd), ElementsAre("empty", "scalar"));
  EXPECT_EQ(sd[1].second.dim(), 0);
}

TEST(StateDictTest, UnmatchedPrefixIsNotFoundAndListsNames) {
  const std::string path = TestDataPath("mammoclip_b2.tar");
  EXPECT_THAT(LoadStateDict(path, "visual."),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr(path), HasSubstr("'visual.'"),
                             HasSubstr("'image_encoder._conv_stem.weight'"),
                             HasSubstr("(10 in all)"))));
}

TEST(StateDictTest, FileWithoutTensorsIsNotFound) {
  const std::string path = TestDataPath("no_tensors.pt");
  EXPECT_THAT(LoadStateDict(path),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr(path), HasSubstr("no state dict"),
                             HasSubstr("'epoch', 'config', 'note'"))));
}

TEST(StateDictTest, WrittenStateDictLoadsBack) {
  MVL_ASSERT_OK_AND_ASSIGN(
      StateDict sd,
      LoadStateDict(TestDataPath("mammoclip_b2.tar"), "image_encoder."));
  const std::string path = TempPath("image_encoder.safetensors");
  MVL_ASSERT_OK(WriteStateDict(path, sd));
  MVL_ASSERT_OK_AND_ASSIGN(StateDict back, LoadStateDict(path));
  // Safetensors order: int64 first, then float32 by name.
  EXPECT_THAT(Names(back), ElementsAre("_bn0.num_batches_tracked",
                                       "_blocks.0._depthwise_conv.weight",
                                       "_bn0.running_mean", "_bn0.weight",
                                       "_conv_stem.weight"));
  std::map<std::string, std::string> want, got;
  for (const auto& [name, t] : sd) want[name] = TensorBytes(t);
  for (const auto& [name, t] : back) got[name] = TensorBytes(t);
  EXPECT_EQ(got, want);
}

TEST(StateDictTest, EmptyFileIsInvalidArgument) {
  const std::string path = TempPath("empty.ckpt");
  MVL_ASSERT_OK(WriteFileAtomically(path, ""));
  EXPECT_THAT(LoadStateDict(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("empty"))));
}

TEST(StateDictTest, UnknownFormatIsInvalidArgument) {
  const std::string path = TempPath("image.png");
  MVL_ASSERT_OK(WriteFileAtomically(path, "\x89PNG\r\n\x1a\n and more bytes"));
  EXPECT_THAT(LoadStateDict(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path),
                             HasSubstr("neither a torch.save zip archive nor a "
                                       "safetensors file"))));
}

TEST(StateDictTest, TruncatedTorchSaveNamesTheFile) {
  MVL_ASSERT_OK_AND_ASSIGN(std::string bytes,
                           ReadFileToString(TestDataPath("lightning.ckpt")));
  const std::string path = TempPath("truncated.ckpt");
  MVL_ASSERT_OK(WriteFileAtomically(path, bytes.substr(0, bytes.size() / 2)));
  EXPECT_THAT(LoadStateDict(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("truncated"))));
}

TEST(StateDictTest, BadFixturesKeepTheirErrors) {
  EXPECT_THAT(
      LoadStateDict(TestDataPath("bad_tensor_exceeds_storage.pt")),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("encoder.weight")));
  EXPECT_THAT(LoadStateDict(TestDataPath("bad_overlap.safetensors")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("overlap")));
  EXPECT_THAT(LoadStateDict(TestDataPath("legacy_format.pt")),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("legacy")));
  EXPECT_THAT(
      LoadStateDict("/nonexistent/x.pt"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/x.pt")));
}

}  // namespace
}  // namespace mammovl::core
