// The data loader: turns dataset samples into batches of tensors on worker
// threads, so a training step never waits on decoding or augmentation and
// never runs a per-sample torch op. Order and augmentations are
// deterministic from (seed, epoch, sample); a run resumes exactly from a
// `LoaderPosition`; ranks see disjoint shards; the bytes of batches being
// built or waiting are bounded; failed samples are skipped and counted, or
// fail the run, by policy. Only the batch tensors need LibTorch; this header
// includes just ATen's Tensor class.
#ifndef MAMMOVL_DATA_LOADER_LOADER_H_
#define MAMMOVL_DATA_LOADER_LOADER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "data/datasets/dataset_config.pb.h"
#include "data/loader/png_decoder.h"
#include "data/datasets/sample.h"
#include "data/loader/loader_config.pb.h"
#include "data/loader/sampler.h"
#include "data/transforms/transform_config.pb.h"

namespace mammovl::data {

struct Batch {
  // One tensor per image slot (e.g. the two views of a breast):
  // [B, C, H, W] float32, contiguous.
  std::vector<at::Tensor> images;
  // One list of B strings per text slot.
  std::vector<std::vector<std::string>> texts;
  // With a tokenizer: per text slot, ids and attention mask [B, L] int64.
  std::vector<at::Tensor> token_ids;
  std::vector<at::Tensor> attention_mask;
  // [B, label_names] float32, NaN where a sample lacks the label; undefined
  // when no label names are configured.
  at::Tensor labels;
  std::vector<std::vector<Box>> boxes;   // per sample, in the table's frame
  std::vector<int64_t> sample_indices;   // into the dataset
  std::vector<std::string> sample_ids;
  LoaderPosition position;  // of this batch
  bool last_in_epoch = false;

  int64_t size() const { return static_cast<int64_t>(sample_indices.size()); }
};

struct LoaderStats {
  int64_t batches = 0;
  int64_t samples = 0;
  int64_t failures = 0;
  int64_t bytes_in_flight = 0;       // now
  int64_t peak_bytes_in_flight = 0;  // since creation
  std::vector<std::string> first_failures;  // up to 20 messages
};

// Turns a text into token ids (a tokenizer from text/, wrapped).
using TokenizeFn = std::function<absl::StatusOr<std::vector<int64_t>>(const std::string&)>;

struct LoaderOptions {
  ShardSpec shard;         // from the torchrun environment, by the caller
  LoaderPosition start;    // where to resume
  TokenizeFn tokenize;     // optional
  int64_t pad_id = 0;
};

class Loader {
 public:
  // `transforms` holds one pipeline per image slot, or one for all slots.
  // The number of image slots is the larger of the pairing's image count
  // (1 for `single`, 2 otherwise) and the number of transforms (slot i
  // uses image min(i, images − 1): three transforms on `single` give the
  // SLIP views). InvalidArgument for a bad config (names the field).
  static absl::StatusOr<std::unique_ptr<Loader>> Create(
      const LoaderConfig& config, std::shared_ptr<const std::vector<Sample>> samples,
      const PairingConfig& pairing, const std::vector<TransformConfig>& transforms,
      LoaderOptions options = {});

  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Returns the next batch, crossing into the next epoch after the last.
  // Batches whose samples all failed are passed over. Errors: the sample's
  // error under FAIL (names sample id and file), FailedPrecondition when
  // max_failures is exceeded, FailedPrecondition for an empty dataset.
  absl::StatusOr<Batch> Next();

  // Position of the batch the next `Next()` returns: save it with a
  // checkpoint and pass it as `LoaderOptions::start` to resume.
  LoaderPosition position() const;
  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  LoaderStats stats() const;

 private:
  struct Impl;
  explicit Loader(std::unique_ptr<Impl> impl, int64_t batches_per_epoch);
  std::unique_ptr<Impl> impl_;
  int64_t batches_per_epoch_;
};

// Reads an 8-bit gray image (PNG, JPEG, ...; 16-bit files are scaled to 8
// bits). NotFound / DataLoss naming the path; ResourceExhausted for an image
// of more than `max_pixels` pixels (a PNG is refused from its header, before
// any pixel memory is allocated).
absl::StatusOr<cv::Mat> ReadGrayImage(const std::string& path,
                                      int64_t max_pixels = kDefaultMaxImagePixels);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_LOADER_LOADER_H_
