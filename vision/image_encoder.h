// The image encoder a MammoVL model uses: one backbone (EfficientNet, ResNet
// or ViT), an optional projection head on its pooled feature and an optional
// token-wise head on its local features, built from a `VisionConfig` and
// loaded from the references' checkpoints by name.
//
//   VisionConfig config;  // e.g. from configs/*.pbtxt
//   MVL_ASSIGN_OR_RETURN(ImageEncoder encoder, BuildImageEncoder(config));
//   encoder->eval();
//   torch::InferenceMode guard;
//   EncoderOutput out = encoder->forward(images);  // out.embedding [B, 512]
#ifndef MAMMOVL_VISION_IMAGE_ENCODER_H_
#define MAMMOVL_VISION_IMAGE_ENCODER_H_

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vision/backbone.h"
#include "vision/heads.h"
#include "vision/module_weights.h"
#include "vision/vision_config.pb.h"

namespace mammovl::vision {

struct EncoderOutput {
  // Everything the backbone returned (pooled feature, maps, tokens).
  BackboneOutput features;
  // The projection head applied to `features.pooled` ([B, output_dim]), or
  // `features.pooled` itself when the config has no projection head.
  torch::Tensor embedding;
  // The local head applied to `features.local` ([B, N, output_dim]);
  // undefined without a local head.
  torch::Tensor local_embedding;
};

// Submodules: `backbone`, `projection` and `local_projection` (the latter two
// only when configured).
class ImageEncoderImpl : public torch::nn::Module {
 public:
  ImageEncoderImpl(std::shared_ptr<BackboneImpl> backbone,
                   ProjectionHead projection,
                   LocalProjectionHead local_projection);

  // images [B, 3, H, W] float32 (normalised as the reference expects).
  EncoderOutput forward(const torch::Tensor& images);

  BackboneImpl& backbone() { return *backbone_; }
  // Null holders when not configured.
  ProjectionHead projection() { return projection_; }
  LocalProjectionHead local_projection() { return local_projection_; }
  // Width of `embedding`.
  int64_t embedding_dim() const;

 private:
  std::shared_ptr<BackboneImpl> backbone_;
  ProjectionHead projection_{nullptr};
  LocalProjectionHead local_projection_{nullptr};
};
TORCH_MODULE(ImageEncoder);

// Checks every field before anything is built: InvalidArgument naming the
// field (no backbone selected, out-of-range sizes, a local head on a backbone
// without local features, a checkpoint block without a path).
absl::Status ValidateVisionConfig(const VisionConfig& config);

// Builds the encoder (random initialisation), then, if `config.checkpoint`
// is set, loads it with `LoadImageEncoderCheckpoint`. Errors: those of
// ValidateVisionConfig and of loading.
absl::StatusOr<ImageEncoder> BuildImageEncoder(const VisionConfig& config);

// Reads the checkpoint file named in `checkpoint` (any format core's
// LoadStateDict reads) and loads it with `LoadImageEncoderWeights`.
// NotFound / InvalidArgument / DataLoss from reading name the file.
absl::Status LoadImageEncoderCheckpoint(ImageEncoder& encoder,
                                        const CheckpointConfig& checkpoint);

// Loads a state dict (whole-model key names) into the encoder: keys under
// `projection_prefix` / `local_projection_prefix` go to the heads (if built
// and `load_projection`), other keys under `backbone_prefix` to the backbone,
// the prefix removed; keys under none of them (a text tower, a logit scale)
// are not looked at. Strictness per `checkpoint.strict`; a wrong shape is
// always an error naming the key and both shapes; `source` names the file in
// messages. InvalidArgument when nothing in `state` starts with the backbone
// prefix.
absl::Status LoadImageEncoderWeights(ImageEncoder& encoder,
                                     const NamedTensors& state,
                                     const CheckpointConfig& checkpoint,
                                     absl::string_view source);

}  // namespace mammovl::vision

#endif  // MAMMOVL_VISION_IMAGE_ENCODER_H_
