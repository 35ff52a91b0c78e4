// Runs every dataset adapter on the tables of a synthetic corpus against an
// image folder (the corpus' PNG release, or preprocess_main's output), with
// the FAIL row policy and image checks on, and prints the sample counts.
// Exits non-zero on the first error. Usage: check_adapters TABLES_DIR PNG_DIR
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "data/datasets/datasets.h"

namespace {

using mammovl::data::DatasetConfig;

int Check(const char* name, DatasetConfig config, const std::string& png_dir, size_t expected) {
  config.set_image_root(png_dir);
  config.set_row_policy(DatasetConfig::FAIL);
  config.mutable_split()->set_part(mammovl::data::SplitConfig::ALL);
  const auto d = mammovl::data::BuildDataset(config);
  if (!d.ok()) {
    std::fprintf(stderr, "FAIL %s: %s\n", name, d.status().ToString().c_str());
    return 1;
  }
  if (expected > 0 && d->samples.size() != expected) {
    std::fprintf(stderr, "FAIL %s: %zu samples, expected %zu\n", name, d->samples.size(), expected);
    return 1;
  }
  std::printf("%-22s %4zu samples\n", name, d->samples.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TABLES_DIR PNG_DIR\n", argv[0]);
    return 2;
  }
  const std::string t = argv[1], png = argv[2];
  int failures = 0;
  DatasetConfig c;
  c.mutable_mammoclip_image_text()->set_csv(t + "/mammoclip/clip_pretrain.csv");
  failures += Check("mammoclip_image_text", c, png, 0);
  c.Clear();
  c.mutable_mammoclip_image_label()->set_csv(t + "/vindr/clip_vindr_final.csv");
  failures += Check("mammoclip_image_label", c, png, 0);
  for (const char* f : {"breast-level_annotations.csv", "finding_annotations.csv",
                        "vindr_detection_v1_folds.csv"}) {
    c.Clear();
    c.mutable_vindr()->set_csv(absl::StrCat(t, "/vindr/", f));
    failures += Check(f, c, png, 0);
  }
  c.Clear();
  c.mutable_fpn_mil()->set_csv(t + "/vindr/vindrmammo_grouped_df.csv");
  failures += Check("fpn_mil", c, png, 0);
  for (const char* f : {"train.csv", "train_folds.csv"}) {
    c.Clear();
    c.mutable_rsna()->set_csv(absl::StrCat(t, "/rsna/", f));
    failures += Check(f, c, png, 0);
  }
  c.Clear();
  c.mutable_embed()->set_metadata_csv(t + "/embed/EMBED_OpenData_metadata.csv");
  c.mutable_embed()->set_clinical_csv(t + "/embed/EMBED_OpenData_clinical.csv");
  c.mutable_embed()->set_legend_csv(t + "/embed/AWS_Open_Data_Clinical_Legend.csv");
  failures += Check("embed", c, png, 0);
  c.Clear();
  for (const char* f : {"mass_case_description_train_set.csv", "mass_case_description_test_set.csv",
                        "calc_case_description_train_set.csv", "calc_case_description_test_set.csv"}) {
    c.mutable_cbis_ddsm()->add_csv(absl::StrCat(t, "/cbis/", f));
  }
  failures += Check("cbis_ddsm", c, png, 0);
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
