// Radiology reports for the synthetic cohort, written from the ground truth
// so that text and images agree: one report per breast with FINDINGS and
// IMPRESSION sections in the style of templated screening reports, with
// wording that varies with a seed (two seeds give two paraphrases of the same
// content, which stands in for the reference's back-translation). Also the
// Mammo-CLIP report cleaning used to fill the `text` column of its CSV.
// No LibTorch, no OpenCV.
#ifndef MAMMOVL_DATA_SYNTH_REPORT_H_
#define MAMMOVL_DATA_SYNTH_REPORT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "data/synth/cohort.h"

namespace mammovl::data {

struct BreastReport {
  std::string history;
  std::string findings;
  std::string impression;
  std::string recommendation;
  std::string birads;  // "BI-RADS 4"
};

// Writes the report of the `side` breast of `patient`. `nipple_distance_mm`
// scales lesion distances from the nipple. Every finding of the breast is
// described (type, morphology, size, quadrant, depth); absent masses and
// calcifications are stated as absent in most wordings.
BreastReport WriteBreastReport(const Patient& patient, Side side, double nipple_distance_mm,
                               uint64_t wording_seed);

// Quadrant phrase of an anatomical position, e.g. "upper outer quadrant".
std::string QuadrantPhrase(const Finding& finding);
// "anterior", "middle" or "posterior" depth.
const char* DepthWord(const Finding& finding);
// Clock position seen facing the patient, 1..12.
int ClockPosition(const Finding& finding, Side side);

// Mammo-CLIP's sentence cleaning of one report section (augment_text.py):
// every "." ends a sentence; each sentence is lower-cased and split into
// alphanumeric and punctuation runs; sentences with two tokens or fewer and
// non-ASCII characters are dropped; sentences are joined with single spaces.
std::string CleanReportSection(absl::string_view text);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_SYNTH_REPORT_H_
