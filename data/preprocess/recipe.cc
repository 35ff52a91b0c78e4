#include "data/preprocess/recipe.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mammovl::data {

absl::StatusOr<ImageRecipe> PresetRecipe(PreprocessConfig::Preset preset) {
  ImageRecipe recipe;
  switch (preset) {
    case PreprocessConfig::MAMMOCLIP:
      recipe.set_trim_border(5);
      recipe.mutable_min_max()->set_apply_rescale(true);
      recipe.set_output_bits(8);
      recipe.mutable_breast_crop();
      recipe.mutable_fixed_size()->set_width(912);
      recipe.mutable_fixed_size()->set_height(1520);
      return recipe;
    case PreprocessConfig::MAMA:
      recipe.mutable_scale_by_max();
      recipe.set_output_bits(8);
      recipe.set_long_side(1024);
      return recipe;
    case PreprocessConfig::CUSTOM:
      return recipe;
    default:
      return absl::InvalidArgumentError("preset: no preset selected");
  }
}

absl::Status ValidateRecipe(const ImageRecipe& r) {
  if (r.trim_border() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "recipe.trim_border must be >= 0 (got ", r.trim_border(), ")"));
  }
  if (r.intensity_case() == ImageRecipe::INTENSITY_NOT_SET) {
    return absl::InvalidArgumentError(
        "recipe.intensity: choose one of min_max, scale_by_max, window");
  }
  if (r.output_bits() != 8 && r.output_bits() != 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "recipe.output_bits must be 8 or 16 (got ", r.output_bits(), ")"));
  }
  if (r.has_scale_by_max() && r.output_bits() != 8) {
    return absl::InvalidArgumentError(
        "recipe.scale_by_max writes 8-bit images only");
  }
  if (r.has_window()) {
    const WindowIntensity& w = r.window();
    if (w.has_center() != w.has_width()) {
      return absl::InvalidArgumentError(
          "recipe.window: set both center and width, or neither");
    }
    if (w.has_width() && w.width() <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "recipe.window.width must be > 0 (got ", w.width(), ")"));
    }
    if (w.index() < 0)
      return absl::InvalidArgumentError("recipe.window.index must be >= 0");
  }
  if (r.has_breast_crop()) {
    const BreastCropConfig& c = r.breast_crop();
    if (c.band_fraction() <= 0 || c.band_fraction() > 0.5) {
      return absl::InvalidArgumentError(absl::StrCat(
          "recipe.breast_crop.band_fraction must be in (0, 0.5] (got ",
          c.band_fraction(), ")"));
    }
  }
  if (r.has_fixed_size() &&
      (r.fixed_size().width() <= 0 || r.fixed_size().height() <= 0 ||
       r.fixed_size().width() > 65535 || r.fixed_size().height() > 65535)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "recipe.fixed_size must be positive and <= 65535 (got ",
        r.fixed_size().width(), "x", r.fixed_size().height(), ")"));
  }
  if (r.resize_case() == ImageRecipe::kLongSide &&
      (r.long_side() <= 0 || r.long_side() > 65535)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "recipe.long_side must be in [1, 65535] (got ", r.long_side(), ")"));
  }
  if (r.pad_to_aspect() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "recipe.pad_to_aspect must be >= 0 (got ", r.pad_to_aspect(), ")"));
  }
  if (r.has_flip() && r.flip().breast_side() == FlipConfig::SIDE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "recipe.flip.breast_side must be LEFT or RIGHT");
  }
  if (r.png_compression() < -1 || r.png_compression() > 9) {
    return absl::InvalidArgumentError(
        absl::StrCat("recipe.png_compression must be -1 or in [0, 9] (got ",
                     r.png_compression(), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ImageRecipe> BuildRecipe(const PreprocessConfig& config) {
  MVL_ASSIGN_OR_RETURN(ImageRecipe recipe, PresetRecipe(config.preset()));
  recipe.MergeFrom(config.recipe());
  MVL_RETURN_IF_ERROR(ValidateRecipe(recipe));
  return recipe;
}

absl::Status ValidatePreprocessConfig(const PreprocessConfig& c) {
  switch (c.mode()) {
    case PreprocessConfig::PREPROCESS:
      break;
    case PreprocessConfig::MAP_BOXES: {
      const BoxMappingConfig& m = c.map_boxes();
      if (m.annotations_csv().empty()) {
        return absl::InvalidArgumentError(
            "map_boxes.annotations_csv is required");
      }
      if (m.output_csv().empty()) {
        return absl::InvalidArgumentError("map_boxes.output_csv is required");
      }
      if (m.manifest_csv().empty() && c.output_dir().empty()) {
        return absl::InvalidArgumentError(
            "map_boxes.manifest_csv or output_dir is required");
      }
      return absl::OkStatus();
    }
    case PreprocessConfig::MERGE_MANIFESTS:
      if (c.output_dir().empty())
        return absl::InvalidArgumentError("output_dir is required");
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError("mode: no mode selected");
  }
  if (c.input_dir().empty() && c.input_csv().empty()) {
    return absl::InvalidArgumentError("set input_dir or input_csv");
  }
  if (c.output_dir().empty())
    return absl::InvalidArgumentError("output_dir is required");
  if (c.shard_count() < 1 || c.shard_index() < 0 ||
      c.shard_index() >= c.shard_count()) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard must satisfy 0 <= shard_index < shard_count (got ",
                     c.shard_index(), "/", c.shard_count(), ")"));
  }
  if (c.num_workers() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_workers must be >= 0 (got ", c.num_workers(), ")"));
  }
  if (c.jpeg2000_threads() < 0) {
    return absl::InvalidArgumentError("jpeg2000_threads must be >= 0");
  }
  if (c.max_failures() < -1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_failures must be >= -1 (got ", c.max_failures(), ")"));
  }
  if (c.max_failure_fraction() < 0 || c.max_failure_fraction() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_failure_fraction must be in [0, 1] (got ",
                     c.max_failure_fraction(), ")"));
  }
  if (c.patient_id_salt().empty()) {
    return absl::InvalidArgumentError("patient_id_salt must not be empty");
  }
  return BuildRecipe(c).status();
}

}  // namespace mammovl::data
