#include "text/report/prompts.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "text/tokenizer/json.h"

namespace mammovl::text {
namespace {

constexpr const char* kSlots[] = {"pos_right", "pos_left", "neg_right",
                                  "neg_left"};

}  // namespace

const std::vector<std::string>& VindrFindingNames() {
  static const std::vector<std::string>* const names =
      new std::vector<std::string>{
          "Mass",
          "Suspicious Calcification",
          "Architectural Distortion",
          "Global Asymmetry",
          "Focal Asymmetry",
          "Asymmetry",
          "Suspicious Lymph Node",
          "Nipple Retraction",
          "Skin Retraction",
          "Skin Thickening",
      };
  return *names;
}

absl::StatusOr<VindrFindingSlots> MakeVindrFindingSlots(
    char laterality, const std::vector<std::string>& positives) {
  if (laterality != 'R' && laterality != 'L') {
    return absl::InvalidArgumentError(
        absl::StrCat("laterality must be 'R' or 'L', got '",
                     std::string(1, laterality), "'"));
  }
  const std::vector<std::string>& names = VindrFindingNames();
  bool no_finding = false;
  for (const std::string& p : positives) {
    if (p == kNoFinding) {
      no_finding = true;
    } else if (std::find(names.begin(), names.end(), p) == names.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown VinDr finding \"", p, "\""));
    }
  }
  VindrFindingSlots slots;
  std::vector<std::string> negatives;
  if (!no_finding) {
    for (const std::string& n : names) {
      if (std::find(positives.begin(), positives.end(), n) == positives.end())
        negatives.push_back(n);
    }
  }
  if (laterality == 'R') {
    slots.pos_right = positives;
    slots.neg_right = std::move(negatives);
  } else {
    slots.pos_left = positives;
    slots.neg_left = std::move(negatives);
  }
  return slots;
}

absl::StatusOr<VindrPrompts> VindrPrompts::FromJsonFile(
    absl::string_view path) {
  MVL_ASSIGN_OR_RETURN(const std::string text, core::ReadFileToString(path));
  return FromJson(text, path);
}

absl::StatusOr<VindrPrompts> VindrPrompts::FromJson(absl::string_view json,
                                                    absl::string_view name) {
  MVL_ASSIGN_OR_RETURN(const JsonValue root, ParseJson(json, name));
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": must be an object of findings"));
  }
  VindrPrompts prompts;
  for (const auto& [finding, slots] : root.members()) {
    if (!slots.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": \"", finding, "\" must be an object of sentence lists"));
    }
    auto& out = prompts.prompts_[finding];
    for (const auto& [slot, sentences] : slots.members()) {
      if (!sentences.is_array()) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, ": \"", finding, "\".\"", slot,
                         "\" must be a list of sentences"));
      }
      std::vector<std::string>& list = out[slot];
      for (const JsonValue& s : sentences.array()) {
        if (!s.is_string()) {
          return absl::InvalidArgumentError(absl::StrCat(
              name, ": \"", finding, "\".\"", slot, "\" holds a non-string"));
        }
        list.push_back(s.string_value());
      }
    }
  }
  return prompts;
}

const std::vector<std::string>* VindrPrompts::Candidates(
    absl::string_view finding, absl::string_view slot) const {
  auto f = prompts_.find(finding);
  if (f == prompts_.end()) return nullptr;
  auto s = f->second.find(slot);
  return s == f->second.end() ? nullptr : &s->second;
}

absl::StatusOr<std::string> VindrPrompts::Generate(
    const VindrFindingSlots& slots, std::mt19937_64* rng) const {
  const std::vector<std::string>* lists[] = {&slots.pos_right, &slots.pos_left,
                                             &slots.neg_right, &slots.neg_left};
  const bool no_finding =
      std::count(slots.pos_right.begin(), slots.pos_right.end(), kNoFinding) +
          std::count(slots.pos_left.begin(), slots.pos_left.end(), kNoFinding) >
      0;
  std::vector<std::string> sentences;
  absl::flat_hash_set<std::string> seen;
  for (int k = 0; k < 4; ++k) {
    if (k >= 2 && no_finding) break;
    for (const std::string& finding : *lists[k]) {
      const std::vector<std::string>* candidates =
          Candidates(finding, kSlots[k]);
      if (candidates == nullptr || candidates->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("prompts have no \"", kSlots[k], "\" sentences for \"",
                         finding, "\""));
      }
      size_t index = 0;
      if (rng != nullptr) {
        index = std::uniform_int_distribution<size_t>(
            0, candidates->size() - 1)(*rng);
      }
      const std::string& sentence = (*candidates)[index];
      if (seen.insert(sentence).second) sentences.push_back(sentence);
    }
  }
  if (rng != nullptr) std::shuffle(sentences.begin(), sentences.end(), *rng);
  return absl::StrJoin(sentences, " ");
}

std::vector<ZeroShotPromptSet> MammoClipZeroShotPrompts() {
  return {
      {"mass", {"no mass", "mass"}, {"no mass", "mass"}},
      {"suspicious_calcification",
       {"no suspicious calcification", "suspicious calcification"},
       {"no suspicious calcification", "suspicious calcification"}},
      {"malignancy",
       {"no malignancy", "malignancy"},
       {"no malignancy", "malignancy"}},
  };
}

}  // namespace mammovl::text
