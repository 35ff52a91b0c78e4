#include "data/synth/cohort.h"

#include <set>
#include <string>

#include "core/status_matchers.h"
#include "data/synth/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

SynthConfig Resolved(const std::string& preset_name, int patients) {
  SynthConfig c;
  SynthConfig::Preset preset = SynthConfig::DEMO;
  EXPECT_TRUE(SynthConfig::Preset_Parse(preset_name, &preset));
  c.set_preset(preset);
  c.set_num_patients(patients);
  absl::StatusOr<SynthConfig> r = ResolveSynthConfig(c);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

TEST(SynthConfigTest, PresetsSetSizesAndUserFieldsWin) {
  SynthConfig c;
  c.set_preset(SynthConfig::REALISTIC);
  c.set_num_patients(3);
  MVL_ASSERT_OK_AND_ASSIGN(const SynthConfig r, ResolveSynthConfig(c));
  EXPECT_EQ(r.rows(), 3328);
  EXPECT_EQ(r.columns(), 2560);
  EXPECT_EQ(r.outputs().png_height(), 1520);
  EXPECT_EQ(r.num_patients(), 3);  // user value beats the preset's 24
  EXPECT_EQ(r.rates().density_weights_size(), 4);
  EXPECT_EQ(r.encoding().bits_stored_size(), 3);

  MVL_ASSERT_OK_AND_ASSIGN(const SynthConfig demo, ResolveSynthConfig(SynthConfig()));
  EXPECT_EQ(demo.preset(), SynthConfig::DEMO);
  EXPECT_EQ(demo.rows(), 512);
  EXPECT_EQ(demo.columns(), 304);
}

TEST(SynthConfigTest, RejectsBadFieldsByName) {
  SynthConfig c;
  c.set_rows(10);
  EXPECT_THAT(ResolveSynthConfig(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rows")));
  c = SynthConfig();
  c.mutable_rates()->set_mass(1.5);
  EXPECT_THAT(ResolveSynthConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rates.mass")));
  c = SynthConfig();
  c.mutable_appearance()->set_mass_contrast_min(0.3);
  c.mutable_appearance()->set_mass_contrast_max(0.2);
  EXPECT_THAT(ResolveSynthConfig(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("appearance.mass_contrast_min")));
  c = SynthConfig();
  c.mutable_encoding()->set_jpeg_ls_fraction(0.6);
  c.mutable_encoding()->set_jpeg2000_fraction(0.6);
  EXPECT_THAT(ResolveSynthConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("jpeg2000_fraction")));
  c = SynthConfig();
  c.mutable_encoding()->add_bits_stored(20);
  EXPECT_THAT(ResolveSynthConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("encoding.bits_stored")));
  c = SynthConfig();
  c.mutable_rates()->add_density_weights(1);
  EXPECT_THAT(ResolveSynthConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("density_weights")));
}

TEST(CohortTest, SameSeedSameCohortOtherSeedDifferent) {
  const SynthConfig c = Resolved("TINY", 12);
  MVL_ASSERT_OK_AND_ASSIGN(const auto a, SampleCohort(c));
  MVL_ASSERT_OK_AND_ASSIGN(const auto b, SampleCohort(c));
  ASSERT_EQ(a.size(), 12u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].key, b[i].key);
    EXPECT_EQ(a[i].patient_name, b[i].patient_name);
    EXPECT_EQ(a[i].breasts[0].findings.size(), b[i].breasts[0].findings.size());
    EXPECT_EQ(a[i].images[3].sop_instance_uid, b[i].images[3].sop_instance_uid);
  }
  SynthConfig other = c;
  other.set_seed(c.seed() + 1);
  MVL_ASSERT_OK_AND_ASSIGN(const auto d, SampleCohort(other));
  int same_names = 0;
  for (size_t i = 0; i < a.size(); ++i) same_names += a[i].patient_name == d[i].patient_name;
  EXPECT_LT(same_names, 6);
}

TEST(CohortTest, IdentifiersAreUniqueAndWellFormed) {
  const SynthConfig c = Resolved("DEMO", 200);
  MVL_ASSERT_OK_AND_ASSIGN(const auto cohort, SampleCohort(c));
  std::set<std::string> keys, images, uids;
  for (const Patient& p : cohort) {
    EXPECT_TRUE(keys.insert(p.key).second) << p.key;
    ASSERT_EQ(p.images.size(), 4u);
    for (const ImageInfo& img : p.images) {
      EXPECT_TRUE(images.insert(img.image_key).second) << img.image_key;
      EXPECT_TRUE(uids.insert(img.sop_instance_uid).second);
      EXPECT_LE(img.sop_instance_uid.size(), 64u);
      EXPECT_EQ(img.sop_instance_uid.rfind("2.25.", 0), 0u);
    }
    EXPECT_EQ(p.birth_date.size(), 8u);
    // The fake name and MRN never double as table keys.
    EXPECT_EQ(p.patient_name.find(p.key), std::string::npos);
    EXPECT_NE(p.patient_mrn, p.key);
  }
}

TEST(CohortTest, RatesSplitAndLabelsFollowTheConfig) {
  SynthConfig c = Resolved("DEMO", 400);
  MVL_ASSERT_OK_AND_ASSIGN(const auto cohort, SampleCohort(c));
  int breasts = 0, mass = 0, calc = 0, test = 0, cancers = 0, suspicious = 0;
  int cancer_without_finding = 0, folds[4] = {0, 0, 0, 0};
  for (const Patient& p : cohort) {
    test += p.test_split;
    ++folds[p.fold];
    for (const Breast& b : p.breasts) {
      ++breasts;
      mass += b.Has(FindingType::kMass);
      calc += b.Has(FindingType::kCalcification);
      cancers += b.cancer;
      suspicious += b.birads >= 4;
      cancer_without_finding += b.cancer && b.findings.empty();
      EXPECT_GE(b.birads, 1);
      EXPECT_LE(b.birads, 5);
      if (!b.findings.empty()) {
        EXPECT_GE(b.birads, 2);
      }
    }
  }
  EXPECT_NEAR(static_cast<double>(mass) / breasts, 0.3, 0.05);
  EXPECT_NEAR(static_cast<double>(calc) / breasts, 0.3, 0.05);
  EXPECT_EQ(test, 80);  // exactly 20 %
  for (int f : folds) EXPECT_EQ(f, 100);
  EXPECT_EQ(cancer_without_finding, 0);
  EXPECT_GT(cancers, 20);
  EXPECT_GT(suspicious, cancers / 2);

  c.mutable_rates()->set_mass(0);
  c.mutable_rates()->set_calcification(0);
  MVL_ASSERT_OK_AND_ASSIGN(const auto none, SampleCohort(c));
  for (const Patient& p : none) {
    for (const Breast& b : p.breasts) {
      EXPECT_FALSE(b.Has(FindingType::kMass));
      EXPECT_FALSE(b.Has(FindingType::kCalcification));
    }
  }
}

TEST(CohortTest, ForcedTransferSyntaxAppliesToEveryImage) {
  SynthConfig c = Resolved("TINY", 5);
  c.mutable_encoding()->set_force_transfer_syntax(SynthConfig::JPEG_LS_LOSSLESS);
  MVL_ASSERT_OK_AND_ASSIGN(const auto cohort, SampleCohort(c));
  for (const Patient& p : cohort) {
    for (const ImageInfo& img : p.images) {
      EXPECT_EQ(img.transfer_syntax, SynthConfig::JPEG_LS_LOSSLESS);
    }
  }
}

}  // namespace
}  // namespace mammovl::data
