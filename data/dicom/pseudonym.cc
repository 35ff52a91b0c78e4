#include "data/dicom/pseudonym.h"

#include "absl/strings/str_cat.h"
#include "data/dicom/sha256.h"

namespace mammovl::data {

std::string Pseudonymize(absl::string_view salt, absl::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\0'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\0'))
    value.remove_suffix(1);
  if (value.empty()) return "";
  return Sha256Hex(absl::StrCat(salt, ":", value))
      .substr(0, kPseudonymHexChars);
}

}  // namespace mammovl::data
