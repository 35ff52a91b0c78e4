#include "text/report/captions.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/status_macros.h"

namespace mammovl::text {
namespace {

constexpr char kUnknown[] = "unknown";
constexpr char kBiradsLetters[] = "ANBPSMK";

// Per BI-RADS letter (A, N, B, P, S, M, K): the findings phrase, the
// impression description and the overall assessment.
struct BiradsText {
  const char* mass_info;
  const char* description;
  const char* assessment;
};
constexpr BiradsText kBirads[] = {
    {"an additional imaging is recommended. ", "additional imaging required",
     "Additional imaging is recommended. "},
    {"no significant masses, calcification, or other abnormalities are "
     "present. ",
     "negative", "Negative. "},
    {"a benign finding is present. ", "benign finding", "Benign. "},
    {"a probably benign finding is present. ", "probably benign finding",
     "Probably benign. "},
    {"a suspicious abnormality is present. ", "suspicious abnormality",
     "Suspicious abnormality. "},
    {"a highly suggestive of malignancy is present, a biopsy is recommended. ",
     "highly suggestive of malignancy", "Highly suggestive of malignancy. "},
    {"a known biopsy-proven malignant mass is present. ",
     "known biopsy-proven malignancy", "Known biopsy-proven malignancy. "},
};

constexpr const char* kDensity[] = {
    "almost entirely fat", "scattered fibroglandular densities",
    "heterogeneously dense", "extremely dense", "normal male dense"};

int BiradsIndex(absl::string_view letter) {
  if (letter.size() != 1) return -1;
  const char* p = std::char_traits<char>::find(kBiradsLetters, 7, letter[0]);
  return p == nullptr ? -1 : static_cast<int>(p - kBiradsLetters);
}

std::string DensitySegment(int density) {
  std::string s = absl::StrCat("Breast composition: The breast is ",
                               kDensity[density - 1], ". ");
  if (density == 3 || density == 4)
    s += "This may lower the sensitivity of mammography. ";
  return s;
}

std::string FindingsSegment(int birads, const EmbedCaptionFields* fields) {
  std::string mass_info = kBirads[birads].mass_info;
  if (fields != nullptr && fields->mass_shape.has_value() &&
      fields->mass_density.has_value()) {
    absl::StrAppend(&mass_info, "The mass is ", *fields->mass_shape, " and ",
                    *fields->mass_density, ". ");
  }
  return absl::StrCat("Findings: The mammogram shows that ", mass_info, " ");
}

std::string ImpressionSegments(int birads) {
  return absl::StrCat("Impressions: BI-RADS Category ", birads, ": ",
                      kBirads[birads].description, ". ",
                      "Overall Assessment: ", kBirads[birads].assessment);
}

}  // namespace

MetaMask SampleMetaMask(double p, std::mt19937_64& rng) {
  std::bernoulli_distribution coin(std::clamp(p, 0.0, 1.0));
  MetaMask m;
  m.age = coin(rng);
  m.race = coin(rng);
  m.ethnicity = coin(rng);
  m.image_type = coin(rng);
  m.side = coin(rng);
  m.view = coin(rng);
  return m;
}

absl::StatusOr<std::string> BuildMamaMetaCaption(const EmbedCaptionFields& f,
                                                 const MetaMask& mask) {
  if (!f.study_description.has_value()) {
    return absl::FailedPreconditionError("StudyDescription is missing");
  }
  const std::string lower = absl::AsciiStrToLower(*f.study_description);
  std::string reason;
  if (absl::StrContains(lower, "screen")) {
    reason = "screening";
  } else if (absl::StrContains(lower, "diag")) {
    reason = "diagnostic";
  } else {
    return absl::FailedPreconditionError(
        absl::StrCat("StudyDescription \"", *f.study_description,
                     "\" is neither screening nor diagnostic"));
  }
  std::string age = kUnknown;
  if (f.age.has_value() && std::isfinite(*f.age)) {
    age = absl::StrCat(static_cast<int64_t>(std::trunc(*f.age)));
  }
  const std::string race = f.race.value_or(kUnknown);
  const std::string ethnicity =
      f.ethnicity.has_value() && *f.ethnicity == "Hispanic or Latino"
          ? "Hispanic or Latino"
          : "Non-Hispanic or Latino";
  std::string side = kUnknown;
  if (f.laterality == "L") side = "left";
  if (f.laterality == "R") side = "right";
  if (f.laterality == "B") side = "bilateral";
  const std::string view = f.view_position.empty() ? kUnknown : f.view_position;
  return absl::StrCat(
      "Procedure reported: ", *f.study_description, "; ",
      "Reason for procedure: ", reason, "; ", "Patient info: This patient is ",
      mask.race ? kUnknown : race, ", ", mask.ethnicity ? kUnknown : ethnicity,
      ", and ", mask.age ? kUnknown : age, " years old.  ",
      "Image info: This is a ", mask.image_type ? kUnknown : "2D",
      " full-field digital mammogram of the ", mask.side ? kUnknown : side,
      " breast with ", mask.view ? kUnknown : view, " view.  ");
}

absl::StatusOr<std::string> BuildMamaCaption(const EmbedCaptionFields& f,
                                             const MetaMask& mask) {
  MVL_ASSIGN_OR_RETURN(std::string caption, BuildMamaMetaCaption(f, mask));
  if (!f.density.has_value() || *f.density < 1 || *f.density > 5) {
    return absl::FailedPreconditionError(
        "tissue density is missing or not in 1..5");
  }
  const int birads = BiradsIndex(f.birads);
  if (birads < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("BI-RADS assessment \"", f.birads,
                     "\" is not one of A, N, B, P, S, M, K"));
  }
  absl::StrAppend(&caption, DensitySegment(*f.density), " ",
                  FindingsSegment(birads, &f));
  if (f.calc_finding.has_value() && f.calc_distribution.has_value()) {
    absl::StrAppend(&caption, "A ", *f.calc_distribution, " ", *f.calc_finding,
                    " calcification is present.  ");
  }
  absl::StrAppend(&caption, ImpressionSegments(birads));
  return caption;
}

std::string MamaModelText(absl::string_view caption, bool newlines_to_spaces) {
  std::string text(caption);
  if (newlines_to_spaces) text = absl::StrReplaceAll(text, {{"\n", " "}});
  text = absl::StrReplaceAll(text, {{".", kMamaSep}, {";", kMamaSep}});
  return absl::StrCat(kMamaBos, text, kMamaEos);
}

absl::StatusOr<int> ExtractBiradsLabel(absl::string_view caption) {
  std::string text = absl::AsciiStrToLower(caption);
  text = absl::StrReplaceAll(text, {{"-", ""}});
  static constexpr char kKey[] = "birads category";
  constexpr size_t kKeySize = sizeof(kKey) - 1;
  size_t pos = text.find(kKey);
  while (pos != std::string::npos) {
    size_t i = pos + kKeySize;
    while (i < text.size() && text[i] == ' ') ++i;
    if (i < text.size() && text[i] >= '0' && text[i] <= '6') {
      const bool more_digits =
          i + 1 < text.size() && absl::ascii_isdigit(text[i + 1]);
      if (!more_digits) return text[i] - '0';
    }
    pos = text.find(kKey, pos + 1);
  }
  return absl::NotFoundError("no \"BI-RADS Category <0-6>\" in the caption");
}

std::vector<std::string> MamaBiradsPrompts(absl::string_view base) {
  std::vector<std::string> prompts;
  for (int b = 0; b < 7; ++b) {
    prompts.push_back(MamaModelText(absl::StrCat(
        base, FindingsSegment(b, nullptr), ImpressionSegments(b))));
  }
  return prompts;
}

std::vector<std::string> MamaDensityPrompts(absl::string_view base) {
  std::vector<std::string> prompts;
  for (int d = 1; d <= 4; ++d)
    prompts.push_back(MamaModelText(absl::StrCat(base, DensitySegment(d))));
  return prompts;
}

std::vector<std::string> MamaRsnaPrompts() {
  auto frame = [](absl::string_view finding, absl::string_view category,
                  absl::string_view description) {
    return MamaModelText(
        absl::StrCat("Findings: The mammogram shows that ", finding, " ",
                     "Impressions: BI-RADS Category ", category, ": ",
                     description, ". Overall Assessment: ", description));
  };
  return {
      frame("Cancer negative: overall healthy or just benign finding", "N or B",
            "Negative or Benign"),
      frame("Cancer positive: screening image with known biopsy-proven "
            "malignancy or suspicious "
            "abnormality found",
            "A",
            "Additional imaging required with biopsy-proven malignancy or "
            "suspicious abnormality "
            "found"),
  };
}

}  // namespace mammovl::text
