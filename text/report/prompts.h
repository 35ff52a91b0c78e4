// Mammo-CLIP's text prompts (mammoclip.md §4.4, §6): VinDr finding labels →
// synthetic report sentences from a `prompts.json`, and the zero-shot prompt
// pairs. No LibTorch.
#ifndef MAMMOVL_TEXT_REPORT_PROMPTS_H_
#define MAMMOVL_TEXT_REPORT_PROMPTS_H_

#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::text {

// The ten VinDr finding names that make up the negatives, in the reference
// order; "No Finding" is the eleventh key of prompts.json.
const std::vector<std::string>& VindrFindingNames();
inline constexpr char kNoFinding[] = "No Finding";

// The four finding lists of one view: positives and negatives per side.
struct VindrFindingSlots {
  std::vector<std::string> pos_right;
  std::vector<std::string> pos_left;
  std::vector<std::string> neg_right;
  std::vector<std::string> neg_left;
};

// Fills the slots of a breast of `laterality` ('R' or 'L') from its positive
// findings: negatives are the ten findings minus the positives, and none when
// "No Finding" is positive. (The reference notebook builds these lists from a
// string; this is the intended semantics, mammoclip.md §12.4.)
// InvalidArgument for another laterality or an unknown finding name.
absl::StatusOr<VindrFindingSlots> MakeVindrFindingSlots(
    char laterality, const std::vector<std::string>& positives);

// The candidate sentences of prompts.json: finding → {pos_right, pos_left,
// neg_right, neg_left} → sentences, kept verbatim (double spaces included).
class VindrPrompts {
 public:
  // InvalidArgument naming the key for a malformed file; NotFound if missing.
  static absl::StatusOr<VindrPrompts> FromJsonFile(absl::string_view path);
  static absl::StatusOr<VindrPrompts> FromJson(absl::string_view json,
                                               absl::string_view name);

  // Writes the synthetic report of one view: one sentence per positive
  // (pos_<side>) and per negative (neg_<side>) finding — negatives dropped if
  // "No Finding" is positive — de-duplicated, joined with single spaces. With
  // `rng` (training) each sentence is a uniform random candidate and the
  // sentences are shuffled; without it (validation) each is the first
  // candidate and the order is that of the slots (right positives, left
  // positives, right negatives, left negatives). InvalidArgument naming the
  // finding if prompts.json has no candidates for it.
  absl::StatusOr<std::string> Generate(const VindrFindingSlots& slots,
                                       std::mt19937_64* rng = nullptr) const;

  // Candidates for `finding` and `slot` ("pos_right", ...), or nullptr.
  const std::vector<std::string>* Candidates(absl::string_view finding,
                                             absl::string_view slot) const;

 private:
  // finding → slot → sentences.
  absl::flat_hash_map<
      std::string, absl::flat_hash_map<std::string, std::vector<std::string>>>
      prompts_;
};

// One zero-shot task: class names and their prompts, one per class.
struct ZeroShotPromptSet {
  std::string task;
  std::vector<std::string> class_names;
  std::vector<std::string> prompts;
};

// Mammo-CLIP's shipped zero-shot prompts (zs_clip.yaml): VinDr "mass",
// "suspicious_calcification" and RSNA "malignancy", as ["no X", "X"].
std::vector<ZeroShotPromptSet> MammoClipZeroShotPrompts();

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_REPORT_PROMPTS_H_
