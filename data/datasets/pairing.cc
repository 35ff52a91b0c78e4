#include "data/datasets/pairing.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace mammovl::data {
namespace {

const char* const kFindings[] = {
    "Mass",          "Suspicious Calcification", "Architectural Distortion", "Global Asymmetry",
    "Focal Asymmetry", "Asymmetry",              "Suspicious Lymph Node",    "Nipple Retraction",
    "Skin Retraction", "Skin Thickening"};

const std::vector<std::string>& Empty() {
  static const std::vector<std::string>* empty = new std::vector<std::string>();
  return *empty;
}

}  // namespace

FindingPrompts FindingPrompts::BuiltIn() {
  FindingPrompts p;
  const char* const positions[] = {"",           "upper",       "lower",       "inner",
                                   "outer",      "upper outer", "upper inner", "lower outer",
                                   "lower inner"};
  const char* const depths[] = {"", "anterior", "middle", "posterior"};
  auto located = [&](const std::string& head, const std::string& side, bool with_depth) {
    std::vector<std::string> out;
    for (const char* pos : positions) {
      const std::string where =
          absl::StrCat(" in the ", pos, *pos ? " " : "", side, " breast");
      if (!with_depth) {
        out.push_back(head + where);
        continue;
      }
      for (const char* depth : depths) {
        out.push_back(absl::StrCat(head, where, *depth ? absl::StrCat(" at ", depth, " depth") : ""));
      }
    }
    return out;
  };
  for (const std::string side : {"right", "left"}) {
    const std::string pos_slot = "pos_" + side;
    const std::string neg_slot = "neg_" + side;
    auto& mass = p.table_["Mass"][pos_slot];
    for (const char* sub : {"suspicious", "possible", "new", "irregular", "spiculated",
                            "indeterminate", "questioned"}) {
      for (std::string s : located(absl::StrCat("there is a ", sub, " mass"), side, true)) {
        mass.push_back(std::move(s));
      }
    }
    auto& calc = p.table_["Suspicious Calcification"][pos_slot];
    for (const char* sub : {"grouped", "pleomorphic", "clustered", "linear", "amorphous",
                            "fine linear branching"}) {
      for (std::string s : located(absl::StrCat("there are suspicious ", sub, " calcification"),
                                   side, true)) {
        calc.push_back(std::move(s));
      }
    }
    p.table_["Architectural Distortion"][pos_slot] =
        located("there is architectural distortion", side, true);
    p.table_["Focal Asymmetry"][pos_slot] = located("there is a focal asymmetry", side, true);
    p.table_["Asymmetry"][pos_slot] = located("there is an asymmetry", side, false);
    p.table_["Global Asymmetry"][pos_slot] = {absl::StrCat("there is a global asymmetry in the ", side, " breast")};
    p.table_["Suspicious Lymph Node"][pos_slot] = {
        absl::StrCat("there is a suspicious lymph node in the ", side, " axilla"),
        absl::StrCat("there is an enlarged lymph node in the ", side, " axilla")};
    for (const char* f : {"Nipple Retraction", "Skin Retraction", "Skin Thickening"}) {
      std::string lower = absl::AsciiStrToLower(f);
      p.table_[f][pos_slot] = {absl::StrCat("there is ", lower, " of the ", side, " breast"),
                               absl::StrCat(lower, " is seen in the ", side, " breast")};
    }
    p.table_["No Finding"][pos_slot] = {
        "no mammographic evidence of malignancy", "there are no suspicious findings",
        absl::StrCat("the ", side, " breast is normal"),
        absl::StrCat("no suspicious abnormality in the ", side, " breast")};
    p.table_["Mass"][neg_slot] = {"there is no suspicious mass seen", "there is no mass",
                                  absl::StrCat("no suspicious mass is seen in the ", side, " breast")};
    p.table_["Suspicious Calcification"][neg_slot] = {
        "there are no suspicious calcification present", "no suspicious calcifications",
        absl::StrCat("there is no suspicious calcification in the ", side, " breast")};
    for (const char* f : kFindings) {
      if (!p.table_[f][neg_slot].empty()) continue;
      p.table_[f][neg_slot] = {absl::StrCat("there is no ", absl::AsciiStrToLower(f)),
                               "there are no suspicious findings"};
    }
  }
  return p;
}

absl::StatusOr<FindingPrompts> FindingPrompts::FromJsonFile(const std::string& path) {
  MVL_ASSIGN_OR_RETURN(const std::string json, core::ReadFileToString(path));
  google::protobuf::Struct root;
  const auto parsed = google::protobuf::util::JsonStringToMessage(json, &root);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object: ", parsed.ToString()));
  }
  FindingPrompts p;
  for (const auto& [finding, value] : root.fields()) {
    if (value.kind_case() != google::protobuf::Value::kStructValue) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": '", finding, "' is not an object"));
    }
    for (const auto& [slot, list] : value.struct_value().fields()) {
      if (list.kind_case() != google::protobuf::Value::kListValue) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": '", finding, "'.'", slot, "' is not a list"));
      }
      auto& out = p.table_[finding][slot];
      for (const auto& item : list.list_value().values()) {
        if (item.kind_case() != google::protobuf::Value::kStringValue) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, ": '", finding, "'.'", slot, "' holds a non-string"));
        }
        out.push_back(item.string_value());
      }
    }
  }
  return p;
}

const std::vector<std::string>& FindingPrompts::Candidates(const std::string& finding,
                                                           const std::string& slot) const {
  auto f = table_.find(finding);
  if (f == table_.end()) return Empty();
  auto s = f->second.find(slot);
  return s == f->second.end() ? Empty() : s->second;
}

std::string FindingPrompts::Report(const std::vector<std::string>& positives,
                                   const std::string& laterality, Rng* rng) const {
  const std::string side = laterality == "R" ? "right" : "left";
  const bool normal =
      std::find(positives.begin(), positives.end(), "No Finding") != positives.end();
  std::vector<std::pair<std::string, std::string>> wanted;  // (finding, slot)
  for (const std::string& f : positives) wanted.emplace_back(f, "pos_" + side);
  if (!normal) {
    for (const char* f : kFindings) {
      if (std::find(positives.begin(), positives.end(), f) == positives.end()) {
        wanted.emplace_back(f, "neg_" + side);
      }
    }
  }
  std::set<std::string> unique;
  for (const auto& [finding, slot] : wanted) {
    const std::vector<std::string>& c = Candidates(finding, slot);
    if (c.empty()) continue;
    unique.insert(rng != nullptr ? c[rng->UniformInt(0, c.size() - 1)] : c.front());
  }
  std::vector<std::string> sentences(unique.begin(), unique.end());
  if (rng != nullptr) rng->Shuffle(sentences);
  return absl::StrJoin(sentences, " ");
}

absl::StatusOr<ExampleDrawer> ExampleDrawer::Create(const PairingConfig& config) {
  std::shared_ptr<const FindingPrompts> prompts;
  if (config.has_mammoclip()) {
    const MammoClipPairing& m = config.mammoclip();
    if (!(m.augmented_text_probability() >= 0 && m.augmented_text_probability() <= 1)) {
      return absl::InvalidArgumentError(
          "pairing.mammoclip.augmented_text_probability must be in [0, 1]");
    }
    if (m.has_prompts_json()) {
      MVL_ASSIGN_OR_RETURN(FindingPrompts p, FindingPrompts::FromJsonFile(m.prompts_json()));
      prompts = std::make_shared<FindingPrompts>(std::move(p));
    } else {
      prompts = std::make_shared<FindingPrompts>(FindingPrompts::BuiltIn());
    }
  }
  if (config.has_mama() &&
      !(config.mama().partner_probability() >= 0 && config.mama().partner_probability() <= 1)) {
    return absl::InvalidArgumentError("pairing.mama.partner_probability must be in [0, 1]");
  }
  return ExampleDrawer(config, std::move(prompts));
}

Example ExampleDrawer::DrawMammoClip(const Sample& s, Rng* rng) const {
  Example ex;
  // Images: two distinct views in random order, one image of each; else two
  // distinct images of the only view; else the one image twice.
  std::map<std::string, std::vector<size_t>> by_view;
  for (size_t i = 0; i < s.images.size(); ++i) by_view[s.images[i].view].push_back(i);
  std::vector<size_t> chosen;
  if (by_view.size() >= 2) {
    std::vector<std::string> views;
    for (const auto& [view, idx] : by_view) views.push_back(view);
    if (rng != nullptr) rng->Shuffle(views);
    for (size_t k = 0; k < 2; ++k) {
      const auto& idx = by_view[views[k]];
      chosen.push_back(rng != nullptr ? idx[rng->UniformInt(0, idx.size() - 1)] : idx.front());
    }
  } else if (s.images.size() >= 2) {
    std::vector<size_t> idx(s.images.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    if (rng != nullptr) rng->Shuffle(idx);
    chosen = {idx[0], idx[1]};
  } else {
    chosen = {0, 0};
  }
  for (size_t i : chosen) ex.images.push_back(s.images[i]);

  const MammoClipPairing& m = config_.mammoclip();
  const bool label_text = !s.image_findings.empty() && (s.texts.empty() || m.prefer_label_text());
  if (label_text) {
    for (size_t i : chosen) {
      const std::vector<std::string>& positives =
          i < s.image_findings.size() ? s.image_findings[i] : s.image_findings.front();
      ex.texts.push_back(prompts_->Report(positives, s.laterality, rng));
    }
    return ex;
  }
  if (s.texts.empty()) return ex;
  const bool has_aug = s.texts_augmented.size() == s.texts.size();
  if (rng == nullptr) {
    ex.texts = {s.texts[0], s.texts[std::min<size_t>(1, s.texts.size() - 1)]};
    return ex;
  }
  if (s.texts.size() == 1) {
    // One section: the original and its back-translation, randomly ordered.
    ex.texts = {s.texts[0], has_aug ? s.texts_augmented[0] : s.texts[0]};
    if (rng->Bernoulli(0.5)) std::swap(ex.texts[0], ex.texts[1]);
    return ex;
  }
  for (int k = 0; k < 2; ++k) {
    const size_t i = rng->UniformInt(0, s.texts.size() - 1);  // with replacement
    const bool aug = has_aug && rng->Bernoulli(m.augmented_text_probability());
    ex.texts.push_back(aug ? s.texts_augmented[i] : s.texts[i]);
  }
  return ex;
}

absl::StatusOr<Example> ExampleDrawer::Draw(const Sample& s, Rng& rng) const {
  if (s.images.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("sample '", s.id, "' has no image"));
  }
  Rng* r = config_.random() ? &rng : nullptr;
  Example ex;
  switch (config_.pairing_case()) {
    case PairingConfig::kMammoclip:
      return DrawMammoClip(s, r);
    case PairingConfig::kMama: {
      ex.images.push_back(s.images[0]);
      const bool partner = r != nullptr && !s.partners.empty() &&
                           r->Bernoulli(config_.mama().partner_probability());
      ex.images.push_back(partner ? s.partners[r->UniformInt(0, s.partners.size() - 1)]
                                  : s.images[0]);
      if (!s.texts.empty()) ex.texts.push_back(s.texts[0]);
      return ex;
    }
    case PairingConfig::kTwoAugmentations:
      ex.images = {s.images[0], s.images[0]};
      if (!s.texts.empty()) ex.texts.push_back(s.texts[0]);
      return ex;
    case PairingConfig::kSingle:
    case PairingConfig::PAIRING_NOT_SET:
      ex.images.push_back(s.images[0]);
      if (!s.texts.empty()) ex.texts.push_back(s.texts[0]);
      return ex;
  }
  return ex;
}

}  // namespace mammovl::data
