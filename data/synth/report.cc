#include "data/synth/report.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "data/transforms/rng.h"

namespace mammovl::data {
namespace {

template <size_t N>
const char* Pick(Rng& rng, const char* const (&options)[N]) {
  return options[rng.UniformInt(0, N - 1)];
}

std::string Capitalize(std::string s) {
  if (!s.empty()) s[0] = absl::ascii_toupper(static_cast<unsigned char>(s[0]));
  return s;
}

const char* ShapeWord(MassShape shape, Rng& rng) {
  switch (shape) {
    case MassShape::kRound: return "round";
    case MassShape::kOval: return "oval";
    case MassShape::kIrregular: return rng.Bernoulli(0.7) ? "irregular" : "irregularly shaped";
  }
  return "";
}

const char* MarginWord(MassMargin margin, Rng& rng) {
  switch (margin) {
    case MassMargin::kCircumscribed: return rng.Bernoulli(0.6) ? "circumscribed" : "well-circumscribed";
    case MassMargin::kIndistinct: return rng.Bernoulli(0.6) ? "indistinct" : "ill-defined";
    case MassMargin::kSpiculated: return "spiculated";
  }
  return "";
}

const char* MorphologyWord(CalcMorphology m) {
  switch (m) {
    case CalcMorphology::kPunctate: return "punctate";
    case CalcMorphology::kAmorphous: return "amorphous";
    case CalcMorphology::kFinePleomorphic: return "fine pleomorphic";
    case CalcMorphology::kFineLinearBranching: return "fine linear branching";
  }
  return "";
}

const char* DistributionWord(CalcDistribution d, Rng& rng) {
  switch (d) {
    case CalcDistribution::kGrouped: return rng.Bernoulli(0.5) ? "grouped" : "clustered";
    case CalcDistribution::kLinear: return "linear";
    case CalcDistribution::kSegmental: return "segmental";
    case CalcDistribution::kRegional: return "regional";
  }
  return "";
}

std::string DensitySentence(int density, Side side, Rng& rng) {
  const std::string breast =
      rng.Bernoulli(0.5) ? absl::StrCat("the ", SideWord(side), " breast") : "the breast";
  switch (density) {
    case 0: {
      const char* const kOptions[] = {"%s is almost entirely fatty.",
                                      "%s is composed almost entirely of fat.",
                                      "Breast composition: almost entirely fatty."};
      return Capitalize(absl::StrReplaceAll(Pick(rng, kOptions), {{"%s", breast}}));
    }
    case 1: {
      const char* const kOptions[] = {
          "There are scattered areas of fibroglandular density.",
          "%s shows scattered fibroglandular densities.",
          "Breast composition: scattered areas of fibroglandular density."};
      return Capitalize(absl::StrReplaceAll(Pick(rng, kOptions), {{"%s", breast}}));
    }
    case 2: {
      const char* const kOptions[] = {
          "%s is heterogeneously dense, which may obscure small masses.",
          "Heterogeneously dense breast tissue is present, which may obscure small masses.",
          "Breast composition: heterogeneously dense."};
      return Capitalize(absl::StrReplaceAll(Pick(rng, kOptions), {{"%s", breast}}));
    }
    default: {
      const char* const kOptions[] = {
          "%s is extremely dense, which lowers the sensitivity of mammography.",
          "The breast tissue is extremely dense.",
          "Breast composition: extremely dense."};
      return Capitalize(absl::StrReplaceAll(Pick(rng, kOptions), {{"%s", breast}}));
    }
  }
}

std::string LocationPhrase(const Finding& f, Side side, double nipple_distance_mm, Rng& rng) {
  const std::string breast = absl::StrCat(SideWord(side), " breast");
  switch (rng.UniformInt(0, 3)) {
    case 0:
      return absl::StrCat("in the ", QuadrantPhrase(f), " of the ", breast, " at ", DepthWord(f),
                          " depth");
    case 1:
      return absl::StrCat("in the ", breast, " at ", ClockPosition(f, side), " o'clock, ",
                          DepthWord(f), " depth");
    case 2: {
      const int cm = std::max(1, static_cast<int>(std::lround(f.depth * nipple_distance_mm / 10)));
      return absl::StrCat("in the ", QuadrantPhrase(f), " of the ", breast, ", ", cm,
                          " cm from the nipple");
    }
    default:
      return absl::StrCat("in the ", DepthWord(f), " ", QuadrantPhrase(f), " of the ", breast);
  }
}

std::string DescribeFinding(const Finding& f, Side side, double nipple_mm, Rng& rng) {
  const std::string where = LocationPhrase(f, side, nipple_mm, rng);
  const int size = std::max(1, static_cast<int>(std::lround(f.size_mm)));
  switch (f.type) {
    case FindingType::kMass: {
      const std::string shape = ShapeWord(f.shape, rng);
      const std::string margin = MarginWord(f.margin, rng);
      switch (rng.UniformInt(0, 2)) {
        case 0:
          return absl::StrCat("There is a ", size, " mm ", shape, " mass with ", margin,
                              " margins ", where, ".");
        case 1:
          return absl::StrCat("A ", margin, " ", shape, " mass measuring ", size, " mm is seen ",
                              where, ".");
        default:
          return absl::StrCat(Capitalize(where), " there is a ", shape, " ", margin,
                              " mass, approximately ", size, " mm.");
      }
    }
    case FindingType::kCalcification: {
      const std::string morph = MorphologyWord(f.calc_morphology);
      const std::string dist = DistributionWord(f.calc_distribution, rng);
      const std::string suspicious = f.birads >= 4 ? "suspicious " : "";
      const bool clustered = f.calc_distribution == CalcDistribution::kGrouped;
      switch (rng.UniformInt(0, clustered ? 2 : 1)) {
        case 0:
          return absl::StrCat("There are ", dist, " ", suspicious, morph, " calcifications ",
                              where, ", spanning ", size, " mm.");
        case 1:
          return absl::StrCat(Capitalize(suspicious + morph), " calcifications in a ", dist,
                              " distribution are present ", where, ".");
        default:
          return absl::StrCat("A ", size, " mm ", dist == "clustered" ? "cluster" : "group",
                              " of ", suspicious, morph, " calcifications is seen ", where, ".");
      }
    }
    case FindingType::kFocalAsymmetry:
      return rng.Bernoulli(0.5)
                 ? absl::StrCat("There is a focal asymmetry ", where, ", seen on both views.")
                 : absl::StrCat("A focal asymmetry measuring ", size, " mm is noted ", where, ".");
    case FindingType::kAsymmetry: {
      const char* view = f.visible_cc ? "craniocaudal" : "mediolateral oblique";
      return absl::StrCat("An asymmetry is seen ", where, " on the ", view, " view only.");
    }
    case FindingType::kArchitecturalDistortion:
      return rng.Bernoulli(0.5) ? absl::StrCat("There is architectural distortion ", where, ".")
                                : absl::StrCat("Architectural distortion is present ", where,
                                               ", without a discrete mass.");
  }
  return "";
}

std::string NegativeSentence(bool has_mass, bool has_calc, bool has_distortion, Rng& rng) {
  if (!has_mass && !has_calc && !has_distortion) {
    const char* const kOptions[] = {
        "There is no dominant mass, suspicious calcification or architectural distortion.",
        "No suspicious masses or calcifications are seen.",
        "No mass, suspicious calcifications, or architectural distortion.",
        "There are no suspicious masses, calcifications or areas of distortion."};
    return Pick(rng, kOptions);
  }
  if (!has_mass && has_calc) {
    const char* const kOptions[] = {"No associated mass is identified.",
                                    "There is no mass.", "No suspicious mass is seen."};
    return Pick(rng, kOptions);
  }
  if (has_mass && !has_calc) {
    const char* const kOptions[] = {"No suspicious calcifications are seen.",
                                    "There are no associated calcifications.",
                                    "No suspicious calcification is present."};
    return Pick(rng, kOptions);
  }
  return "";
}

std::string ImpressionFor(const Breast& breast, Side side, Rng& rng) {
  std::string main;
  const Finding* worst = nullptr;
  for (const Finding& f : breast.findings) {
    if (worst == nullptr || f.birads > worst->birads) worst = &f;
  }
  if (worst != nullptr) {
    std::string what;
    switch (worst->type) {
      case FindingType::kMass:
        what = absl::StrCat(MarginWord(worst->margin, rng), " ", ShapeWord(worst->shape, rng),
                            " mass");
        break;
      case FindingType::kCalcification:
        what = absl::StrCat(MorphologyWord(worst->calc_morphology), " calcifications");
        break;
      case FindingType::kFocalAsymmetry: what = "focal asymmetry"; break;
      case FindingType::kAsymmetry: what = "asymmetry"; break;
      case FindingType::kArchitecturalDistortion: what = "architectural distortion"; break;
    }
    main = absl::StrCat(Capitalize(what), " in the ", QuadrantPhrase(*worst), " of the ",
                        SideWord(side), " breast. ");
  }
  switch (breast.birads) {
    case 1: {
      const char* const kOptions[] = {
          "BI-RADS 1: Negative. Routine screening mammography in one year is recommended.",
          "No mammographic evidence of malignancy. BI-RADS 1: negative.",
          "Negative mammogram, BI-RADS 1. Annual screening is recommended."};
      return main + Pick(rng, kOptions);
    }
    case 2: {
      const char* const kOptions[] = {
          "BI-RADS 2: Benign finding. Routine annual screening is recommended.",
          "Benign findings, BI-RADS 2. No mammographic evidence of malignancy.",
          "BI-RADS 2: benign. Continue routine screening."};
      return main + Pick(rng, kOptions);
    }
    case 3: {
      const char* const kOptions[] = {
          "BI-RADS 3: Probably benign finding. Short-interval follow-up in 6 months is recommended.",
          "Probably benign, BI-RADS 3. A 6 month follow-up mammogram is recommended.",
          "BI-RADS 3: probably benign. Follow-up imaging in six months."};
      return main + Pick(rng, kOptions);
    }
    case 4: {
      const char* const kOptions[] = {
          "BI-RADS 4: Suspicious abnormality. Biopsy should be considered.",
          "Suspicious abnormality, BI-RADS 4. Tissue sampling is recommended.",
          "BI-RADS 4: suspicious. Ultrasound-guided or stereotactic biopsy is recommended."};
      return main + Pick(rng, kOptions);
    }
    default: {
      const char* const kOptions[] = {
          "BI-RADS 5: Highly suggestive of malignancy. Biopsy is recommended.",
          "Highly suggestive of malignancy, BI-RADS 5. Appropriate action should be taken.",
          "BI-RADS 5: highly suspicious for malignancy. Biopsy is required."};
      return main + Pick(rng, kOptions);
    }
  }
}

}  // namespace

std::string QuadrantPhrase(const Finding& f) {
  const bool central_v = std::fabs(f.superior) < 0.2;
  const bool central_h = std::fabs(f.medial) < 0.2;
  if (central_v && central_h) return f.depth < 0.25 ? "retroareolar region" : "central region";
  const std::string vertical = f.superior >= 0 ? "upper" : "lower";
  const std::string horizontal = f.medial >= 0 ? "inner" : "outer";
  if (central_v) return absl::StrCat(horizontal, " central region");
  if (central_h) return absl::StrCat(vertical, " central region");
  return absl::StrCat(vertical, " ", horizontal, " quadrant");
}

const char* DepthWord(const Finding& f) {
  if (f.depth < 1.0 / 3) return "anterior";
  if (f.depth < 2.0 / 3) return "middle";
  return "posterior";
}

int ClockPosition(const Finding& f, Side side) {
  // Facing the patient: the lateral side of the left breast is at 3 o'clock,
  // of the right breast at 9 o'clock.
  const double viewer_x = side == Side::kLeft ? -f.medial : f.medial;
  double angle = std::atan2(viewer_x, f.superior);  // 0 at 12 o'clock, clockwise
  if (angle < 0) angle += 2 * M_PI;
  int hour = static_cast<int>(std::lround(angle / (2 * M_PI) * 12)) % 12;
  return hour == 0 ? 12 : hour;
}

BreastReport WriteBreastReport(const Patient& patient, Side side, double nipple_distance_mm,
                               uint64_t wording_seed) {
  const Breast& breast = patient.breasts[static_cast<int>(side)];
  Rng rng(wording_seed);
  BreastReport report;
  {
    const char* const kHistory[] = {"Screening.", "Routine screening mammogram.",
                                    "Annual screening. No complaints.",
                                    "Screening examination, asymptomatic."};
    report.history = Pick(rng, kHistory);
  }
  std::vector<std::string> sentences;
  if (rng.Bernoulli(0.85)) sentences.push_back(DensitySentence(breast.density, side, rng));
  std::vector<const Finding*> ordered;
  for (const Finding& f : breast.findings) ordered.push_back(&f);
  rng.Shuffle(ordered);
  for (const Finding* f : ordered) {
    sentences.push_back(DescribeFinding(*f, side, nipple_distance_mm, rng));
  }
  if (breast.coarse_benign_calcs && rng.Bernoulli(0.6)) {
    const char* const kOptions[] = {"Scattered benign-appearing coarse calcifications are noted.",
                                    "A few coarse benign calcifications are present.",
                                    "Benign vascular calcifications are seen."};
    sentences.push_back(Pick(rng, kOptions));
  }
  const bool has_mass = breast.Has(FindingType::kMass);
  const bool has_calc = breast.Has(FindingType::kCalcification);
  const bool has_distortion = breast.Has(FindingType::kArchitecturalDistortion);
  if (rng.Bernoulli(0.9)) {
    const std::string negative = NegativeSentence(has_mass, has_calc, has_distortion, rng);
    if (!negative.empty()) sentences.push_back(negative);
  }
  if (breast.findings.empty() && rng.Bernoulli(0.3)) {
    sentences.push_back("There has been no significant interval change.");
  }
  report.findings = absl::StrJoin(sentences, " ");
  report.impression = ImpressionFor(breast, side, rng);
  report.birads = absl::StrCat("BI-RADS ", breast.birads);
  switch (breast.birads) {
    case 1:
    case 2: report.recommendation = "Routine screening mammogram in 1 year."; break;
    case 3: report.recommendation = "Short-interval follow-up mammogram in 6 months."; break;
    default: report.recommendation = "Tissue sampling."; break;
  }
  return report;
}

std::string CleanReportSection(absl::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  s = absl::StrReplaceAll(s, {{".", ". "}});
  std::vector<std::string> kept;
  for (absl::string_view sentence : absl::StrSplit(s, ". ")) {
    if (sentence.empty()) continue;
    std::string lowered = absl::StrReplaceAll(sentence, {{"\xEF\xBF\xBD\xEF\xBF\xBD", " "}});
    lowered = absl::AsciiStrToLower(lowered);
    // wordpunct tokenisation: runs of word characters or of other
    // non-space characters.
    std::vector<std::string> tokens;
    std::string current;
    int current_kind = 0;  // 1 word, 2 punctuation
    auto flush = [&] {
      if (!current.empty()) tokens.push_back(current);
      current.clear();
      current_kind = 0;
    };
    for (unsigned char c : lowered) {
      int kind;
      if (absl::ascii_isspace(c)) {
        flush();
        continue;
      }
      kind = (absl::ascii_isalnum(c) || c == '_' || c >= 0x80) ? 1 : 2;
      if (kind != current_kind) flush();
      current.push_back(static_cast<char>(c));
      current_kind = kind;
    }
    flush();
    if (tokens.size() <= 1) continue;
    std::vector<std::string> ascii_tokens;
    for (const std::string& t : tokens) {
      std::string a;
      for (unsigned char c : t) {
        if (c < 0x80) a.push_back(static_cast<char>(c));
      }
      if (!a.empty()) ascii_tokens.push_back(a);
    }
    if (ascii_tokens.size() > 2) kept.push_back(absl::StrJoin(ascii_tokens, " "));
  }
  return absl::StrJoin(kept, " ");
}

}  // namespace mammovl::data
