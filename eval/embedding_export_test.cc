#include "eval/embedding_export.h"

#include <ATen/ATen.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "data/dicom/pseudonym.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::eval {
namespace {

using ::testing::ElementsAre;
using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp ? tmp : "/tmp") + "/" + name;
}

std::vector<data::Sample> Samples() {
  std::vector<data::Sample> samples(3);
  for (int i = 0; i < 3; ++i) {
    samples[i].id = absl::StrCat("img", i);
    samples[i].patient_id = absl::StrCat("PAT-", i / 2);
    samples[i].laterality = i % 2 ? "L" : "R";
    samples[i].images.push_back({"/x.png", "img", i ? "MLO" : "CC", "R"});
    if (i != 1) samples[i].labels["mass"] = static_cast<float>(i % 2 == 0);
  }
  return samples;
}

TEST(EmbeddingExportTest, RoundTripAndNumpyLoadsIt) {
  at::manual_seed(0);
  const at::Tensor emb = at::randn({3, 5});
  const std::vector<data::Sample> samples = Samples();
  std::vector<const data::Sample*> ptrs;
  for (const auto& s : samples) ptrs.push_back(&s);
  const EmbeddingIndex index = SampleIndex(ptrs, {"mass"}, "salt");
  EXPECT_THAT(index.columns, ElementsAre("sample", "patient", "laterality", "view", "mass"));
  EXPECT_THAT(index.rows[1], ElementsAre(data::Pseudonymize("salt", "img1"),
                                         data::Pseudonymize("salt", "PAT-0"), "L",
                                         "MLO", ""));
  EXPECT_EQ(index.rows[0][4], "1");
  const std::string dir = TempDir("emb");
  MVL_ASSERT_OK(WriteEmbeddings(dir, "images", emb, index));
  MVL_ASSERT_OK_AND_ASSIGN(std::string csv, core::ReadFileToString(dir + "/images_index.csv"));
  EXPECT_THAT(csv, ::testing::Not(HasSubstr("PAT-")));

  MVL_ASSERT_OK_AND_ASSIGN(LoadedEmbeddings loaded, ReadEmbeddings(dir, "images"));
  EXPECT_TRUE(at::equal(loaded.embeddings, emb));
  EXPECT_EQ(loaded.index.columns, index.columns);
  EXPECT_EQ(loaded.index.rows, index.rows);

  const std::string command = absl::StrCat(
      "/usr/bin/python3 eval/embedding_export_check.py ", dir, " images 3 5 ",
      absl::StrFormat("%.9g", emb[0][0].item<float>()));
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST(EmbeddingExportTest, Errors) {
  const std::string dir = TempDir("bad");
  EmbeddingIndex index{{"a"}, {{"1"}, {"2"}}};
  EXPECT_THAT(WriteEmbeddings(dir, "x", at::zeros({3, 2}), index),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 rows")));
  EXPECT_THAT(WriteEmbeddings(dir, "x", at::zeros({2}), index),
              StatusIs(absl::StatusCode::kInvalidArgument));
  at::Tensor nan = at::zeros({2, 2});
  nan[0][0] = NAN;
  EXPECT_THAT(WriteEmbeddings(dir, "x", nan, index),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-finite")));
  index.rows[1].push_back("extra");
  EXPECT_THAT(WriteEmbeddings(dir, "x", at::zeros({2, 2}), index),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("row 1")));
  EXPECT_THAT(ReadEmbeddings(dir, "missing"), StatusIs(absl::StatusCode::kNotFound));
  // Index and matrix that disagree.
  MVL_ASSERT_OK(WriteEmbeddings(dir, "y", at::zeros({2, 2}), EmbeddingIndex{{"a"}, {{"1"}, {"2"}}}));
  MVL_ASSERT_OK(core::WriteFileAtomically(dir + "/y_index.csv", "row,a\n0,1\n"));
  EXPECT_THAT(ReadEmbeddings(dir, "y"), StatusIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace mammovl::eval
