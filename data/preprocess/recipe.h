// Presets and validation of the preprocessing configuration: the effective
// per-image recipe is the preset's recipe with the fields set in
// `PreprocessConfig.recipe` merged over it. No LibTorch.
#ifndef MAMMOVL_DATA_PREPROCESS_RECIPE_H_
#define MAMMOVL_DATA_PREPROCESS_RECIPE_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/preprocess/preprocess_config.pb.h"

namespace mammovl::data {

// The recipe of a preset: MAMMOCLIP (trim 5, min-max 8-bit, breast crop,
// 912x1520 INTER_AREA), MAMA (scale by max 8-bit, long side 1024), CUSTOM
// (empty). InvalidArgument for PRESET_UNSPECIFIED.
absl::StatusOr<ImageRecipe> PresetRecipe(PreprocessConfig::Preset preset);

// Checks a complete recipe; errors name the field and the value.
absl::Status ValidateRecipe(const ImageRecipe& recipe);

// Returns the preset's recipe with `config.recipe()` merged over it,
// validated.
absl::StatusOr<ImageRecipe> BuildRecipe(const PreprocessConfig& config);

// Checks the whole configuration for the chosen mode before any work starts
// (inputs, output folder, shard, workers, policy, recipe).
absl::Status ValidatePreprocessConfig(const PreprocessConfig& config);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_PREPROCESS_RECIPE_H_
