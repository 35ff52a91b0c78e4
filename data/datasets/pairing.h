// Drawing one training example from a `Sample`: the references' pairing of
// two images (views of a breast, a partner image of the exam, or the same
// image twice for two augmentations) and of two texts (report sections with
// back-translation, or sentences generated from VinDr finding labels as in
// Mammo-CLIP's prompts.json). No LibTorch, no OpenCV.
#ifndef MAMMOVL_DATA_DATASETS_PAIRING_H_
#define MAMMOVL_DATA_DATASETS_PAIRING_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/datasets/dataset_config.pb.h"
#include "data/datasets/sample.h"
#include "data/transforms/rng.h"

namespace mammovl::data {

// Sentences per finding and slot ("pos_right", "pos_left", "neg_right",
// "neg_left"), as in Mammo-CLIP's prompts.json.
class FindingPrompts {
 public:
  // Built-in templates: subtype × position × laterality × depth sentences in
  // the reference's style ("there is a suspicious mass in the upper outer
  // right breast at posterior depth"), generic negatives and normal
  // sentences for "No Finding".
  static FindingPrompts BuiltIn();
  // Reads a prompts.json file. InvalidArgument naming the file and the
  // first malformed entry.
  static absl::StatusOr<FindingPrompts> FromJsonFile(const std::string& path);

  // The candidates of `finding` for `slot` (empty if none).
  const std::vector<std::string>& Candidates(const std::string& finding,
                                             const std::string& slot) const;

  // Mammo-CLIP §4.4: one sentence per positive finding and per negative
  // (the ten findings not positive; none when "No Finding" is positive) of
  // one image; random choice and shuffled order when `random`, first
  // candidates in sorted order otherwise; duplicates removed.
  std::string Report(const std::vector<std::string>& positives, const std::string& laterality,
                     Rng* rng) const;

 private:
  std::map<std::string, std::map<std::string, std::vector<std::string>>> table_;
};

// One example: the images to load and the texts to tokenize.
struct Example {
  std::vector<ImageRef> images;   // one or two; a repeated path means a
                                  // second augmentation of the same image
  std::vector<std::string> texts; // zero to two
};

// Draws examples according to a `PairingConfig`.
class ExampleDrawer {
 public:
  static absl::StatusOr<ExampleDrawer> Create(const PairingConfig& config);

  // Draws from `sample` with `rng` (unused when the config is not random).
  // InvalidArgument if the sample has no image.
  absl::StatusOr<Example> Draw(const Sample& sample, Rng& rng) const;

 private:
  ExampleDrawer(PairingConfig config, std::shared_ptr<const FindingPrompts> prompts)
      : config_(std::move(config)), prompts_(std::move(prompts)) {}
  Example DrawMammoClip(const Sample& sample, Rng* rng) const;

  PairingConfig config_;
  std::shared_ptr<const FindingPrompts> prompts_;
};

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DATASETS_PAIRING_H_
