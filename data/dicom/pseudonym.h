// Salted pseudonyms for patient and study identifiers. A pseudonym is stable
// for a given salt, so images of one patient stay grouped, and reveals
// nothing about the identifier without the salt. No LibTorch.
#ifndef MAMMOVL_DATA_DICOM_PSEUDONYM_H_
#define MAMMOVL_DATA_DICOM_PSEUDONYM_H_

#include <string>

#include "absl/strings/string_view.h"

namespace mammovl::data {

// Number of hex characters in a pseudonym (64 bits of the digest).
inline constexpr int kPseudonymHexChars = 16;

// Returns the first 16 hex characters of SHA-256(`salt` + ":" + `value`), or
// "" when `value` is empty (an absent identifier stays absent). Leading and
// trailing spaces and NULs of `value` (DICOM padding) are ignored.
std::string Pseudonymize(absl::string_view salt, absl::string_view value);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DICOM_PSEUDONYM_H_
