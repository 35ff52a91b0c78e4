// The model of a pretraining recipe: an image tower (vision/) and a text
// tower (text/) with the heads that map both into one embedding space, plus
// the recipe's loss (losses/), which owns the learnable temperatures and
// prototypes. One class serves every recipe; the config says which heads
// exist and the loss says which outputs are computed:
//
//   Mammo-CLIP  EfficientNet + BERT, Linear heads; two views and two texts
//               per breast, multi-view loss
//   MaMA        DINOv2 ViT + GPT-2/LoRA, Linear + local heads, SimCLR head;
//               partner image, structured caption with sentence separators
//   MGCA        ResNet-50 or ViT-B/16 + BERT, BN-MLP + local heads; words
//               with [CLS]-attention importance, prototypes in the loss
//   SLIP        image tower + text tower + SimCLR head on two extra views
//
// Evaluation code uses `EncodeImages` / `EncodeTexts` (unit-norm embeddings
// in the shared space) and `LoadWeights` (a checkpoint written by training).
//
//   MVL_ASSIGN_OR_RETURN(auto model, BuildPretrainModel(experiment));
//   MVL_RETURN_IF_ERROR(model->LoadWeights("runs/x/checkpoints/step_1000"));
//   model->SetTraining(false);
//   MVL_ASSIGN_OR_RETURN(at::Tensor img, model->EncodeImages(batch.images[0]));
//   MVL_ASSIGN_OR_RETURN(at::Tensor txt, model->EncodeTexts(prompts));
//   at::Tensor scores = img.matmul(txt.t());  // cosine similarities
#ifndef MAMMOVL_TRAIN_PRETRAIN_MODEL_H_
#define MAMMOVL_TRAIN_PRETRAIN_MODEL_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "data/datasets/sample.h"
#include "data/loader/loader.h"
#include "losses/loss.h"
#include "losses/loss_config.pb.h"
#include "train/experiment.pb.h"
#include "train/named_tensors.h"
#include "train/pretrain_model.pb.h"

namespace mammovl::train {

// What the image tower produced for one batch of images.
struct ImageFeatures {
  at::Tensor embedding;      // [B, D] unit norm (shared space)
  at::Tensor pooled;         // [B, F] backbone feature (before the head)
  at::Tensor local;          // [B, P, C] local embeddings, or undefined
  at::Tensor local_weights;  // [B, P] patch importance (ViT CLS attention)
  at::Tensor ssl;            // [B, Z] SimCLR projection, or undefined
};

// What the text tower produced for one batch of texts.
struct TextFeatures {
  at::Tensor embedding;      // [B, D] unit norm (shared space)
  at::Tensor local;          // [B, S, C] word/sentence embeddings
  at::Tensor local_padding;  // [B, S] bool, true = empty slot
  at::Tensor local_weights;  // [B, S] word importance (MGCA), or undefined
};

class PretrainModel {
 public:
  ~PretrainModel();
  PretrainModel(const PretrainModel&) = delete;
  PretrainModel& operator=(const PretrainModel&) = delete;

  const PretrainModelConfig& config() const;
  // Width of the shared embedding space.
  int64_t embedding_dim() const;
  losses::Loss& loss();

  // Parameters and buffers by name: "image_encoder.*", "text_encoder.*",
  // "text_projection.*", "text_local_projection.*", "ssl_head.*" and the
  // loss's own ("logit_scale", "local_scale", "prototype_layer.weight").
  // The tensors are live (the trainer updates them in place).
  NamedTensors Parameters() const;
  NamedTensors Buffers() const;

  // Training mode (dropout, BatchNorm batch statistics) or evaluation mode.
  void SetTraining(bool training);

  // images [B, C, H, W] float32, C = 1 (replicated) or 3, preprocessed as
  // the recipe's transforms do → [B, D] float32, unit L2 norm. Runs under
  // the caller's grad mode. InvalidArgument for a bad shape.
  absl::StatusOr<at::Tensor> EncodeImages(const at::Tensor& images);
  // Texts (as the tokenizer expects them; MaMA prompts already carry their
  // special tokens) → [B, D] float32, unit L2 norm.
  absl::StatusOr<at::Tensor> EncodeTexts(absl::Span<const std::string> texts);

  // Everything the loss may need from the image / text towers. `with_local`
  // and `with_ssl` request the local and SimCLR outputs.
  absl::StatusOr<ImageFeatures> ImageForward(const at::Tensor& images,
                                             bool with_local, bool with_ssl);
  absl::StatusOr<TextFeatures> TextForward(absl::Span<const std::string> texts,
                                           bool with_local);

  // Runs the recipe's forward pass on `batch` and returns its loss.
  // `samples` (the dataset the batch indexes) is needed for MaMA captions;
  // `seed` makes caption masking reproducible (it is combined with the step
  // and the sample index). Errors: missing image/text slots for the loss
  // (FailedPrecondition naming the slot), torch errors as Status.
  absl::StatusOr<losses::LossOutput> ComputeLoss(
      const data::Batch& batch, const losses::LossContext& context,
      const std::vector<data::Sample>* samples = nullptr, uint64_t seed = 0);

  // Loads weights written by training: a checkpoint folder (its
  // model.safetensors) or a safetensors file, matched by name. Every model
  // tensor must be present with the right shape (InvalidArgument listing the
  // first missing ones); extra tensors are ignored.
  absl::Status LoadWeights(const std::string& path);

 private:
  struct Impl;
  explicit PretrainModel(std::unique_ptr<Impl> impl);
  friend absl::StatusOr<std::unique_ptr<PretrainModel>> BuildPretrainModel(
      const PretrainModelConfig& model, const losses::LossConfig& loss);
  std::unique_ptr<Impl> impl_;
};

// Checks the model config against the loss (which towers, heads and widths
// the loss needs) without reading files. InvalidArgument naming the field.
absl::Status ValidatePretrainModelConfig(const PretrainModelConfig& model,
                                         const losses::LossConfig& loss);

// Builds the towers (loading their checkpoints), the heads and the loss.
absl::StatusOr<std::unique_ptr<PretrainModel>> BuildPretrainModel(
    const PretrainModelConfig& model, const losses::LossConfig& loss);
absl::StatusOr<std::unique_ptr<PretrainModel>> BuildPretrainModel(
    const Experiment& experiment);

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_PRETRAIN_MODEL_H_
