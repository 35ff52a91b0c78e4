// MaMA's structured captions from EMBED metadata (mama.md §4.3–4.5, §7.5):
// the caption segments with their exact spacing, meta-information masking,
// the model text with separator tokens, the BI-RADS label read back from a
// caption, and the zero-shot prompt sets. No LibTorch.
#ifndef MAMMOVL_TEXT_REPORT_CAPTIONS_H_
#define MAMMOVL_TEXT_REPORT_CAPTIONS_H_

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::text {

inline constexpr char kMamaBos[] = "<|startoftext|>";
inline constexpr char kMamaEos[] = "<|endoftext|>";
inline constexpr char kMamaSep[] = "<|separatetext|>";

// The fields of one EMBED image that the caption uses. Unset optionals are
// missing values (NaN in the reference tables).
struct EmbedCaptionFields {
  // `StudyDescription`; unset: the image is skipped.
  std::optional<std::string> study_description;
  // `RACE_DESC`, `ETHNIC_GROUP_DESC`, `age_at_study`.
  std::optional<std::string> race;
  std::optional<std::string> ethnicity;
  std::optional<double> age;
  // `ImageLateralityFinal`: "L", "R", "B" (anything else: "unknown").
  std::string laterality;
  // `ViewPosition` (CC, MLO, XCCL, ...); empty: "unknown".
  std::string view_position;
  // `tissueden` 1..5; other values skip the image.
  std::optional<int> density;
  // `asses` BI-RADS letter: A, N, B, P, S, M, K; others skip the image.
  std::string birads;
  // Legend meanings of `massshape`, `massdens`, `calcfind`, `calcdistri`
  // (unset when the code is not in the legend).
  std::optional<std::string> mass_shape;
  std::optional<std::string> mass_density;
  std::optional<std::string> calc_finding;
  std::optional<std::string> calc_distribution;
};

// Which meta fields read "unknown" (MaMA's meta masking).
struct MetaMask {
  bool age = false;
  bool race = false;
  bool ethnicity = false;
  bool image_type = false;
  bool side = false;
  bool view = false;
};

// Masks each of the six fields independently with probability `p` (MaMA
// trains with 0.8), drawing in the order age, race, ethnicity, image type,
// side, view.
MetaMask SampleMetaMask(double p, std::mt19937_64& rng);

// Returns the structured caption (segments 1–9 of mama.md §4.3, before the
// separator replacement). FailedPrecondition, naming the field, when the
// reference skips the image: no study description, no screening/diagnostic
// reason, density outside 1..5, BI-RADS letter not in ANBPSMK.
absl::StatusOr<std::string> BuildMamaCaption(const EmbedCaptionFields& fields,
                                             const MetaMask& mask = {});

// Segments 1–4 only (procedure, reason, patient, image): the base of the
// per-image zero-shot prompts. Same errors as `BuildMamaCaption` for the
// fields it uses.
absl::StatusOr<std::string> BuildMamaMetaCaption(
    const EmbedCaptionFields& fields, const MetaMask& mask = {});

// Turns a caption into the text the model sees: optionally newlines →
// spaces (the reference does it on its cached captions), every '.' and ';'
// → <|separatetext|> (periods inside field values too), wrapped in
// <|startoftext|> … <|endoftext|>.
std::string MamaModelText(absl::string_view caption,
                          bool newlines_to_spaces = true);

// Returns the BI-RADS class 0..6 written after "birads category" in the
// lower-cased caption with hyphens removed. NotFound if there is none.
absl::StatusOr<int> ExtractBiradsLabel(absl::string_view caption);

// Zero-shot prompts as model texts (mama.md §7.5). `base` is the meta
// caption of the image (`BuildMamaMetaCaption`) or "" for shared prompts.
// BI-RADS: 7 classes A, N, B, P, S, M, K; density: classes 1..4.
std::vector<std::string> MamaBiradsPrompts(absl::string_view base);
std::vector<std::string> MamaDensityPrompts(absl::string_view base);
// RSNA cancer: class 0 (negative), class 1 (positive); meant for 72 tokens.
std::vector<std::string> MamaRsnaPrompts();

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_REPORT_CAPTIONS_H_
