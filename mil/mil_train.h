// The FPN-MIL experiment (fpn_mil.md §1-5) on a table of mammograms:
//
//   1. images of the table → patch bags (mil/patching.h) → frozen backbone
//      (vision/image_encoder.h) → per image the backbone maps of its
//      patches, kept in memory or in offline feature files (resumable);
//   2. the development images are split by patient with
//      StratifiedGroupKFold (mil/splits.h), the first fold validates;
//   3. the MIL model (mil/mil_model.h: FPN + per-scale MIL + scale
//      aggregator) trains on train/'s Trainer with weighted BCE on the final
//      and every side head; after every `eval_every_epochs` the validation
//      AUC of the final prediction selects the best weights;
//   4. the best weights are evaluated on the test images (AUC, weighted F1,
//      balanced accuracy per head, eval/metrics.h);
//   5. post-hoc detection: instance attention → heatmaps → boxes → VOC AP
//      against the target's boxes on the positive test images.
//
// Errors name the image, file or field; an unreadable image is an error (the
// table adapter already checked that files exist).
#ifndef MAMMOVL_MIL_MIL_TRAIN_H_
#define MAMMOVL_MIL_MIL_TRAIN_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mil/mil_pipeline.pb.h"
#include "mil/patching.h"

namespace mammovl::mil {

// One image of the experiment.
struct MilImage {
  std::string id;          // the table's image id
  std::string patient_id;
  std::string path;        // image file (8-bit grey PNG)
  int label = 0;           // the target, 0 / 1
  bool test = false;       // the table's test split
  std::vector<BoxF> boxes;  // target boxes in the image frame
};

// The backbone maps of one image's patches and where the patches lie.
struct ImageFeatures {
  std::vector<at::Tensor> maps;  // [N, C_i, h_i, w_i] float32, finest first
  std::vector<PatchCoord> coords;
  Padding padding;
  int64_t padded_height = 0, padded_width = 0;
};

// Checks every part of the config before any work (InvalidArgument naming
// the field).
absl::Status ValidateMilPipelineConfig(const MilPipelineConfig& config);

// Reads the table of `config.data` and returns its images with the target
// label and the target's boxes.
absl::StatusOr<std::vector<MilImage>> LoadMilImages(const MilPipelineConfig& config);

// Reads an 8-bit image as a [H, W] float tensor in [0, 1] (grey).
absl::StatusOr<at::Tensor> ReadGreyImage(const std::string& path);

// The backbone: patch bags in, backbone maps out. Frozen (eval mode, no
// gradients) unless `features.trainable`, then its parameters take gradients
// and `SetTraining` switches BatchNorm between batch and running statistics.
class FeatureExtractor {
 public:
  static absl::StatusOr<std::unique_ptr<FeatureExtractor>> Create(
      const MilPipelineConfig& config);
  ~FeatureExtractor();

  // Patches the image ([H, W] in [0, 1]) with `patching` and runs the
  // backbone on the patches without gradients (eval mode).
  absl::StatusOr<ImageFeatures> Extract(const at::Tensor& image,
                                        const PatchingConfig& patching);
  // The selected maps of `patches` [M, 1 or 3, h, w] ([M, C_i, h_i, w_i],
  // finest first), in chunks of `batch_patches`, in the current mode and
  // with gradients when grad mode is on and the backbone is trainable.
  absl::StatusOr<std::vector<at::Tensor>> Maps(const at::Tensor& patches);
  // Channels of the maps fed to the FPN.
  const std::vector<int64_t>& channels() const { return channels_; }
  bool trainable() const { return trainable_; }
  // Train (BatchNorm batch statistics) or eval mode; a frozen backbone stays
  // in eval mode.
  void SetTraining(bool training);
  bool is_training() const;
  // The backbone's live parameters and buffers, named as in
  // best_model.safetensors (`inst_encoder.backbone.<name>`).
  std::vector<std::pair<std::string, at::Tensor>> NamedParameters() const;
  std::vector<std::pair<std::string, at::Tensor>> NamedBuffers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<int64_t> channels_;
  int batch_patches_ = 1;
  bool trainable_ = false;
};

// Offline feature files: writes (atomically) and reads one image's features.
std::string FeatureFilePath(const std::string& dir, const MilImage& image);
absl::Status WriteFeatureFile(const std::string& path, const ImageFeatures& features);
absl::StatusOr<ImageFeatures> ReadFeatureFile(const std::string& path);

struct ExtractionOptions {
  // Called after each image is done (written or found); returning false
  // stops the extraction with Cancelled (tests interrupt it this way).
  std::function<bool(int64_t done)> after_image;
};

// Features of every image of this shard, from `config.features.cache_dir`
// when a readable file exists there, else extracted (and written there when
// a cache_dir is set). Images of other shards get empty entries.
absl::StatusOr<std::vector<ImageFeatures>> ExtractAllFeatures(
    const MilPipelineConfig& config, const std::vector<MilImage>& images,
    const ExtractionOptions& options = {});

// Per-head metrics of one split.
struct HeadMetrics {
  double auc = 0, f1 = 0, bacc = 0;
};
struct SplitMetrics {
  std::map<std::string, HeadMetrics> heads;  // "16", "32", "128", "aggregated"
};

struct MilRunResult {
  int best_epoch = -1;
  double best_valid_auc = 0;
  SplitMetrics valid, test;
  // Detection AP per map ("16", ..., "aggregated"), positive test images.
  std::map<std::string, double> roi_ap;
  int64_t roi_images = 0, roi_boxes = 0;
  int64_t train_images = 0, valid_images = 0, test_images = 0;
};

// mode: "train" (extract, train, select, test, detection), "evaluate" (test
// metrics of output_dir/best_model.safetensors), "extract_features",
// "roi_eval" (detection with the saved weights). Writes its files into
// `config.output_dir`.
absl::StatusOr<MilRunResult> RunMilPipeline(const MilPipelineConfig& config,
                                            const std::string& mode);

}  // namespace mammovl::mil

#endif  // MAMMOVL_MIL_MIL_TRAIN_H_
