#include "core/torch_save.h"

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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
using Kind = PickleValue::Kind;

std::vector<std::string> Keys(const PickleValue& dict) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : dict.dict_items())
    keys.push_back(k->string_value());
  return keys;
}

// Checks that the tensors in `dict` are exactly the expected ones, in order,
// with the expected bytes.
void ExpectDictMatches(const TorchSaveFile& file, const PickleValue& dict,
                       const std::string& fixture,
                       const std::string& strip_prefix = "") {
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ExpectedTensor> expected,
                           ReadExpectedTensors(fixture));
  ASSERT_TRUE(dict.is_dict());
  std::vector<std::pair<const PickleValue*, const PickleValue*>> items;
  for (const auto& item : dict.dict_items()) {
    if (item.second->is_tensor()) items.push_back(item);
  }
  ASSERT_EQ(items.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& [key, value] = items[i];
    EXPECT_EQ(key->string_value(), strip_prefix + expected[i].key);
    ASSERT_TRUE(value->is_tensor()) << expected[i].key;
    EXPECT_TRUE(TensorMatches(file.tensor(*value), expected[i]));
  }
}

TEST(TorchSaveTest, ReadsPlainStateDictWithEveryDtype) {
  const std::string path = TestDataPath("plain_state_dict.pt");
  MVL_ASSERT_OK_AND_ASSIGN(TorchSaveFile file, ReadTorchSave(path));
  EXPECT_EQ(file.path(), path);
  EXPECT_EQ(file.archive_name(), "plain_state_dict");
  ExpectDictMatches(file, file.root(), "plain_state_dict.pt");
  EXPECT_THAT(file.tensor_paths(),
              ElementsAre("f32", "f16", "bf16", "f64", "i64", "i32", "i16",
                          "i8", "u8", "bool"));
  EXPECT_EQ(file.root().Find("version")->int_value(), 3);
  // The OrderedDict's _metadata attribute is kept as its state.
  ASSERT_NE(file.root().state(), nullptr);
  EXPECT_NE(file.root().state()->Find("_metadata"), nullptr);
  for (const at::Tensor& t : file.tensors()) {
    EXPECT_FALSE(t.requires_grad());
    EXPECT_TRUE(t.device().is_cpu());
  }
}

TEST(TorchSaveTest, ReadsMammoClipCheckpointWithOpaqueConfig) {
  MVL_ASSERT_OK_AND_ASSIGN(TorchSaveFile file,
                           ReadTorchSave(TestDataPath("mammoclip_b2.tar")));
  const PickleValue& root = file.root();
  EXPECT_THAT(Keys(root),
              ElementsAre("model", "optimizer", "scheduler", "config",
                          "train_config", "epoch", "train_loss"));
  ExpectDictMatches(file, *root.Find("model"), "mammoclip_b2.tar");
  EXPECT_EQ(root.Find("epoch")->int_value(), 3);
  EXPECT_EQ(root.Find("train_loss")->float_value(), 0.4375);

  const PickleValue& config = *root.Find("config");
  EXPECT_EQ(config.kind(), Kind::kObject);
  EXPECT_EQ(config.qualified_name(), "omegaconf.dictconfig.DictConfig");
  ASSERT_EQ(config.dict_items().size(), 2u);
  EXPECT_EQ(config.dict_items()[0].first->string_value(), "model");
  const PickleValue& train_config = *root.Find("train_config");
  EXPECT_EQ(train_config.qualified_name(), "__main__.TrainConfig");
  EXPECT_EQ(train_config.state()->Find("lr")->float_value(), 5e-5);

  // Optimizer state tensors are rebuilt too, with their key paths.
  const PickleValue* exp_avg = root.Find("optimizer")
                                   ->Find("state")
                                   ->dict_items()[0]
                                   .second->Find("exp_avg");
  ASSERT_NE(exp_avg, nullptr);
  ASSERT_TRUE(exp_avg->is_tensor());
  EXPECT_EQ(file.tensor_paths()[exp_avg->index()], "optimizer/state/0/exp_avg");
  EXPECT_EQ(file.tensor(*exp_avg).sizes(), (std::vector<int64_t>{4, 3, 3, 3}));

  const std::string text = FormatPickleValue(root);
  EXPECT_THAT(text,
              HasSubstr("'config': <opaque omegaconf.dictconfig.DictConfig>"));
  EXPECT_THAT(text, HasSubstr("'train_config': <opaque __main__.TrainConfig>"));
}

TEST(TorchSaveTest, ReadsLightningCheckpoint) {
  MVL_ASSERT_OK_AND_ASSIGN(TorchSaveFile file,
                           ReadTorchSave(TestDataPath("lightning.ckpt")));
  const PickleValue& root = file.root();
  ExpectDictMatches(file, *root.Find("state_dict"), "lightning.ckpt");
  EXPECT_EQ(root.Find("pytorch-lightning_version")->string_value(), "1.9.0");
  EXPECT_EQ(root.Find("epoch")->int_value(), 1);
  const PickleValue& args = *root.Find("hyper_parameters")->Find("args");
  EXPECT_EQ(args.qualified_name(), "argparse.Namespace");
  EXPECT_EQ(args.state()->Find("dataset")->string_value(), "EMBED");
}

TEST(TorchSaveTest, ViewsShareOneStorage) {
  MVL_ASSERT_OK_AND_ASSIGN(TorchSaveFile file,
                           ReadTorchSave(TestDataPath("views.pt")));
  EXPECT_EQ(file.archive_name(), "archive");  // saved through a buffer
  ExpectDictMatches(file, file.root(), "views.pt");
  auto get = [&](const char* key) {
    return file.tensor(*file.root().Find(key));
  };

  const at::Tensor base = get("base");
  const at::Tensor transposed = get("transposed");
  EXPECT_EQ(transposed.data_ptr(), base.data_ptr());
  EXPECT_EQ(transposed.strides(), (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(get("rows_1_2").storage_offset(), 4);
  EXPECT_EQ(get("rows_1_2").storage().data(), base.storage().data());
  EXPECT_EQ(get("column_2").storage_offset(), 2);
  EXPECT_EQ(get("column_2").strides(), (std::vector<int64_t>{4}));
  EXPECT_EQ(get("expanded").strides(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(get("expanded").storage().data(), get("vec").storage().data());
  EXPECT_EQ(get("every_other").storage_offset(), 1);
  EXPECT_EQ(get("every_other").strides(), (std::vector<int64_t>{2}));
  EXPECT_TRUE(get("param").requires_grad());
  EXPECT_EQ(get("scalar").dim(), 0);
  EXPECT_EQ(get("empty").numel(), 0);

  // One storage: writing through the base shows in the transpose.
  static_cast<float*>(base.data_ptr())[1] = 42.0f;
  EXPECT_EQ(static_cast<const float*>(transposed.data_ptr())[1], 42.0f);
}

TEST(TorchSaveTest, TensorsOutliveTheFile) {
  const std::string path = TempPath("outlive.pt");
  MVL_ASSERT_OK_AND_ASSIGN(
      std::string bytes, ReadFileToString(TestDataPath("plain_state_dict.pt")));
  MVL_ASSERT_OK(WriteFileAtomically(path, bytes));
  at::Tensor kept;
  {
    MVL_ASSERT_OK_AND_ASSIGN(TorchSaveFile file, ReadTorchSave(path));
    kept = file.tensors()[0];
  }
  ASSERT_EQ(std::remove(path.c_str()), 0);
  MVL_ASSERT_OK_AND_ASSIGN(std::vector<ExpectedTensor> expected,
                           ReadExpectedTensors("plain_state_dict.pt"));
  EXPECT_TRUE(TensorMatches(kept, expected[0]));
}

TEST(TorchSaveTest, ReadsZip64AndDeflatedArchives) {
  for (const char* name : {"zip64_state_dict.pt", "deflated_state_dict.pt"}) {
    MVL_ASSERT_OK_AND_ASSIGN(TorchSaveFile file,
                             ReadTorchSave(TestDataPath(name)));
    ExpectDictMatches(file, file.root(), name);
  }
}

TEST(TorchSaveTest, DdpKeysAreKeptAsSaved) {
  MVL_ASSERT_OK_AND_ASSIGN(TorchSaveFile file,
                           ReadTorchSave(TestDataPath("ddp_state_dict.pt")));
  ExpectDictMatches(file, file.root(), "ddp_state_dict.pt", "module.");
}

// --- Bad input ---------------------------------------------------------------

TEST(TorchSaveTest, TensorLargerThanStorageIsDataLoss) {
  const std::string path = TestDataPath("bad_tensor_exceeds_storage.pt");
  EXPECT_THAT(ReadTorchSave(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(path), HasSubstr("'encoder.weight'"),
                             HasSubstr("needs 100 elements"),
                             HasSubstr("storage holds 4"))));
}

TEST(TorchSaveTest, StridesPastStorageAreDataLoss) {
  const std::string path = TestDataPath("bad_stride_exceeds_storage.pt");
  EXPECT_THAT(
      ReadTorchSave(path),
      StatusIs(absl::StatusCode::kDataLoss,
               AllOf(HasSubstr(path), HasSubstr("'encoder.weight'"),
                     HasSubstr("needs 6 elements"), HasSubstr("stride [3, 1]"),
                     HasSubstr("storage holds 4"))));
}

TEST(TorchSaveTest, UnsupportedOpcodeIsInvalidArgument) {
  const std::string path = TestDataPath("bad_opcode.pt");
  EXPECT_THAT(ReadTorchSave(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("data.pkl"),
                             HasSubstr("0x82"), HasSubstr("offset 2"))));
}

TEST(TorchSaveTest, ShortStorageRecordIsDataLoss) {
  const std::string path = TestDataPath("bad_short_storage.pt");
  EXPECT_THAT(ReadTorchSave(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(path), HasSubstr("data/0"),
                             HasSubstr("holds 4 bytes"), HasSubstr("need 8"))));
}

TEST(TorchSaveTest, BigEndianFileIsUnimplemented) {
  const std::string path = TestDataPath("bad_big_endian.pt");
  EXPECT_THAT(ReadTorchSave(path),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr(path), HasSubstr("big-endian"))));
}

TEST(TorchSaveTest, LegacyFormatIsUnimplemented) {
  const std::string path = TestDataPath("legacy_format.pt");
  EXPECT_THAT(ReadTorchSave(path),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr(path), HasSubstr("legacy format"))));
}

TEST(TorchSaveTest, EmptyFileIsInvalidArgument) {
  const std::string path = TempPath("zero.pt");
  MVL_ASSERT_OK(WriteFileAtomically(path, ""));
  EXPECT_THAT(ReadTorchSave(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("not a zip archive"))));
}

TEST(TorchSaveTest, WrongMagicIsInvalidArgument) {
  const std::string path = TempPath("magic.pt");
  MVL_ASSERT_OK(WriteFileAtomically(path, std::string(300, 'M')));
  EXPECT_THAT(ReadTorchSave(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("not a zip archive"))));
}

TEST(TorchSaveTest, MissingFileIsNotFound) {
  EXPECT_THAT(ReadTorchSave("/nonexistent/model.pt"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("/nonexistent/model.pt")));
}

TEST(TorchSaveTest, TruncatedFileIsRejected) {
  MVL_ASSERT_OK_AND_ASSIGN(
      std::string bytes, ReadFileToString(TestDataPath("plain_state_dict.pt")));
  const std::string path = TempPath("truncated.pt");
  for (size_t keep :
       {size_t{0}, size_t{10}, bytes.size() / 2, bytes.size() - 1}) {
    MVL_ASSERT_OK(WriteFileAtomically(path, bytes.substr(0, keep)));
    const auto file = ReadTorchSave(path);
    ASSERT_FALSE(file.ok()) << keep;
    EXPECT_THAT(file.status().message(), HasSubstr(path));
  }
}

TEST(TorchSaveTest, RandomCorruptionNeverCrashes) {
  MVL_ASSERT_OK_AND_ASSIGN(std::string good,
                           ReadFileToString(TestDataPath("views.pt")));
  const std::string path = TempPath("fuzz.pt");
  uint32_t seed = 99;
  for (int round = 0; round < 200; ++round) {
    std::string bytes = good;
    for (int k = 0; k < 2; ++k) {
      seed = seed * 1103515245u + 12345u;
      bytes[(seed >> 8) % bytes.size()] = static_cast<char>(seed >> 24);
    }
    MVL_ASSERT_OK(WriteFileAtomically(path, bytes));
    (void)ReadTorchSave(path);
  }
}

}  // namespace
}  // namespace mammovl::core
