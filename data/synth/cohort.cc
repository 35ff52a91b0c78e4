#include "data/synth/cohort.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "data/synth/config.h"
#include "data/transforms/rng.h"

namespace mammovl::data {
namespace {

// Stream tags for `DeriveSeed`, so that adding draws to one part of the
// sampler never shifts the numbers of another.
enum Stream : uint64_t {
  kPatientStream = 1,
  kBreastStream = 2,
  kFindingStream = 3,
  kImageStream = 4,
  kIdStream = 5,
  kSplitStream = 6,
};

constexpr const char* kFirstSyllables[] = {"Mar", "Eli", "Ro", "Ta", "Vel", "Sa", "Ani",
                                           "Ka", "Lu", "Ber", "Ose", "Fi", "Gra", "Ine"};
constexpr const char* kSecondSyllables[] = {"ssa", "bet", "wen", "lia", "ora", "nda", "mira",
                                            "tte", "rin", "dis", "lka", "ona"};
constexpr const char* kLastSyllables[] = {"Hart", "Kov", "Lind", "Morr", "Quen", "Stav", "Tor",
                                          "Vask", "Wend", "Ald", "Brun", "Cald"};
constexpr const char* kLastEndings[] = {"well", "arin", "quist", "ison", "ovic", "enby",
                                        "ridge", "ault", "mere", "stead"};

struct Machine {
  int id;
  const char* manufacturer;
  const char* model;
};
constexpr Machine kMachines[] = {
    {49, "HOLOGIC, Inc.", "Selenia Dimensions"}, {21, "HOLOGIC, Inc.", "Lorad Selenia"},
    {29, "GE MEDICAL SYSTEMS", "Senographe Essential"}, {48, "GE MEDICAL SYSTEMS", "Senographe Pristina"},
    {93, "SIEMENS", "Mammomat Inspiration"},           {216, "HOLOGIC, Inc.", "Selenia Dimensions"},
};

constexpr const char* kRaces[] = {"Caucasian or White", "African American  or Black", "Asian",
                                  "Unknown, Unavailable or Unreported",
                                  "Native Hawaiian or Other Pacific Islander",
                                  "American Indian or Alaskan Native", "Multiple"};
const std::vector<double> kRaceWeights = {45, 35, 8, 7, 1, 1, 3};
constexpr const char* kEthnicities[] = {"Non-Hispanic or Latino", "Hispanic or Latino",
                                        "Unknown"};
const std::vector<double> kEthnicityWeights = {85, 8, 7};

std::string Uid128(uint64_t seed, std::initializer_list<uint64_t> tags) {
  const uint64_t hi = DeriveSeed(seed, tags);
  const uint64_t lo = Mix64(hi ^ 0xA5A5A5A5A5A5A5A5ULL);
  unsigned __int128 v = (static_cast<unsigned __int128>(hi) << 64) | lo;
  std::string digits;
  if (v == 0) digits = "0";
  while (v > 0) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  std::reverse(digits.begin(), digits.end());
  return "2.25." + digits;  // UUID-derived OID (ITU-T X.667)
}

// Places a new finding so it does not overlap earlier ones in the same breast.
void PlaceFinding(Rng& rng, const std::vector<Finding>& others, Finding& f) {
  for (int attempt = 0; attempt < 12; ++attempt) {
    f.depth = rng.Uniform(0.18, 0.82);
    f.medial = rng.Uniform(-0.75, 0.75);
    f.superior = rng.Uniform(-0.7, 0.7);
    bool clear = true;
    for (const Finding& o : others) {
      const double d = std::hypot(f.depth - o.depth, 0.5 * (f.medial - o.medial)) +
                       0.25 * std::fabs(f.superior - o.superior);
      if (d < 0.25) clear = false;
    }
    if (clear) return;
  }
}

int BiradsFromSuspicion(double p_malignant) {
  if (p_malignant >= 0.8) return 5;
  if (p_malignant >= 0.3) return 4;
  if (p_malignant >= 0.04) return 3;
  return 2;
}

Finding SampleMass(Rng& rng, const Appearance& a) {
  Finding f;
  f.type = FindingType::kMass;
  const double u = rng.Uniform();
  f.shape = u < 0.25 ? MassShape::kRound : (u < 0.6 ? MassShape::kOval : MassShape::kIrregular);
  const double v = rng.Uniform();
  if (f.shape == MassShape::kIrregular) {
    f.margin = v < 0.1 ? MassMargin::kCircumscribed
                       : (v < 0.5 ? MassMargin::kIndistinct : MassMargin::kSpiculated);
  } else {
    f.margin = v < 0.7 ? MassMargin::kCircumscribed
                       : (v < 0.95 ? MassMargin::kIndistinct : MassMargin::kSpiculated);
  }
  // Log-uniform diameter: small masses are more common.
  f.size_mm = std::exp(rng.Uniform(std::log(a.mass_diameter_mm_min()),
                                   std::log(a.mass_diameter_mm_max())));
  f.contrast = rng.Uniform(a.mass_contrast_min(), a.mass_contrast_max());
  f.aspect = f.shape == MassShape::kRound  ? rng.Uniform(0.9, 1.0)
             : f.shape == MassShape::kOval ? rng.Uniform(0.55, 0.8)
                                           : rng.Uniform(0.7, 1.0);
  f.angle_rad = rng.Uniform(0, M_PI);
  double p = 0.05;
  if (f.margin == MassMargin::kSpiculated) {
    p = 0.85;
  } else if (f.shape == MassShape::kIrregular) {
    p = 0.55;
  } else if (f.margin == MassMargin::kIndistinct) {
    p = 0.3;
  } else if (f.shape == MassShape::kOval) {
    p = 0.06;
  } else {
    p = 0.03;
  }
  f.birads = BiradsFromSuspicion(p);
  f.malignant = rng.Bernoulli(p);
  return f;
}

Finding SampleCalcification(Rng& rng, const Appearance& a) {
  Finding f;
  f.type = FindingType::kCalcification;
  f.calc_morphology = static_cast<CalcMorphology>(rng.Categorical({0.3, 0.25, 0.3, 0.15}));
  f.calc_distribution =
      f.calc_morphology == CalcMorphology::kFineLinearBranching
          ? (rng.Bernoulli(0.6) ? CalcDistribution::kLinear : CalcDistribution::kSegmental)
          : static_cast<CalcDistribution>(rng.Categorical({0.6, 0.1, 0.15, 0.15}));
  switch (f.calc_distribution) {
    case CalcDistribution::kGrouped: f.size_mm = rng.Uniform(4, 10); break;
    case CalcDistribution::kLinear: f.size_mm = rng.Uniform(6, 14); break;
    case CalcDistribution::kSegmental: f.size_mm = rng.Uniform(10, 20); break;
    case CalcDistribution::kRegional: f.size_mm = rng.Uniform(14, 26); break;
  }
  f.calc_count = static_cast<int>(rng.UniformInt(a.calc_count_min(), a.calc_count_max()));
  if (f.calc_distribution == CalcDistribution::kRegional) f.calc_count += f.calc_count / 2;
  f.contrast = rng.Uniform(a.calc_contrast_min(), a.calc_contrast_max());
  f.speck_mm = rng.Uniform(a.speck_mm_min(), a.speck_mm_max());
  if (f.calc_morphology == CalcMorphology::kAmorphous) {
    f.contrast *= 0.75;
    f.speck_mm = std::max(a.speck_mm_min(), 0.7 * f.speck_mm);
  }
  double p = 0.05;
  switch (f.calc_morphology) {
    case CalcMorphology::kPunctate: p = 0.04; break;
    case CalcMorphology::kAmorphous: p = 0.2; break;
    case CalcMorphology::kFinePleomorphic: p = 0.45; break;
    case CalcMorphology::kFineLinearBranching: p = 0.7; break;
  }
  if (f.calc_distribution == CalcDistribution::kLinear ||
      f.calc_distribution == CalcDistribution::kSegmental) {
    p = std::min(0.95, p + 0.15);
  }
  f.birads = BiradsFromSuspicion(p);
  f.malignant = rng.Bernoulli(p);
  return f;
}

Finding SampleDensityFinding(Rng& rng, FindingType type, const Appearance& a) {
  Finding f;
  f.type = type;
  double p = 0.05;
  switch (type) {
    case FindingType::kFocalAsymmetry:
      f.size_mm = rng.Uniform(15, 35);
      f.contrast = rng.Uniform(0.05, 0.09);
      p = 0.08;
      f.birads = 3;
      break;
    case FindingType::kAsymmetry:
      f.size_mm = rng.Uniform(20, 45);
      f.contrast = rng.Uniform(0.04, 0.08);
      p = 0.02;
      f.birads = rng.Bernoulli(0.6) ? 3 : 2;
      if (rng.Bernoulli(0.5)) {
        f.visible_cc = false;
      } else {
        f.visible_mlo = false;
      }
      break;
    case FindingType::kArchitecturalDistortion:
      f.size_mm = rng.Uniform(12, 30);
      f.contrast = 0.6 * rng.Uniform(a.mass_contrast_min(), a.mass_contrast_max());
      p = 0.5;
      f.birads = 4;
      break;
    default:
      break;
  }
  f.angle_rad = rng.Uniform(0, M_PI);
  f.malignant = rng.Bernoulli(p);
  return f;
}

BreastShape SampleShape(Rng& rng, int density) {
  BreastShape s;
  s.cc_depth = rng.Uniform(0.58, 0.8);
  s.cc_half_height = rng.Uniform(0.3, 0.4);
  s.cc_center_y = rng.Uniform(0.47, 0.53);
  s.exponent = rng.Uniform(1.7, 2.5);
  s.mlo_depth = std::min(0.86, s.cc_depth * rng.Uniform(0.97, 1.08));
  s.mlo_nipple_y = rng.Uniform(0.5, 0.6);
  s.mlo_axilla_width = rng.Uniform(0.2, 0.32);
  s.mlo_bottom_y = rng.Uniform(0.86, 0.96);
  s.lower_exponent = rng.Uniform(1.6, 2.4);
  s.pectoral_top_x = s.mlo_axilla_width * rng.Uniform(0.7, 0.95);
  s.pectoral_left_y = rng.Uniform(0.32, 0.5);
  s.nipple_length = rng.Uniform(0.008, 0.018);
  for (double& w : s.wobble) w = rng.Normal(0, 0.018);
  s.fat_level = rng.Uniform(0.26, 0.34);
  s.gland_level = 0.24 + 0.03 * density + rng.Uniform(-0.02, 0.02);
  return s;
}

}  // namespace

bool Breast::Has(FindingType type) const {
  for (const Finding& f : findings) {
    if (f.type == type) return true;
  }
  return false;
}

bool Breast::HasInView(FindingType type, View view) const {
  for (const Finding& f : findings) {
    if (f.type == type && (view == View::kCC ? f.visible_cc : f.visible_mlo)) return true;
  }
  return false;
}

const char* SideLetter(Side side) { return side == Side::kRight ? "R" : "L"; }
const char* SideWord(Side side) { return side == Side::kRight ? "right" : "left"; }
const char* ViewName(View view) { return view == View::kCC ? "CC" : "MLO"; }
const char* DensityLetter(int density) {
  static constexpr const char* kLetters[] = {"A", "B", "C", "D"};
  return kLetters[std::clamp(density, 0, 3)];
}

const char* VindrCategory(FindingType type) {
  switch (type) {
    case FindingType::kMass: return "Mass";
    case FindingType::kCalcification: return "Suspicious Calcification";
    case FindingType::kFocalAsymmetry: return "Focal Asymmetry";
    case FindingType::kAsymmetry: return "Asymmetry";
    case FindingType::kArchitecturalDistortion: return "Architectural Distortion";
  }
  return "No Finding";
}

absl::StatusOr<std::vector<Patient>> SampleCohort(const SynthConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateSynthConfig(config));
  const uint64_t seed = config.seed();
  const FindingRates& rates = config.rates();
  const Appearance& appearance = config.appearance();
  const Encoding& encoding = config.encoding();
  const int n = config.num_patients();

  // Split and folds: a seeded permutation, so the test fraction is exact and
  // folds are balanced.
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  Rng split_rng(DeriveSeed(seed, {kSplitStream}));
  split_rng.Shuffle(order);
  const int num_test = static_cast<int>(std::lround(n * config.outputs().test_fraction()));
  std::vector<bool> is_test(n, false);
  std::vector<int> fold(n, 0);
  for (int r = 0; r < n; ++r) {
    is_test[order[r]] = r < num_test;
    fold[order[r]] = r % config.outputs().num_folds();
  }

  std::vector<double> density_weights(rates.density_weights().begin(),
                                      rates.density_weights().end());
  std::set<std::string> used_image_keys;
  std::set<std::string> used_study_keys;
  std::vector<Patient> patients(n);
  for (int i = 0; i < n; ++i) {
    Patient& p = patients[i];
    Rng rng(DeriveSeed(seed, {kPatientStream, static_cast<uint64_t>(i)}));
    Rng ids(DeriveSeed(seed, {kIdStream, static_cast<uint64_t>(i)}));
    p.index = i;
    p.key = absl::StrCat(10000 + 13 * i + ids.UniformInt(0, 12));
    do {
      p.study_key = absl::StrCat(ids.UniformInt(1000000000LL, 9999999999LL));
    } while (!used_study_keys.insert(p.study_key).second);
    p.series_key = Uid128(seed, {kIdStream, static_cast<uint64_t>(i), 77});
    p.patient_name =
        absl::StrCat(kLastSyllables[ids.UniformInt(0, 11)], kLastEndings[ids.UniformInt(0, 9)],
                     "^", kFirstSyllables[ids.UniformInt(0, 13)],
                     kSecondSyllables[ids.UniformInt(0, 11)]);
    for (char& c : p.patient_name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    p.patient_mrn = absl::StrFormat("MRN%08d", static_cast<int>(ids.UniformInt(0, 99999999)));
    p.accession_number = absl::StrFormat("ACC%07d", static_cast<int>(ids.UniformInt(0, 9999999)));
    p.study_instance_uid = Uid128(seed, {kIdStream, static_cast<uint64_t>(i), 1});
    p.age = static_cast<int>(rng.UniformInt(40, 79));
    const int year = static_cast<int>(rng.UniformInt(2016, 2022));
    const int month = static_cast<int>(rng.UniformInt(1, 12));
    const int day = static_cast<int>(rng.UniformInt(1, 28));
    p.study_date = absl::StrFormat("%04d%02d%02d", year, month, day);
    p.birth_date = absl::StrFormat("%04d%02d%02d", year - p.age - (rng.Bernoulli(0.5) ? 1 : 0),
                                   static_cast<int>(rng.UniformInt(1, 12)),
                                   static_cast<int>(rng.UniformInt(1, 28)));
    p.study_description =
        rng.Bernoulli(0.85) ? "MG Screening Bilateral" : "MG Diagnostic Bilateral";
    p.race = kRaces[rng.Categorical(kRaceWeights)];
    p.ethnicity = kEthnicities[rng.Categorical(kEthnicityWeights)];
    const Machine& machine = kMachines[rng.UniformInt(0, std::size(kMachines) - 1)];
    p.machine_id = machine.id;
    p.manufacturer = machine.manufacturer;
    p.model_name = machine.model;
    p.site_id = machine.id % 2 == 0 ? 2 : 1;
    p.test_split = is_test[i];
    p.fold = fold[i];

    const int patient_density = rng.Categorical(density_weights);
    // Exam-level encoding: one unit writes one photometric and bit depth.
    const bool monochrome1 = rng.Bernoulli(encoding.monochrome1_fraction());
    const int bits_stored =
        encoding.bits_stored(static_cast<int>(rng.UniformInt(0, encoding.bits_stored_size() - 1)));

    for (int s = 0; s < 2; ++s) {
      Breast& b = p.breasts[s];
      b.side = static_cast<Side>(s);
      b.seed = DeriveSeed(seed, {kBreastStream, static_cast<uint64_t>(i), static_cast<uint64_t>(s)});
      Rng brng(b.seed);
      b.density = patient_density;
      if (brng.Bernoulli(0.1)) {
        b.density = std::clamp(patient_density + (brng.Bernoulli(0.5) ? 1 : -1), 0, 3);
      }
      b.shape = SampleShape(brng, b.density);
      b.coarse_benign_calcs = brng.Bernoulli(rates.coarse_benign_calcs());

      Rng frng(DeriveSeed(seed, {kFindingStream, static_cast<uint64_t>(i), static_cast<uint64_t>(s)}));
      auto add = [&](Finding f) {
        PlaceFinding(frng, b.findings, f);
        f.seed = frng.NextU64();
        b.findings.push_back(f);
      };
      if (frng.Bernoulli(rates.mass())) {
        add(SampleMass(frng, appearance));
        if (frng.Bernoulli(0.08)) add(SampleMass(frng, appearance));
      }
      if (frng.Bernoulli(rates.calcification())) add(SampleCalcification(frng, appearance));
      if (frng.Bernoulli(rates.focal_asymmetry())) {
        add(SampleDensityFinding(frng, FindingType::kFocalAsymmetry, appearance));
      }
      if (frng.Bernoulli(rates.asymmetry())) {
        add(SampleDensityFinding(frng, FindingType::kAsymmetry, appearance));
      }
      if (frng.Bernoulli(rates.architectural_distortion())) {
        add(SampleDensityFinding(frng, FindingType::kArchitecturalDistortion, appearance));
      }

      int birads = 1;
      b.cancer = false;
      for (const Finding& f : b.findings) {
        birads = std::max(birads, f.birads);
        b.cancer = b.cancer || f.malignant;
      }
      if (b.findings.empty() && b.coarse_benign_calcs && frng.Bernoulli(0.5)) birads = 2;
      if (frng.Bernoulli(rates.birads_noise())) {
        birads += frng.Bernoulli(0.5) ? 1 : -1;
        birads = std::clamp(birads, b.findings.empty() ? 1 : 2, 5);
      }
      b.birads = birads;
    }

    Rng irng(DeriveSeed(seed, {kImageStream, static_cast<uint64_t>(i)}));
    for (int s = 0; s < 2; ++s) {
      for (int v = 0; v < 2; ++v) {
        ImageInfo img;
        img.side = static_cast<Side>(s);
        img.view = static_cast<View>(v);
        do {
          img.image_key = absl::StrCat(irng.UniformInt(100000000LL, 2147483647LL));
        } while (!used_image_keys.insert(img.image_key).second);
        const uint64_t tag = static_cast<uint64_t>(s * 2 + v);
        img.sop_instance_uid = Uid128(seed, {kImageStream, static_cast<uint64_t>(i), tag, 1});
        img.series_instance_uid = Uid128(seed, {kImageStream, static_cast<uint64_t>(i), tag, 2});
        if (encoding.has_force_transfer_syntax() &&
            encoding.force_transfer_syntax() != SynthConfig::TRANSFER_SYNTAX_UNSPECIFIED) {
          img.transfer_syntax = encoding.force_transfer_syntax();
          irng.Uniform();  // keep the stream aligned with the unforced case
        } else {
          const double u = irng.Uniform();
          const double ls = encoding.jpeg_ls_fraction();
          const double j2k = ls + encoding.jpeg2000_fraction();
          const double implicit = j2k + encoding.implicit_vr_fraction();
          img.transfer_syntax = u < ls         ? SynthConfig::JPEG_LS_LOSSLESS
                                : u < j2k      ? SynthConfig::JPEG_2000_LOSSLESS
                                : u < implicit ? SynthConfig::IMPLICIT_VR_LITTLE_ENDIAN
                                               : SynthConfig::EXPLICIT_VR_LITTLE_ENDIAN;
        }
        img.monochrome1 = monochrome1;
        img.bits_stored = bits_stored;
        img.seed = irng.NextU64();
        p.images.push_back(img);
      }
    }
  }
  return patients;
}

}  // namespace mammovl::data
