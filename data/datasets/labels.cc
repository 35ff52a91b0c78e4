#include "data/datasets/labels.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace mammovl::data {
namespace {

absl::Status Bad(absl::string_view where, absl::string_view value, absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": unexpected value '", value, "' (expected ", expected, ")"));
}

}  // namespace

bool IsMissing(absl::string_view value) {
  const absl::string_view v = absl::StripAsciiWhitespace(value);
  return v.empty() || v == "nan" || v == "NaN" || v == "None" || v == "NULL";
}

absl::StatusOr<int> ParseBinary(absl::string_view value, absl::string_view where) {
  const absl::string_view v = absl::StripAsciiWhitespace(value);
  if (v == "0" || v == "0.0" || v == "False") return 0;
  if (v == "1" || v == "1.0" || v == "True") return 1;
  return Bad(where, value, "0 or 1");
}

absl::StatusOr<int> ParseIntInRange(absl::string_view value, int lo, int hi,
                                    absl::string_view where) {
  absl::string_view v = absl::StripAsciiWhitespace(value);
  // pandas writes integer columns with NaNs as floats ("3.0").
  if (absl::EndsWith(v, ".0")) v.remove_suffix(2);
  int out = 0;
  if (!absl::SimpleAtoi(v, &out) || out < lo || out > hi) {
    return Bad(where, value, absl::StrCat("an integer in [", lo, ", ", hi, "]"));
  }
  return out;
}

absl::StatusOr<double> ParseReal(absl::string_view value, absl::string_view where) {
  double out = 0;
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(value), &out) || !std::isfinite(out)) {
    return Bad(where, value, "a finite number");
  }
  return out;
}

absl::StatusOr<int> ParseVindrBirads(absl::string_view value, absl::string_view where) {
  absl::string_view v = absl::StripAsciiWhitespace(value);
  if (absl::ConsumePrefix(&v, "BI-RADS ") && v.size() == 1 && v[0] >= '1' && v[0] <= '5') {
    return v[0] - '0';
  }
  return Bad(where, value, "'BI-RADS 1' .. 'BI-RADS 5'");
}

absl::StatusOr<int> ParseDensityLetter(absl::string_view value, absl::string_view where) {
  absl::string_view v = absl::StripAsciiWhitespace(value);
  absl::ConsumePrefix(&v, "DENSITY ");
  if (v.size() == 1 && v[0] >= 'A' && v[0] <= 'D') return v[0] - 'A';
  return Bad(where, value, "density A-D");
}

absl::StatusOr<int> ParseAssessmentLetter(absl::string_view value, absl::string_view where) {
  static constexpr char kLetters[] = "ANBPSMK";
  const absl::string_view v = absl::StripAsciiWhitespace(value);
  if (v.size() == 1) {
    for (int i = 0; i < 7; ++i) {
      if (v[0] == kLetters[i]) return i;
    }
  }
  return Bad(where, value, "one of A N B P S M K");
}

absl::StatusOr<int> ParsePathology(absl::string_view value, absl::string_view where) {
  const absl::string_view v = absl::StripAsciiWhitespace(value);
  if (v == "MALIGNANT") return 0;
  if (v == "BENIGN") return 1;
  if (v == "BENIGN_WITHOUT_CALLBACK") return 2;
  return Bad(where, value, "MALIGNANT, BENIGN or BENIGN_WITHOUT_CALLBACK");
}

absl::StatusOr<std::string> ParseLaterality(absl::string_view value, absl::string_view where) {
  const absl::string_view v = absl::StripAsciiWhitespace(value);
  if (v == "L" || v == "LEFT") return std::string("L");
  if (v == "R" || v == "RIGHT") return std::string("R");
  return Bad(where, value, "L or R");
}

}  // namespace mammovl::data
