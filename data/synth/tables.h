// Writes the synthetic cohort in the public datasets' own table schemas, so
// each dataset adapter reads synthetic and real tables with the same code:
//   tables/vindr/   breast-level_annotations.csv, finding_annotations.csv
//                   (VinDr-Mammo), vindr_detection_v1_folds.csv and
//                   clip_vindr_final.csv (Mammo-CLIP), vindrmammo_grouped_df.csv
//                   (FPN-MIL)
//   tables/rsna/    train.csv, train_folds.csv
//   tables/embed/   EMBED_OpenData_metadata.csv, EMBED_OpenData_clinical.csv,
//                   EMBED_OpenData_clinical_reduced.csv,
//                   AWS_Open_Data_Clinical_Legend.csv
//   tables/mammoclip/ clip_pretrain.csv (image–text, one row per breast)
//   tables/cbis/    {mass,calc}_case_description_{train,test}_set.csv
//   tables/synth/   images.csv, findings.csv, reports.csv (ground truth)
// No LibTorch.
#ifndef MAMMOVL_DATA_SYNTH_TABLES_H_
#define MAMMOVL_DATA_SYNTH_TABLES_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "data/synth/cohort.h"
#include "data/synth/phantom.h"
#include "data/synth/png_release.h"
#include "data/synth/report.h"
#include "data/synth/synth_config.pb.h"

namespace mammovl::data {

// What rendering one image produced, for the tables.
struct ImageRecord {
  int patient = 0;  // index into the cohort
  int image = 0;    // index into `Patient::images`
  int rows = 0;
  int columns = 0;
  double pixel_mm = 0;
  std::vector<FindingBox> boxes;  // original pixel coordinates
  PngFrame png_frame;             // where the PNG release frame sits
};

// The two wordings of each breast's report (index by `Side`).
struct PatientReports {
  std::array<BreastReport, 2> report;
  std::array<BreastReport, 2> paraphrase;
};

// Relative paths of an image's files under the corpus folder.
std::string DicomRelativePath(const Patient& patient, const ImageInfo& image);
std::string PngRelativePath(const Patient& patient, const ImageInfo& image);

// Writes every table under `out_dir/tables`. `records` holds one entry per
// image in cohort order (patient-major, then RCC, RMLO, LCC, LMLO).
absl::Status WriteTables(const SynthConfig& config, const std::vector<Patient>& patients,
                         const std::vector<ImageRecord>& records,
                         const std::vector<PatientReports>& reports, absl::string_view out_dir);

// The ten VinDr finding names (without "No Finding"), in the reference's order.
const std::vector<std::string>& VindrFindingNames();

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_SYNTH_TABLES_H_
