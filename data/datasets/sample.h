// The record every dataset adapter produces: one `Sample` per table row or
// group of rows (a breast, an exam, an image), holding resolved image paths
// per view, report texts, named labels, boxes and the ids used to aggregate
// predictions per breast or patient. Plain structs; no LibTorch, no OpenCV.
#ifndef MAMMOVL_DATA_DATASETS_SAMPLE_H_
#define MAMMOVL_DATA_DATASETS_SAMPLE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mammovl::data {

// One image file of a sample.
struct ImageRef {
  std::string path;      // resolved path of the image file
  std::string image_id;  // the table's image id
  std::string view;      // "CC", "MLO", ... ("" when the table has none)
  std::string laterality;  // "L", "R" or ""
};

// A box in pixel coordinates of the frame the table gives (e.g. the 912×1520
// PNG frame for `resized_*` columns).
struct Box {
  float xmin = 0, ymin = 0, xmax = 0, ymax = 0;
  std::string category;  // e.g. "Mass", "Suspicious Calcification"
  std::string image_id;  // image the box belongs to
};

// The fields a structured caption is built from (MaMA §4.3). Empty strings
// and zeros mean "not available".
struct ClinicalInfo {
  std::string study_description;
  std::string reason;      // "screening", "diagnostic" or ""
  std::string race;
  std::string ethnicity;
  int age = 0;             // years, 0 unknown
  std::string image_type;  // "2D"
  std::string side;        // "left", "right", "bilateral", ""
  std::string view;        // ViewPosition as in the table
  int density = 0;         // tissueden 1..5, 0 unknown
  std::string birads_letter;  // A N B P S M K
  std::string mass_shape;     // legend meanings, "" when absent
  std::string mass_density;
  std::string calc_find;
  std::string calc_distribution;
};

struct Sample {
  std::string id;          // unique within the dataset
  std::string patient_id;  // for patient-level splits and aggregation
  std::string study_id;
  std::string laterality;  // "L", "R" or ""
  std::string split;       // the table's own split value, if any
  int fold = -1;           // the table's fold, -1 if none
  std::vector<ImageRef> images;
  // Report sections or captions, and their augmented versions (aligned;
  // empty when the table has none).
  std::vector<std::string> texts;
  std::vector<std::string> texts_augmented;
  // Findings per image (aligned with `images`) for label-to-report text.
  std::vector<std::vector<std::string>> image_findings;
  // Named labels: "mass", "calcification", "density" (0..3), "birads",
  // "cancer", "pathology", ... Absent means unknown.
  std::map<std::string, float> labels;
  std::vector<Box> boxes;
  std::optional<ClinicalInfo> clinical;
  // Other images of the same exam that may serve as a second view (MaMA's
  // partner map), restricted to the same split.
  std::vector<ImageRef> partners;

  bool HasLabel(const std::string& name) const { return labels.count(name) > 0; }
  float Label(const std::string& name, float fallback = -1) const {
    auto it = labels.find(name);
    return it == labels.end() ? fallback : it->second;
  }
};

// A row that was not used, and why (file, line, column in `where`).
struct DatasetIssue {
  std::string where;
  std::string message;
};

struct Dataset {
  std::string name;
  std::vector<Sample> samples;
  std::vector<DatasetIssue> skipped;  // rows dropped under the skip policy
  // Rows left out by design rather than for being malformed (e.g. EMBED
  // images a structured caption cannot describe), with the first reasons.
  int64_t filtered = 0;
  std::vector<std::string> filtered_reasons;
  int64_t rows_read = 0;
};

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DATASETS_SAMPLE_H_
