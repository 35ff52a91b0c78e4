// Ground truth of a synthetic screening cohort: patients, their two breasts,
// the findings in each breast, and the four images (L/R × CC/MLO) of one
// exam. Sampled deterministically from a seed and a `SynthConfig`; rendering
// (phantom.h), reports (report.h) and tables (tables.h) all read from here, so
// images, text and labels cannot disagree. No LibTorch, no OpenCV.
#ifndef MAMMOVL_DATA_SYNTH_COHORT_H_
#define MAMMOVL_DATA_SYNTH_COHORT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/synth/synth_config.pb.h"

namespace mammovl::data {

enum class View { kCC = 0, kMLO = 1 };
enum class Side { kRight = 0, kLeft = 1 };

enum class FindingType {
  kMass,
  kCalcification,
  kFocalAsymmetry,
  kAsymmetry,  // seen in one view only
  kArchitecturalDistortion,
};
enum class MassShape { kRound, kOval, kIrregular };
enum class MassMargin { kCircumscribed, kIndistinct, kSpiculated };
enum class CalcMorphology { kPunctate, kAmorphous, kFinePleomorphic, kFineLinearBranching };
enum class CalcDistribution { kGrouped, kLinear, kSegmental, kRegional };

// One lesion. Its position is anatomical, so both views agree: `depth` runs
// from the nipple (0) to the chest wall (1); `medial` from lateral (-1) to
// medial (+1) (the vertical axis of CC views); `superior` from inferior (-1)
// to superior (+1) (the vertical axis of MLO views).
struct Finding {
  FindingType type = FindingType::kMass;
  double depth = 0.5;
  double medial = 0;
  double superior = 0;
  double size_mm = 10;     // mass diameter, cluster diameter, asymmetry diameter
  double contrast = 0.15;  // peak intensity added, in [0, 1] image units
  MassShape shape = MassShape::kOval;
  MassMargin margin = MassMargin::kCircumscribed;
  double aspect = 1;     // minor/major axis of a mass
  double angle_rad = 0;  // orientation of the major axis
  CalcMorphology calc_morphology = CalcMorphology::kPunctate;
  CalcDistribution calc_distribution = CalcDistribution::kGrouped;
  int calc_count = 0;
  double speck_mm = 0.3;
  bool visible_cc = true;
  bool visible_mlo = true;
  bool malignant = false;
  int birads = 2;  // finding-level BI-RADS 2..5
  uint64_t seed = 0;  // shape details (harmonics, spicules, speck layout)
};

// Anatomy of one breast, shared by its CC and MLO views. Fractions are of the
// image width (depths) or height (vertical positions).
struct BreastShape {
  double cc_depth = 0.7;        // chest wall to nipple
  double cc_half_height = 0.35;
  double cc_center_y = 0.5;
  double exponent = 2.0;        // super-ellipse exponent of the outline
  double mlo_depth = 0.72;
  double mlo_nipple_y = 0.55;
  double mlo_axilla_width = 0.25;
  double mlo_bottom_y = 0.9;
  double lower_exponent = 2.0;
  double pectoral_top_x = 0.3;
  double pectoral_left_y = 0.45;
  double nipple_length = 0.015;
  std::array<double, 4> wobble = {0, 0, 0, 0};
  double fat_level = 0.3;
  double gland_level = 0.3;
};

struct Breast {
  Side side = Side::kRight;
  int density = 1;  // 0..3 = BI-RADS density A..D
  int birads = 1;   // breast-level BI-RADS 1..5 (after reader noise)
  bool cancer = false;
  bool coarse_benign_calcs = false;  // isolated coarse specks, not a finding
  BreastShape shape;
  std::vector<Finding> findings;
  uint64_t seed = 0;

  bool Has(FindingType type) const;
  // Finding-level presence in one view.
  bool HasInView(FindingType type, View view) const;
};

// One DICOM image of the exam and how it is encoded.
struct ImageInfo {
  Side side = Side::kRight;
  View view = View::kCC;
  std::string image_key;  // anonymised image id (file stem in every table)
  std::string sop_instance_uid;
  std::string series_instance_uid;
  SynthConfig::TransferSyntax transfer_syntax = SynthConfig::EXPLICIT_VR_LITTLE_ENDIAN;
  bool monochrome1 = false;
  int bits_stored = 12;
  uint64_t seed = 0;  // texture realisation of this view
};

struct Patient {
  int index = 0;
  std::string key;        // anonymised patient id used in paths and tables
  std::string study_key;  // anonymised exam (accession) id
  std::string series_key;
  // Identifiers that exist only inside the DICOM files. They are fake, and
  // they must never appear in logs, paths or tables.
  std::string patient_name;
  std::string patient_mrn;
  std::string birth_date;  // YYYYMMDD
  std::string study_date;  // YYYYMMDD
  std::string study_instance_uid;
  std::string accession_number;
  std::string study_description;  // "MG Screening Bilateral" or a diagnostic one
  int age = 55;
  std::string race;
  std::string ethnicity;
  int site_id = 1;
  int machine_id = 49;
  std::string manufacturer;
  std::string model_name;
  bool test_split = false;  // VinDr-style official split
  int fold = 0;             // patient-grouped fold in [0, num_folds)
  std::array<Breast, 2> breasts;  // indexed by Side
  std::vector<ImageInfo> images;  // RCC, RMLO, LCC, LMLO
};

// Samples the whole cohort. InvalidArgument on a bad config (names the field).
absl::StatusOr<std::vector<Patient>> SampleCohort(const SynthConfig& config);

// Names used in tables and reports.
const char* SideLetter(Side side);        // "R" / "L"
const char* SideWord(Side side);          // "right" / "left"
const char* ViewName(View view);          // "CC" / "MLO"
const char* DensityLetter(int density);   // "A".."D"
// VinDr finding category of `type`, e.g. "Suspicious Calcification".
const char* VindrCategory(FindingType type);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_SYNTH_COHORT_H_
