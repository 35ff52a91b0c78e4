#include "data/synth/config.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mammovl::data {
namespace {

absl::Status CheckRange(double value, double lo, double hi, const char* field) {
  if (!(value >= lo && value <= hi)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be in [", lo, ", ", hi, "] (got ", value, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckOrdered(double lo, double hi, const char* lo_field, const char* hi_field) {
  if (lo > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat(lo_field, " must be <= ", hi_field, " (got ", lo, " vs ", hi, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

SynthConfig PresetConfig(SynthConfig::Preset preset) {
  SynthConfig c;
  switch (preset) {
    case SynthConfig::TINY:
      c.set_num_patients(8);
      c.set_rows(256);
      c.set_columns(208);
      c.mutable_outputs()->set_png_width(152);
      c.mutable_outputs()->set_png_height(256);
      break;
    case SynthConfig::REALISTIC:
      c.set_num_patients(24);
      c.set_rows(3328);
      c.set_columns(2560);
      c.set_detector_height_mm(233);
      c.mutable_outputs()->set_png_width(912);
      c.mutable_outputs()->set_png_height(1520);
      break;
    case SynthConfig::REALISTIC_LARGE:
      c.set_num_patients(8);
      c.set_rows(4096);
      c.set_columns(3328);
      c.set_detector_height_mm(290);
      c.mutable_outputs()->set_png_width(912);
      c.mutable_outputs()->set_png_height(1520);
      break;
    case SynthConfig::DEMO:
    case SynthConfig::PRESET_UNSPECIFIED:
      break;
  }
  return c;
}

absl::StatusOr<SynthConfig> ResolveSynthConfig(const SynthConfig& config) {
  const SynthConfig::Preset preset =
      config.preset() == SynthConfig::PRESET_UNSPECIFIED ? SynthConfig::DEMO : config.preset();
  SynthConfig out = PresetConfig(preset);
  out.MergeFrom(config);
  out.set_preset(preset);
  if (out.rates().density_weights_size() == 0) {
    for (double w : {1.0, 4.0, 4.0, 1.0}) out.mutable_rates()->add_density_weights(w);
  }
  if (out.encoding().bits_stored_size() == 0) {
    for (int b : {12, 14, 16}) out.mutable_encoding()->add_bits_stored(b);
  }
  MVL_RETURN_IF_ERROR(ValidateSynthConfig(out));
  return out;
}

absl::Status ValidateSynthConfig(const SynthConfig& c) {
  MVL_RETURN_IF_ERROR(CheckRange(c.num_patients(), 1, 1000000, "num_patients"));
  MVL_RETURN_IF_ERROR(CheckRange(c.rows(), 64, 8192, "rows"));
  MVL_RETURN_IF_ERROR(CheckRange(c.columns(), 64, 8192, "columns"));
  MVL_RETURN_IF_ERROR(CheckRange(c.detector_height_mm(), 10, 1000, "detector_height_mm"));
  MVL_RETURN_IF_ERROR(CheckRange(c.num_threads(), 0, 1024, "num_threads"));
  const FindingRates& r = c.rates();
  MVL_RETURN_IF_ERROR(CheckRange(r.mass(), 0, 1, "rates.mass"));
  MVL_RETURN_IF_ERROR(CheckRange(r.calcification(), 0, 1, "rates.calcification"));
  MVL_RETURN_IF_ERROR(CheckRange(r.focal_asymmetry(), 0, 1, "rates.focal_asymmetry"));
  MVL_RETURN_IF_ERROR(CheckRange(r.asymmetry(), 0, 1, "rates.asymmetry"));
  MVL_RETURN_IF_ERROR(
      CheckRange(r.architectural_distortion(), 0, 1, "rates.architectural_distortion"));
  MVL_RETURN_IF_ERROR(CheckRange(r.coarse_benign_calcs(), 0, 1, "rates.coarse_benign_calcs"));
  MVL_RETURN_IF_ERROR(CheckRange(r.birads_noise(), 0, 1, "rates.birads_noise"));
  if (r.density_weights_size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rates.density_weights needs 4 values (A, B, C, D), got ", r.density_weights_size()));
  }
  double total = 0;
  for (double w : r.density_weights()) {
    MVL_RETURN_IF_ERROR(CheckRange(w, 0, 1e9, "rates.density_weights"));
    total += w;
  }
  if (total <= 0) return absl::InvalidArgumentError("rates.density_weights are all zero");

  const Appearance& a = c.appearance();
  MVL_RETURN_IF_ERROR(CheckRange(a.mass_contrast_min(), 0, 1, "appearance.mass_contrast_min"));
  MVL_RETURN_IF_ERROR(CheckRange(a.mass_contrast_max(), 0, 1, "appearance.mass_contrast_max"));
  MVL_RETURN_IF_ERROR(CheckOrdered(a.mass_contrast_min(), a.mass_contrast_max(),
                                   "appearance.mass_contrast_min", "appearance.mass_contrast_max"));
  MVL_RETURN_IF_ERROR(
      CheckRange(a.mass_diameter_mm_min(), 1, 100, "appearance.mass_diameter_mm_min"));
  MVL_RETURN_IF_ERROR(
      CheckRange(a.mass_diameter_mm_max(), 1, 100, "appearance.mass_diameter_mm_max"));
  MVL_RETURN_IF_ERROR(CheckOrdered(a.mass_diameter_mm_min(), a.mass_diameter_mm_max(),
                                   "appearance.mass_diameter_mm_min",
                                   "appearance.mass_diameter_mm_max"));
  MVL_RETURN_IF_ERROR(CheckRange(a.calc_contrast_min(), 0, 1, "appearance.calc_contrast_min"));
  MVL_RETURN_IF_ERROR(CheckRange(a.calc_contrast_max(), 0, 1, "appearance.calc_contrast_max"));
  MVL_RETURN_IF_ERROR(CheckOrdered(a.calc_contrast_min(), a.calc_contrast_max(),
                                   "appearance.calc_contrast_min", "appearance.calc_contrast_max"));
  MVL_RETURN_IF_ERROR(CheckRange(a.speck_mm_min(), 0.05, 5, "appearance.speck_mm_min"));
  MVL_RETURN_IF_ERROR(CheckRange(a.speck_mm_max(), 0.05, 5, "appearance.speck_mm_max"));
  MVL_RETURN_IF_ERROR(CheckOrdered(a.speck_mm_min(), a.speck_mm_max(), "appearance.speck_mm_min",
                                   "appearance.speck_mm_max"));
  MVL_RETURN_IF_ERROR(CheckRange(a.calc_count_min(), 1, 200, "appearance.calc_count_min"));
  MVL_RETURN_IF_ERROR(CheckRange(a.calc_count_max(), 1, 200, "appearance.calc_count_max"));
  MVL_RETURN_IF_ERROR(CheckOrdered(a.calc_count_min(), a.calc_count_max(),
                                   "appearance.calc_count_min", "appearance.calc_count_max"));
  MVL_RETURN_IF_ERROR(CheckRange(a.quantum_noise(), 0, 0.2, "appearance.quantum_noise"));
  MVL_RETURN_IF_ERROR(CheckRange(a.texture_strength(), 0, 3, "appearance.texture_strength"));

  const Encoding& e = c.encoding();
  MVL_RETURN_IF_ERROR(CheckRange(e.jpeg_ls_fraction(), 0, 1, "encoding.jpeg_ls_fraction"));
  MVL_RETURN_IF_ERROR(CheckRange(e.jpeg2000_fraction(), 0, 1, "encoding.jpeg2000_fraction"));
  MVL_RETURN_IF_ERROR(
      CheckRange(e.implicit_vr_fraction(), 0, 1, "encoding.implicit_vr_fraction"));
  MVL_RETURN_IF_ERROR(
      CheckRange(e.monochrome1_fraction(), 0, 1, "encoding.monochrome1_fraction"));
  const double syntax_total =
      e.jpeg_ls_fraction() + e.jpeg2000_fraction() + e.implicit_vr_fraction();
  if (syntax_total > 1 + 1e-9) {
    return absl::InvalidArgumentError(absl::StrCat(
        "encoding: jpeg_ls_fraction + jpeg2000_fraction + implicit_vr_fraction must be <= 1 "
        "(got ",
        syntax_total, ")"));
  }
  if (e.bits_stored_size() == 0) {
    return absl::InvalidArgumentError("encoding.bits_stored is empty");
  }
  for (int b : e.bits_stored()) {
    MVL_RETURN_IF_ERROR(CheckRange(b, 8, 16, "encoding.bits_stored"));
  }

  const Outputs& o = c.outputs();
  MVL_RETURN_IF_ERROR(CheckRange(o.png_width(), 16, 8192, "outputs.png_width"));
  MVL_RETURN_IF_ERROR(CheckRange(o.png_height(), 16, 8192, "outputs.png_height"));
  MVL_RETURN_IF_ERROR(CheckRange(o.test_fraction(), 0, 0.9, "outputs.test_fraction"));
  MVL_RETURN_IF_ERROR(CheckRange(o.num_folds(), 2, 10, "outputs.num_folds"));
  return absl::OkStatus();
}

}  // namespace mammovl::data
