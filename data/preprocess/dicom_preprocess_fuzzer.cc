// libFuzzer target: arbitrary bytes through what preprocess_main does with a
// file: DicomReader, then ProcessFrame (trim, intensity, breast crop,
// resize, pad, flip, PNG) with the Mammo-CLIP, MaMA and a VOI-window recipe,
// at a small output size so that each input stays fast.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "absl/strings/string_view.h"
#include "data/dicom/dicom_reader.h"
#include "data/preprocess/pipeline.h"
#include "data/preprocess/preprocess_config.pb.h"
#include "data/preprocess/recipe.h"
#include "tools/fuzz/fuzz_check.h"

namespace {

using mammovl::data::ImageRecipe;
using mammovl::data::PreprocessConfig;

std::vector<ImageRecipe> Recipes() {
  std::vector<ImageRecipe> recipes;
  ImageRecipe mammoclip =
      *mammovl::data::PresetRecipe(PreprocessConfig::MAMMOCLIP);
  mammoclip.mutable_fixed_size()->set_width(48);
  mammoclip.mutable_fixed_size()->set_height(80);
  recipes.push_back(mammoclip);
  ImageRecipe mama = *mammovl::data::PresetRecipe(PreprocessConfig::MAMA);
  mama.set_long_side(64);
  recipes.push_back(mama);
  ImageRecipe window = mama;
  window.mutable_window()->set_fallback_to_min_max(true);
  window.set_output_bits(16);
  window.set_pad_to_aspect(0.75);
  window.mutable_flip()->set_breast_side(mammovl::data::FlipConfig::LEFT);
  window.set_allow_constant_images(false);
  recipes.push_back(window);
  for (const ImageRecipe& recipe : recipes)
    MVL_FUZZ_CHECK(mammovl::data::ValidateRecipe(recipe).ok());
  return recipes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<ImageRecipe>* recipes =
      new std::vector<ImageRecipe>(Recipes());
  mammovl::data::ReadOptions options;
  options.all_frames = true;
  options.max_decoded_bytes = int64_t{256} << 20;
  mammovl::data::DicomReader reader(options);
  const auto image = reader.ReadBytes(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!image.ok()) return 0;
  for (size_t frame : {size_t{0}, image->frames.size() - 1}) {
    for (const ImageRecipe& recipe : *recipes) {
      const auto out = mammovl::data::ProcessFrame(*image, frame, recipe);
      if (!out.ok()) {
        MVL_FUZZ_CHECK(!out.status().message().empty());
        continue;
      }
      MVL_FUZZ_CHECK(!out->png.empty());
      MVL_FUZZ_CHECK(out->image.cols == out->geometry.out_width &&
                     out->image.rows == out->geometry.out_height);
    }
  }
  return 0;
}
