// Dataset adapters: each reads one public table schema and returns `Sample`
// records (sample.h) for the configured split. Entry point `BuildDataset`
// dispatches on `DatasetConfig.source`; the per-schema readers are exposed
// for tools and tests. Errors: InvalidArgument for a bad config or a missing
// column (names file and column); bad rows follow `row_policy` and name
// file, line, column and value. No LibTorch, no OpenCV.
#ifndef MAMMOVL_DATA_DATASETS_DATASETS_H_
#define MAMMOVL_DATA_DATASETS_DATASETS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/datasets/dataset_config.pb.h"
#include "data/datasets/sample.h"

namespace mammovl::data {

// Checks ranges and that a source is selected (InvalidArgument naming the
// field).
absl::Status ValidateDatasetConfig(const DatasetConfig& config);

// Reads the table(s) of `config.source` and returns the selected split.
absl::StatusOr<Dataset> BuildDataset(const DatasetConfig& config);

// Mammo-CLIP clip_pretrain: one sample per breast; images CC then MLO;
// `texts` = the `text` list, `texts_augmented` = `text_augment`. Folds.
absl::StatusOr<Dataset> ReadMammoClipImageText(const DatasetConfig& config);
// Mammo-CLIP clip_vindr_final: one sample per breast; `image_findings` holds
// each image's positive findings; labels "mass", "calcification" and one per
// VinDr finding name. Official split.
absl::StatusOr<Dataset> ReadMammoClipImageLabel(const DatasetConfig& config);
// EMBED: one sample per 2D image with `clinical` filled for the structured
// caption; labels "birads" (0..6) and "density" (0..3); partners from the
// same exam. Seeded patient-level split.
absl::StatusOr<Dataset> ReadEmbed(const DatasetConfig& config);
// RSNA: one sample per image (or per breast); labels "cancer", "biopsy",
// "invasive", "birads", "density", "age" where present. Folds or seeded.
absl::StatusOr<Dataset> ReadRsna(const DatasetConfig& config);
// VinDr-Mammo family: one sample per image (or per finding row); labels
// "mass", "calcification", "architectural_distortion", "focal_asymmetry",
// "asymmetry", "density" (0..3), "birads" (1..5); boxes. Official split.
absl::StatusOr<Dataset> ReadVindr(const DatasetConfig& config);
// CBIS-DDSM: one sample per abnormality row; labels "pathology" (MedSLIP's
// 0 malignant, 1 benign, 2 benign without callback), "malignant",
// "assessment", "subtlety", "density", "calcification" (abnormality type).
absl::StatusOr<Dataset> ReadCbisDdsm(const DatasetConfig& config);
// FPN-MIL grouped CSV: one sample per image; labels "mass",
// "calcification"; boxes in the PNG frame. Official split.
absl::StatusOr<Dataset> ReadFpnMil(const DatasetConfig& config);

// The VinDr finding vocabulary (ten names, then "No Finding").
bool IsVindrFinding(const std::string& name);
// "Suspicious Calcification" -> "suspicious_calcification"; also maps the
// two main names to "mass" and "calcification".
std::string VindrLabelName(const std::string& finding);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DATASETS_DATASETS_H_
