// Strict parsing of the label values found in mammography tables. Every
// function accepts exactly the spellings the datasets use and returns
// InvalidArgument naming `where` (file, line, column) and the value
// otherwise. No LibTorch.
#ifndef MAMMOVL_DATA_DATASETS_LABELS_H_
#define MAMMOVL_DATA_DATASETS_LABELS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::data {

// "0"/"1" (also "0.0"/"1.0", "True"/"False" as pandas writes booleans).
absl::StatusOr<int> ParseBinary(absl::string_view value, absl::string_view where);
// Integer in [lo, hi].
absl::StatusOr<int> ParseIntInRange(absl::string_view value, int lo, int hi,
                                    absl::string_view where);
// Finite real number.
absl::StatusOr<double> ParseReal(absl::string_view value, absl::string_view where);
// "BI-RADS 1".."BI-RADS 5" (VinDr) -> 1..5.
absl::StatusOr<int> ParseVindrBirads(absl::string_view value, absl::string_view where);
// "DENSITY A".."DENSITY D" (VinDr) or "A".."D" (RSNA) -> 0..3.
absl::StatusOr<int> ParseDensityLetter(absl::string_view value, absl::string_view where);
// EMBED assessment letter A N B P S M K -> BI-RADS 0..6.
absl::StatusOr<int> ParseAssessmentLetter(absl::string_view value, absl::string_view where);
// CBIS-DDSM pathology -> MedSLIP class: MALIGNANT 0, BENIGN 1,
// BENIGN_WITHOUT_CALLBACK 2.
absl::StatusOr<int> ParsePathology(absl::string_view value, absl::string_view where);
// "L"/"R" (also "LEFT"/"RIGHT") -> "L"/"R".
absl::StatusOr<std::string> ParseLaterality(absl::string_view value, absl::string_view where);

// True for the cells pandas reads as NaN ("", "nan", "NaN", "None").
bool IsMissing(absl::string_view value);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DATASETS_LABELS_H_
