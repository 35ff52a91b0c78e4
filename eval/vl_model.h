// The view of a vision-language model that evaluation needs: image
// embeddings, text embeddings, pre-projection image features and the
// zero-shot temperature. Implemented by the pretrained model adapter
// (eval/pretrained_model.h) and by test models; evaluation code never sees
// the concrete towers. ATen only.
#ifndef MAMMOVL_EVAL_VL_MODEL_H_
#define MAMMOVL_EVAL_VL_MODEL_H_

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace mammovl::eval {

class VisionLanguageModel {
 public:
  virtual ~VisionLanguageModel() = default;

  // [B, C, H, W] float images (as the loader makes them, any device) ->
  // [B, D] L2-normalised projected embeddings on the CPU, float32, no grad.
  virtual absl::StatusOr<at::Tensor> EncodeImages(const at::Tensor& images) = 0;
  // Texts -> [T, D] L2-normalised projected embeddings (CPU, float32).
  virtual absl::StatusOr<at::Tensor> EncodeTexts(
      const std::vector<std::string>& texts) = 0;
  // [B, F] image features for a classifier: the pooled encoder output before
  // the projection, or the projected (unnormalised) embedding. On the
  // model's device; differentiable when grad mode is on and the encoder's
  // parameters require grad.
  virtual absl::StatusOr<at::Tensor> ImageFeatures(const at::Tensor& images,
                                                   bool projected) = 0;
  // The factor applied to cosines before a scaled softmax (exp of the learnt
  // logit scale; 1 if the model has none).
  virtual double LogitScale() const = 0;
  // Training mode (dropout, BatchNorm batch statistics) or evaluation mode.
  virtual void SetTraining(bool training) = 0;
  // The live parameters and buffers of the image tower (backbone and image
  // projection), named as in the model's checkpoints ("image_encoder.*"):
  // what fine-tuning trains and saves.
  virtual std::vector<std::pair<std::string, at::Tensor>> ImageParameters() = 0;
  virtual std::vector<std::pair<std::string, at::Tensor>> ImageBuffers() = 0;
};

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_VL_MODEL_H_
