#include "data/synth/synth.h"

#include <dirent.h>
#include <sys/stat.h>

#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "data/datasets/csv.h"
#include "data/datasets/py_literal.h"
#include "data/synth/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

// Relative path -> content of every file under `root`.
void ReadTree(const std::string& root, const std::string& rel, std::map<std::string, std::string>* out) {
  DIR* dir = opendir((root + "/" + rel).c_str());
  ASSERT_NE(dir, nullptr) << root << "/" << rel;
  while (dirent* e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string sub = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    ASSERT_EQ(stat((root + "/" + sub).c_str(), &st), 0);
    if (S_ISDIR(st.st_mode)) {
      ReadTree(root, sub, out);
    } else {
      absl::StatusOr<std::string> content = core::ReadFileToString(root + "/" + sub);
      ASSERT_TRUE(content.ok()) << content.status();
      (*out)[sub] = *content;
    }
  }
  closedir(dir);
}

SynthConfig Tiny(int threads) {
  SynthConfig c;
  c.set_preset(SynthConfig::TINY);
  c.set_num_patients(6);
  c.set_num_threads(threads);
  return c;
}

TEST(SynthTest, SameSeedGivesByteIdenticalFilesWhateverTheThreads) {
  const std::string a = absl::StrCat(::testing::TempDir(), "/corpus_a");
  const std::string b = absl::StrCat(::testing::TempDir(), "/corpus_b");
  MVL_ASSERT_OK_AND_ASSIGN(const SynthSummary sa, GenerateCorpus(Tiny(1), a));
  MVL_ASSERT_OK_AND_ASSIGN(const SynthSummary sb, GenerateCorpus(Tiny(2), b));
  EXPECT_EQ(sb.dicom_bytes, sa.dicom_bytes);
  EXPECT_EQ(sa.images, 24);
  EXPECT_GT(sa.dicom_bytes, 0);
  std::map<std::string, std::string> ta, tb;
  ReadTree(a, "", &ta);
  ReadTree(b, "", &tb);
  ASSERT_EQ(ta.size(), tb.size());
  for (const auto& [path, content] : ta) {
    if (path == "synth_config.pbtxt") continue;  // records num_threads
    ASSERT_TRUE(tb.count(path)) << path;
    EXPECT_TRUE(content == tb[path]) << path << " differs";
  }
  // 24 DICOM + 24 PNG + config + 19 tables.
  EXPECT_EQ(ta.size(), 24u + 24u + 1u + 19u);

  SynthConfig other = Tiny(2);
  other.set_seed(7);
  const std::string c = absl::StrCat(::testing::TempDir(), "/corpus_c");
  MVL_ASSERT_OK(GenerateCorpus(other, c).status());
  std::map<std::string, std::string> tc;
  ReadTree(c, "", &tc);
  int dicom_files = 0;
  for (const auto& [path, content] : tc) {
    if (absl::EndsWith(path, ".dcm")) {
      ++dicom_files;
      EXPECT_EQ(ta.count(path), 0u) << "ids should change with the seed: " << path;
    }
  }
  EXPECT_EQ(dicom_files, 24);
}

TEST(SynthTest, TablesAgreeWithEachOther) {
  const std::string root = absl::StrCat(::testing::TempDir(), "/corpus_t");
  SynthConfig config = Tiny(2);
  config.set_num_patients(10);
  MVL_ASSERT_OK(GenerateCorpus(config, root).status());
  auto read = [&](const std::string& rel) {
    absl::StatusOr<CsvTable> t = ReadCsv(absl::StrCat(root, "/tables/", rel));
    EXPECT_TRUE(t.ok()) << t.status();
    EXPECT_TRUE(t->issues.empty()) << rel;
    return *t;
  };
  const CsvTable images = read("synth/images.csv");
  const CsvTable findings = read("synth/findings.csv");
  EXPECT_EQ(images.rows.size(), 40u);
  EXPECT_EQ(read("vindr/breast-level_annotations.csv").rows.size(), 40u);
  EXPECT_EQ(read("vindr/vindrmammo_grouped_df.csv").rows.size(), 40u);
  EXPECT_EQ(read("rsna/train.csv").rows.size(), 40u);
  EXPECT_EQ(read("embed/EMBED_OpenData_metadata.csv").rows.size(), 40u);
  EXPECT_EQ(read("mammoclip/clip_pretrain.csv").rows.size(), 20u);
  EXPECT_EQ(read("vindr/clip_vindr_final.csv").rows.size(), 20u);
  // One VinDr finding row per box, plus one "No Finding" row per image
  // without boxes; the detector CSV has the same rows.
  int images_without = 0;
  std::map<std::string, int> boxes_per_image;
  for (const auto& row : findings.rows) ++boxes_per_image[row[1]];
  for (const auto& row : images.rows) images_without += boxes_per_image.count(row[2]) == 0;
  const size_t expected = findings.rows.size() + images_without;
  EXPECT_EQ(read("vindr/finding_annotations.csv").rows.size(), expected);
  EXPECT_EQ(read("vindr/vindr_detection_v1_folds.csv").rows.size(), expected);
  const size_t cbis = read("cbis/mass_case_description_train_set.csv").rows.size() +
                      read("cbis/mass_case_description_test_set.csv").rows.size() +
                      read("cbis/calc_case_description_train_set.csv").rows.size() +
                      read("cbis/calc_case_description_test_set.csv").rows.size();
  EXPECT_EQ(cbis, findings.rows.size());
  // Every file the ground truth names exists.
  const int dicom_col = images.FindColumn("dicom_path");
  const int png_col = images.FindColumn("png_path");
  for (const auto& row : images.rows) {
    EXPECT_TRUE(core::PathExists(absl::StrCat(root, "/dicom/", row[dicom_col])));
    EXPECT_TRUE(core::PathExists(absl::StrCat(root, "/png/", row[png_col])));
  }
}

TEST(SynthTest, BadConfigWritesNothing) {
  SynthConfig c = Tiny(1);
  c.set_columns(5);
  const std::string root = absl::StrCat(::testing::TempDir(), "/corpus_bad");
  EXPECT_THAT(GenerateCorpus(c, root), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("columns")));
  EXPECT_FALSE(core::PathExists(root));
}

// Mammo-CLIP's table holds the paraphrased sections at the same positions as
// the report's own (`text_augment[i]` rewrites `text[i]`); a report whose
// paraphrase lacks a section must still give lists of equal length, or the
// adapter drops the row.
TEST(SynthTest, MammoClipTextAndAugmentedTextAlign) {
  SynthConfig c;
  c.set_preset(SynthConfig::TINY);
  c.set_num_patients(400);
  c.set_rows(64);  // only the tables matter here
  c.set_columns(64);
  c.mutable_outputs()->set_png_width(64);
  c.mutable_outputs()->set_png_height(64);
  c.mutable_outputs()->set_write_dicom(false);
  c.mutable_outputs()->set_write_png(false);
  const std::string root = absl::StrCat(::testing::TempDir(), "/corpus_text");
  MVL_ASSERT_OK(GenerateCorpus(c, root).status());
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable t,
                           ReadCsv(absl::StrCat(root, "/tables/mammoclip/clip_pretrain.csv")));
  const int text = t.FindColumn("text"), augmented = t.FindColumn("text_augment");
  ASSERT_GE(text, 0);
  ASSERT_GE(augmented, 0);
  ASSERT_EQ(t.rows.size(), 800u);
  int two_sections = 0;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    MVL_ASSERT_OK_AND_ASSIGN(const auto a, ParsePyStringList(t.rows[i][text]));
    MVL_ASSERT_OK_AND_ASSIGN(const auto b, ParsePyStringList(t.rows[i][augmented]));
    ASSERT_FALSE(a.empty()) << "row " << i;
    EXPECT_EQ(a.size(), b.size()) << "row " << i << ": " << t.rows[i][text] << " vs "
                                  << t.rows[i][augmented];
    for (const std::string& s : b) EXPECT_FALSE(s.empty()) << "row " << i;
    two_sections += a.size() == 2;
  }
  EXPECT_GT(two_sections, 400);
}

}  // namespace
}  // namespace mammovl::data
