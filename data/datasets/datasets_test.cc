#include "data/datasets/datasets.h"

#include <unistd.h>

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "data/datasets/csv.h"
#include "data/datasets/testing/tiny_corpus.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::mammovl::data::testing::ColumnIndex;
using ::mammovl::data::testing::RewriteTable;
using ::mammovl::data::testing::TablePath;
using ::mammovl::data::testing::TinyCorpus;
using ::testing::AllOf;
using ::testing::HasSubstr;

DatasetConfig Config(const std::string& text) {
  DatasetConfig c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &c)) << text;
  c.set_image_root(absl::StrCat(TinyCorpus(), "/png"));
  return c;
}

// Ground truth of the corpus: image id -> (mass, calcification, split).
struct Truth {
  int mass = 0, calc = 0;
  std::string split, patient, laterality;
};
std::map<std::string, Truth> GroundTruth() {
  absl::StatusOr<CsvTable> t = ReadCsv(TablePath("synth/images.csv"));
  EXPECT_TRUE(t.ok());
  std::map<std::string, Truth> out;
  for (const auto& r : t->rows) {
    Truth& g = out[r[t->FindColumn("image_id")]];
    g.mass = r[t->FindColumn("mass")] == "1";
    g.calc = r[t->FindColumn("calcification")] == "1";
    g.split = r[t->FindColumn("split")];
    g.patient = r[t->FindColumn("patient_id")];
    g.laterality = r[t->FindColumn("laterality")];
  }
  return out;
}

int CountFindingRows() {
  absl::StatusOr<CsvTable> t = ReadCsv(TablePath("synth/findings.csv"));
  EXPECT_TRUE(t.ok());
  return static_cast<int>(t->rows.size());
}

void ExpectDisjointPatients(const Dataset& a, const Dataset& b) {
  std::set<std::string> pa;
  for (const Sample& s : a.samples) pa.insert(s.patient_id);
  for (const Sample& s : b.samples) EXPECT_EQ(pa.count(s.patient_id), 0u) << s.patient_id;
}

// Rewrites `table`, replacing `column` of data row `row` by `value`.
std::string WithCell(const std::string& table, const std::string& name, size_t row,
                     const std::string& column, const std::string& value) {
  return RewriteTable(table, name, [&](auto& header, auto& rows) {
    rows[row][ColumnIndex(header, column)] = value;
  });
}

std::string WithoutColumn(const std::string& table, const std::string& name,
                          const std::string& column) {
  return RewriteTable(table, name, [&](auto& header, auto& rows) {
    const int c = ColumnIndex(header, column);
    header.erase(header.begin() + c);
    for (auto& r : rows) r.erase(r.begin() + c);
  });
}

// --- Mammo-CLIP image-text --------------------------------------------------

TEST(MammoClipImageTextTest, ReadsBreastsWithViewsTextsAndFolds) {
  DatasetConfig all = Config("split { part: ALL }");
  all.mutable_mammoclip_image_text()->set_csv(TablePath("mammoclip/clip_pretrain.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset d, BuildDataset(all));
  ASSERT_EQ(d.samples.size(), 24u);
  EXPECT_TRUE(d.skipped.empty());
  for (const Sample& s : d.samples) {
    ASSERT_EQ(s.images.size(), 2u);
    EXPECT_EQ(s.images[0].view, "CC");
    EXPECT_EQ(s.images[1].view, "MLO");
    EXPECT_TRUE(core::PathExists(s.images[0].path));
    EXPECT_FALSE(s.texts.empty());
    EXPECT_EQ(s.texts.size(), s.texts_augmented.size());
    EXPECT_GE(s.fold, 0);
  }
  DatasetConfig train = all, valid = all;
  train.mutable_split()->set_part(SplitConfig::TRAIN);
  valid.mutable_split()->set_part(SplitConfig::VALID);
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset tr, BuildDataset(train));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset va, BuildDataset(valid));
  EXPECT_EQ(tr.samples.size() + va.samples.size(), 24u);
  for (const Sample& s : va.samples) EXPECT_EQ(s.fold, 0);
  ExpectDisjointPatients(tr, va);
  DatasetConfig test = all;
  test.mutable_split()->set_part(SplitConfig::TEST);
  EXPECT_THAT(BuildDataset(test), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("test_fold")));
}

TEST(MammoClipImageTextTest, MalformedRowsFollowThePolicy) {
  const std::string src = TablePath("mammoclip/clip_pretrain.csv");
  DatasetConfig c = Config("split { part: ALL }");
  // Missing column: always an error naming file and column.
  c.mutable_mammoclip_image_text()->set_csv(WithoutColumn(src, "no_text.csv", "text"));
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                        AllOf(HasSubstr("no_text.csv"), HasSubstr("'text'"))));
  // Bad label: skipped and counted, or fatal naming line, column and value.
  c.mutable_mammoclip_image_text()->set_csv(WithCell(src, "bad_lat.csv", 1, "laterality", "X"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset d, BuildDataset(c));
  EXPECT_EQ(d.samples.size(), 23u);
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_THAT(d.skipped[0].message,
              AllOf(HasSubstr("bad_lat.csv line 3"), HasSubstr("column 'laterality'"), HasSubstr("'X'")));
  c.set_row_policy(DatasetConfig::FAIL);
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                        AllOf(HasSubstr("line 3"), HasSubstr("'X'"))));
  // Missing image file.
  c.set_row_policy(DatasetConfig::SKIP_AND_COUNT);
  c.mutable_mammoclip_image_text()->set_csv(WithCell(src, "no_img.csv", 4, "CC", "['gone.png']"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset m, BuildDataset(c));
  EXPECT_EQ(m.samples.size(), 23u);
  ASSERT_EQ(m.skipped.size(), 1u);
  EXPECT_THAT(m.skipped[0].message, AllOf(HasSubstr("line 6"), HasSubstr("gone.png"), HasSubstr("not found")));
  c.set_row_policy(DatasetConfig::FAIL);
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kNotFound, HasSubstr("gone.png")));
  // Too many skipped rows: a wrong image_root is caught.
  c.set_row_policy(DatasetConfig::SKIP_AND_COUNT);
  c.set_image_root("/nonexistent");
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("max_skipped_fraction")));
}

// Paths read from a table stay inside image_root unless allowed.
TEST(PathConfinementTest, TablePathsStayInsideTheImageRoot) {
  const std::string src = TablePath("mammoclip/clip_pretrain.csv");
  DatasetConfig c = Config("split { part: ALL } row_policy: FAIL");
  // A file next to the image root, reachable with "..".
  const std::string outside = absl::StrCat(TinyCorpus(), "/outside.png");
  MVL_ASSERT_OK(core::WriteFileAtomically(outside, "not an image of this dataset"));
  c.mutable_mammoclip_image_text()->set_csv(
      WithCell(src, "escape.csv", 4, "CC", "['../../outside.png']"));
  EXPECT_THAT(BuildDataset(c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("escape.csv line 6, column 'CC'"), HasSubstr("'..'"),
                             HasSubstr("allow_paths_outside_root"))));
  c.mutable_mammoclip_image_text()->set_csv(
      WithCell(src, "absolute.csv", 4, "MLO", absl::StrCat("['", outside, "']")));
  EXPECT_THAT(BuildDataset(c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("absolute.csv line 6, column 'MLO'"), HasSubstr("absolute"))));
  // A symlink inside the root that leads out of it.
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable table, ReadCsv(src));
  const std::string patient = table.rows[4][static_cast<size_t>(table.FindColumn("patient_id"))];
  const std::string link = absl::StrCat(c.image_root(), "/", patient, "/link_out.png");
  ASSERT_EQ(::symlink(outside.c_str(), link.c_str()), 0);
  c.mutable_mammoclip_image_text()->set_csv(
      WithCell(src, "symlink.csv", 4, "CC", "['link_out.png']"));
  EXPECT_THAT(BuildDataset(c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("symlink.csv line 6, column 'CC'"), HasSubstr("symlink"))));
  // Under the default policy the row is skipped and counted.
  DatasetConfig skip = c;
  skip.set_row_policy(DatasetConfig::SKIP_AND_COUNT);
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset skipped, BuildDataset(skip));
  EXPECT_EQ(skipped.samples.size(), 23u);
  ASSERT_EQ(skipped.skipped.size(), 1u);
  EXPECT_THAT(skipped.skipped[0].message, HasSubstr("symlink"));
  // Allowed by the flag: all 24 breasts, the escaping path as written.
  c.set_allow_paths_outside_root(true);
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset allowed, BuildDataset(c));
  EXPECT_EQ(allowed.samples.size(), 24u);
  c.mutable_mammoclip_image_text()->set_csv(
      WithCell(src, "escape2.csv", 4, "CC", "['../../outside.png']"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset escaped, BuildDataset(c));
  EXPECT_EQ(escaped.samples.size(), 24u);
  ASSERT_EQ(::unlink(link.c_str()), 0);
}

// --- Mammo-CLIP image-label (VinDr) -----------------------------------------

TEST(MammoClipImageLabelTest, FindingsPerViewMatchTheGroundTruth) {
  DatasetConfig c = Config("split { part: ALL }");
  c.mutable_mammoclip_image_label()->set_csv(TablePath("vindr/clip_vindr_final.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset d, BuildDataset(c));
  ASSERT_EQ(d.samples.size(), 24u);
  const auto truth = GroundTruth();
  for (const Sample& s : d.samples) {
    ASSERT_EQ(s.images.size(), 2u);
    ASSERT_EQ(s.image_findings.size(), 2u);
    int mass = 0;
    for (size_t i = 0; i < 2; ++i) {
      std::string id = s.images[i].image_id;
      id = id.substr(0, id.size() - 4);  // ".png"
      const Truth& g = truth.at(id);
      EXPECT_EQ(g.laterality, s.laterality);
      const auto& f = s.image_findings[i];
      EXPECT_EQ(std::count(f.begin(), f.end(), "Mass"), g.mass) << id;
      mass |= g.mass;
    }
    EXPECT_EQ(s.Label("mass"), mass);
  }
  DatasetConfig test = c;
  test.mutable_split()->set_part(SplitConfig::TEST);
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset t, BuildDataset(test));
  for (const Sample& s : t.samples) EXPECT_EQ(s.split, "test");
  EXPECT_FALSE(t.samples.empty());
}

TEST(MammoClipImageLabelTest, UnknownFindingNamesTheCell) {
  DatasetConfig c = Config("split { part: ALL } row_policy: FAIL");
  c.mutable_mammoclip_image_label()->set_csv(WithCell(TablePath("vindr/clip_vindr_final.csv"),
                                                      "bad_finding.csv", 0, "CC_FINDING",
                                                      "[['Masss'], [], [], []]"));
  EXPECT_THAT(BuildDataset(c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("line 2"), HasSubstr("CC_FINDING"), HasSubstr("'Masss'"))));
}

// --- VinDr ---------------------------------------------------------------------

TEST(VindrTest, FindingAnnotationsGroupedPerImage) {
  DatasetConfig c = Config("split { part: ALL }");
  c.mutable_vindr()->set_csv(TablePath("vindr/finding_annotations.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset d, BuildDataset(c));
  ASSERT_EQ(d.samples.size(), 48u);
  const auto truth = GroundTruth();
  size_t boxes = 0;
  for (const Sample& s : d.samples) {
    const Truth& g = truth.at(s.id);
    EXPECT_EQ(s.Label("mass"), g.mass) << s.id;
    EXPECT_EQ(s.Label("calcification"), g.calc) << s.id;
    EXPECT_EQ(s.split, g.split);
    EXPECT_GE(s.Label("birads"), 1);
    EXPECT_GE(s.Label("density"), 0);
    for (const Box& b : s.boxes) {
      EXPECT_LT(b.xmin, b.xmax);
      EXPECT_LE(b.xmax, 208);  // original frame of the TINY preset
    }
    boxes += s.boxes.size();
  }
  EXPECT_EQ(static_cast<int>(boxes), CountFindingRows());

  // Official test split; VALID carved out of training by patient.
  DatasetConfig test = c, valid = c, train = c;
  test.mutable_split()->set_part(SplitConfig::TEST);
  valid.mutable_split()->set_part(SplitConfig::VALID);
  valid.mutable_split()->set_valid_fraction(0.3);
  train.mutable_split()->set_part(SplitConfig::TRAIN);
  train.mutable_split()->set_valid_fraction(0.3);
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset te, BuildDataset(test));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset va, BuildDataset(valid));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset tr, BuildDataset(train));
  EXPECT_EQ(te.samples.size() + va.samples.size() + tr.samples.size(), 48u);
  for (const Sample& s : te.samples) EXPECT_EQ(s.split, "test");
  for (const Sample& s : va.samples) EXPECT_EQ(s.split, "training");
  EXPECT_FALSE(va.samples.empty());
  ExpectDisjointPatients(tr, va);
  ExpectDisjointPatients(tr, te);
}

TEST(VindrTest, DetectorCsvUsesResizedBoxesAndFilters) {
  DatasetConfig c = Config("split { part: ALL } vindr { require_categories: 'Mass' }");
  c.mutable_vindr()->set_csv(TablePath("vindr/vindr_detection_v1_folds.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset d, BuildDataset(c));
  const auto truth = GroundTruth();
  int mass_images = 0;
  for (const auto& [id, g] : truth) mass_images += g.mass;
  EXPECT_EQ(static_cast<int>(d.samples.size()), mass_images);
  for (const Sample& s : d.samples) {
    ASSERT_FALSE(s.boxes.empty());
    for (const Box& b : s.boxes) {
      EXPECT_EQ(b.category, "Mass");
      EXPECT_LE(b.xmax, 152 * 1.01);  // PNG frame of the TINY preset
      EXPECT_LE(b.ymax, 256 * 1.01);
    }
  }
  DatasetConfig rows = Config("split { part: ALL } vindr { per_row: true }");
  rows.mutable_vindr()->set_csv(TablePath("vindr/vindr_detection_v1_folds.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset r, BuildDataset(rows));
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable table, ReadCsv(TablePath("vindr/vindr_detection_v1_folds.csv")));
  EXPECT_EQ(r.samples.size(), table.rows.size());
}

TEST(VindrTest, StrictLabelsAndBoxes) {
  const std::string src = TablePath("vindr/vindr_detection_v1_folds.csv");
  DatasetConfig c = Config("split { part: ALL } row_policy: FAIL");
  c.mutable_vindr()->set_csv(WithCell(src, "birads7.csv", 0, "breast_birads", "BI-RADS 7"));
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                        AllOf(HasSubstr("birads7.csv line 2"),
                                              HasSubstr("column 'breast_birads'"),
                                              HasSubstr("'BI-RADS 7'"))));
  // Row 0 is a finding row (findings come first): its box must parse.
  c.mutable_vindr()->set_csv(WithCell(src, "nobox.csv", 0, "resized_xmin", ""));
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("column 'resized_xmin'")));
  // One-hot columns must agree with the categories.
  c.mutable_vindr()->set_csv(RewriteTable(src, "onehot.csv", [](auto& header, auto& rows) {
    const int cat = ColumnIndex(header, "finding_categories");
    const int mass = ColumnIndex(header, "Mass");
    for (auto& r : rows) {
      if (r[cat] == "['No Finding']") {
        r[mass] = "1";
        break;
      }
    }
  }));
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("disagrees")));
  c.mutable_vindr()->set_csv(WithoutColumn(src, "nosplit.csv", "split"));
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'split'")));
  // A missing image is skipped under the default policy.
  c.set_row_policy(DatasetConfig::SKIP_AND_COUNT);
  c.mutable_vindr()->set_csv(TablePath("vindr/breast-level_annotations.csv"));
  c.set_image_suffix(".jpg");  // no such files: every row is missing
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// --- RSNA ----------------------------------------------------------------------

TEST(RsnaTest, ImagesBreastsFoldsAndLabels) {
  DatasetConfig c = Config("split { part: ALL }");
  c.mutable_rsna()->set_csv(TablePath("rsna/train.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset d, BuildDataset(c));
  ASSERT_EQ(d.samples.size(), 48u);
  for (const Sample& s : d.samples) {
    EXPECT_TRUE(s.HasLabel("cancer"));
    EXPECT_TRUE(s.HasLabel("age"));
    EXPECT_TRUE(core::PathExists(s.images[0].path));
  }
  c.mutable_rsna()->set_per_breast(true);
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset b, BuildDataset(c));
  ASSERT_EQ(b.samples.size(), 24u);
  for (const Sample& s : b.samples) EXPECT_EQ(s.images.size(), 2u);

  // train.csv has no folds: seeded patient-level split, reproducible.
  DatasetConfig test = Config("split { part: TEST test_fraction: 0.25 }");
  test.mutable_rsna()->set_csv(TablePath("rsna/train.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset t1, BuildDataset(test));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset t2, BuildDataset(test));
  EXPECT_EQ(t1.samples.size(), 12u);  // 3 of 12 patients
  ASSERT_EQ(t1.samples.size(), t2.samples.size());
  for (size_t i = 0; i < t1.samples.size(); ++i) EXPECT_EQ(t1.samples[i].id, t2.samples[i].id);

  DatasetConfig folds = Config("split { part: VALID valid_fold: 1 }");
  folds.mutable_rsna()->set_csv(TablePath("rsna/train_folds.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset f, BuildDataset(folds));
  ASSERT_FALSE(f.samples.empty());
  for (const Sample& s : f.samples) EXPECT_EQ(s.fold, 1);
}

TEST(RsnaTest, BadCancerValueAndDataPct) {
  DatasetConfig c = Config("split { part: ALL } row_policy: FAIL");
  c.mutable_rsna()->set_csv(WithCell(TablePath("rsna/train.csv"), "cancer2.csv", 5, "cancer", "2"));
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                        AllOf(HasSubstr("line 7"), HasSubstr("'cancer'"), HasSubstr("'2'"))));
  c.mutable_rsna()->set_csv(WithCell(TablePath("rsna/train.csv"), "dens.csv", 5, "density", "E"));
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'E'")));
  DatasetConfig pct = Config("split { part: ALL } data_pct: 0.5");
  pct.mutable_rsna()->set_csv(TablePath("rsna/train.csv"));
  // data_pct applies to TRAIN only.
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset all, BuildDataset(pct));
  EXPECT_EQ(all.samples.size(), 48u);
  pct.mutable_split()->set_part(SplitConfig::TRAIN);
  pct.mutable_split()->set_valid_fraction(0);
  pct.mutable_split()->set_test_fraction(0);
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset half, BuildDataset(pct));
  EXPECT_NEAR(static_cast<double>(half.samples.size()), 24, 1.5);
  int cancers_all = 0, cancers_half = 0;
  for (const Sample& s : all.samples) cancers_all += s.Label("cancer") == 1;
  for (const Sample& s : half.samples) cancers_half += s.Label("cancer") == 1;
  if (cancers_all > 0) EXPECT_GE(cancers_half, 1);  // stratified: each stratum keeps one
}

// --- EMBED ---------------------------------------------------------------------

TEST(EmbedTest, ClinicalRowsLegendAndPartners) {
  DatasetConfig c = Config("split { part: ALL }");
  EmbedConfig* e = c.mutable_embed();
  e->set_metadata_csv(TablePath("embed/EMBED_OpenData_metadata.csv"));
  e->set_clinical_csv(TablePath("embed/EMBED_OpenData_clinical.csv"));
  e->set_legend_csv(TablePath("embed/AWS_Open_Data_Clinical_Legend.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset d, BuildDataset(c));
  ASSERT_EQ(d.samples.size(), 48u);
  EXPECT_EQ(d.filtered, 0);
  // Expected BI-RADS per breast from the VinDr table of the same corpus.
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable vindr, ReadCsv(TablePath("vindr/breast-level_annotations.csv")));
  std::map<std::string, int> birads;
  for (const auto& r : vindr.rows) birads[r[2]] = r[7].back() - '0';
  int with_mass_fields = 0;
  for (const Sample& s : d.samples) {
    ASSERT_TRUE(s.clinical.has_value());
    const ClinicalInfo& info = *s.clinical;
    EXPECT_TRUE(info.reason == "screening" || info.reason == "diagnostic");
    EXPECT_GE(info.density, 1);
    EXPECT_GT(info.age, 0);
    EXPECT_FALSE(info.race.empty());
    EXPECT_EQ(s.Label("birads"), birads.at(s.images[0].image_id)) << s.id;
    EXPECT_EQ(s.partners.size(), 3u);  // the other images of the exam
    with_mass_fields += !info.mass_shape.empty();
    if (!info.mass_shape.empty()) {
      EXPECT_THAT(std::string("round oval irregular"), HasSubstr(info.mass_shape));
    }
  }
  EXPECT_GT(with_mass_fields, 0);
  e->set_partners_same_breast_only(true);
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset same, BuildDataset(c));
  for (const Sample& s : same.samples) {
    ASSERT_EQ(s.partners.size(), 1u);
    EXPECT_EQ(s.partners[0].laterality, s.laterality);
  }
}

TEST(EmbedTest, StrictValuesAndFilteredImages) {
  DatasetConfig c = Config("split { part: ALL } row_policy: FAIL");
  EmbedConfig* e = c.mutable_embed();
  e->set_metadata_csv(TablePath("embed/EMBED_OpenData_metadata.csv"));
  e->set_legend_csv(TablePath("embed/AWS_Open_Data_Clinical_Legend.csv"));
  e->set_clinical_csv(RewriteTable(TablePath("embed/EMBED_OpenData_clinical.csv"), "clin_bad.csv",
                                   [](auto& header, auto& rows) {
                                     for (auto& r : rows) r[ColumnIndex(header, "tissueden")] = "9";
                                   }));
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                        AllOf(HasSubstr("clin_bad.csv"), HasSubstr("'tissueden'"),
                                              HasSubstr("'9'"))));
  // Missing density is not an error: the caption cannot be built, the
  // image is filtered and counted (as the reference skips it).
  e->set_clinical_csv(RewriteTable(TablePath("embed/EMBED_OpenData_clinical.csv"), "clin_nd.csv",
                                   [](auto& header, auto& rows) {
                                     rows[0][ColumnIndex(header, "tissueden")] = "";
                                   }));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset d, BuildDataset(c));
  EXPECT_GT(d.filtered, 0);
  EXPECT_LT(d.samples.size(), 48u);
  e->set_clinical_csv(WithoutColumn(TablePath("embed/EMBED_OpenData_clinical.csv"), "clin_nc.csv", "asses"));
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'asses'")));
}

// --- CBIS-DDSM -----------------------------------------------------------------

TEST(CbisDdsmTest, CaseDescriptionsOfBothTypes) {
  DatasetConfig c = Config("split { part: ALL }");
  for (const char* f : {"mass_case_description_train_set.csv", "mass_case_description_test_set.csv",
                        "calc_case_description_train_set.csv", "calc_case_description_test_set.csv"}) {
    c.mutable_cbis_ddsm()->add_csv(TablePath(absl::StrCat("cbis/", f)));
  }
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset d, BuildDataset(c));
  EXPECT_EQ(static_cast<int>(d.samples.size()), CountFindingRows());
  std::set<std::string> ids;
  for (const Sample& s : d.samples) {
    EXPECT_TRUE(ids.insert(s.id).second) << s.id;
    EXPECT_GE(s.Label("pathology"), 0);
    EXPECT_LE(s.Label("pathology"), 2);
    EXPECT_EQ(s.Label("malignant"), s.Label("pathology") == 0 ? 1 : 0);
    EXPECT_TRUE(core::PathExists(s.images[0].path)) << s.images[0].path;
  }
  DatasetConfig bad = Config("split { part: ALL } row_policy: FAIL");
  bad.mutable_cbis_ddsm()->add_csv(WithCell(TablePath("cbis/calc_case_description_train_set.csv"),
                                            "calc_bad.csv", 0, "pathology", "MALIGN"));
  EXPECT_THAT(BuildDataset(bad), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'MALIGN'")));
}

TEST(CbisDdsmTest, MedSlipTwoColumnForm) {
  const std::string csv = absl::StrCat(::testing::TempDir(), "/train_calcification.csv");
  CsvWriter w({"image_path", "pathology"});
  MVL_ASSERT_OK_AND_ASSIGN(const CsvTable t, ReadCsv(TablePath("synth/images.csv")));
  w.AddRow({t.rows[0][t.FindColumn("png_path")], "BENIGN"});
  w.AddRow({t.rows[1][t.FindColumn("png_path")], "MALIGNANT"});
  MVL_ASSERT_OK(w.WriteTo(csv));
  DatasetConfig c = Config("split { part: ALL }");
  c.mutable_cbis_ddsm()->add_csv(csv);
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset d, BuildDataset(c));
  ASSERT_EQ(d.samples.size(), 2u);
  EXPECT_EQ(d.samples[1].Label("pathology"), 0);
}

// --- FPN-MIL -------------------------------------------------------------------

TEST(FpnMilTest, GroupedCsvWithPerBoxLists) {
  DatasetConfig c = Config("split { part: ALL }");
  c.mutable_fpn_mil()->set_csv(TablePath("vindr/vindrmammo_grouped_df.csv"));
  MVL_ASSERT_OK_AND_ASSIGN(const Dataset d, BuildDataset(c));
  ASSERT_EQ(d.samples.size(), 48u);
  const auto truth = GroundTruth();
  size_t boxes = 0;
  for (const Sample& s : d.samples) {
    const Truth& g = truth.at(s.id.substr(0, s.id.size() - 4));
    EXPECT_EQ(s.Label("mass"), g.mass);
    EXPECT_EQ(s.Label("calcification"), g.calc);
    boxes += s.boxes.size();
  }
  EXPECT_EQ(static_cast<int>(boxes), CountFindingRows());
  DatasetConfig bad = Config("split { part: ALL } row_policy: FAIL");
  bad.mutable_fpn_mil()->set_csv(WithCell(TablePath("vindr/vindrmammo_grouped_df.csv"), "fpn_bad.csv",
                                          0, "resized_xmin", "[1.0, 2.0, 3.0]"));
  EXPECT_THAT(BuildDataset(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                          AllOf(HasSubstr("resized_xmin"), HasSubstr("boxes"))));
}

TEST(DatasetConfigTest, ValidationNamesTheField) {
  DatasetConfig c;
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no source")));
  c.mutable_rsna()->set_csv("x");
  c.set_data_pct(0);
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data_pct")));
  c.set_data_pct(1);
  c.mutable_split()->set_valid_fraction(0.7);
  c.mutable_split()->set_test_fraction(0.7);
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("valid_fraction")));
  c.clear_split();
  EXPECT_THAT(BuildDataset(c), StatusIs(absl::StatusCode::kNotFound));  // no file "x"
}

}  // namespace
}  // namespace mammovl::data
