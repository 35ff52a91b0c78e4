// The vocabulary shared by MammoVL's losses: the named result (`LossOutput`),
// where a process's rows sit in the global batch (`GlobalBatch`), the inputs a
// loss may read (`LossInputs`), the training context (`LossContext`), and the
// `Loss` interface that `BuildLoss` (losses/loss_builder.h) returns.
//
// Layering: losses sit on core/ and LibTorch's ATen only; the trainer
// (train/) plugs in its differentiable all-gather through `GlobalBatch`.
#ifndef MAMMOVL_LOSSES_LOSS_H_
#define MAMMOVL_LOSSES_LOSS_H_

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::losses {

// (name, tensor) pairs, names as in the reference checkpoints; the same type
// as the trainer's `NamedTensors`.
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// One named part of a loss, a 0-d tensor still attached to the graph (call
// `.item<double>()` to log it).
struct LossTerm {
  std::string name;
  at::Tensor value;
};

// What every loss returns: the total to call `backward()` on, and its parts
// for logging. Parts are unweighted; the total applies the weights.
struct LossOutput {
  at::Tensor total;  // 0-d, float32 (float64 for float64 inputs)
  std::vector<LossTerm> terms;

  // Returns the term called `name`, or nullptr.
  const at::Tensor* Find(absl::string_view name) const;
  // Appends `other`'s terms with `prefix` prepended to their names.
  void AddTerms(const LossOutput& other, absl::string_view prefix);
};

// Concatenates every rank's tensor along dim 0, in rank order, so that rank r's
// rows are rows [r*B, (r+1)*B) of the result. Must be differentiable (the
// backward sums the incoming gradient over ranks and returns this rank's
// slice, as `AllGatherWithGrad` in train/distributed.h), must also accept
// tensors without gradient (int64 group ids, detached scores), and every rank
// must call it in the same order with tensors of the same shape.
using GatherFn = std::function<at::Tensor(const at::Tensor&)>;

// Where this process's rows sit among all ranks'. A contrastive loss with
// gathering on scores its local rows against the rows of every rank, i.e.
// logits [B, world_size * B] with positives at column rank * B + i, as the
// references' distributed implementations. With W ranks each computing the
// mean over its own rows and gradients averaged over ranks, training equals
// one process on the combined batch.
struct GlobalBatch {
  GatherFn gather;  // unset: a world of one
  int64_t rank = 0;
  int64_t world_size = 1;

  // Returns `local` gathered from all ranks ([W*B, ...]), or `local` itself in
  // a world of one. Throws c10::ValueError if world_size > 1 without `gather`
  // or if the result does not have W*B rows.
  at::Tensor Gather(const at::Tensor& local) const;
  // Index of this rank's first row in the gathered batch: rank * local_rows.
  int64_t Offset(int64_t local_rows) const {
    return world_size > 1 ? rank * local_rows : 0;
  }
  bool distributed() const { return world_size > 1; }
};

// Returns a world-of-one view used when a loss is configured not to gather.
inline GlobalBatch LocalBatch() { return GlobalBatch(); }

// Tensors a loss may read; which ones each loss needs is listed with its
// config message in losses/loss_config.proto. Float inputs may be float32,
// float64 or reduced precision (computed in float32); embeddings need not be
// unit norm: contrastive losses L2-normalise along the last dimension (for
// embeddings the model already normalised this changes neither the value nor
// the gradient reaching the model). B is this rank's batch.
struct LossInputs {
  at::Tensor image;  // [B, D] global image embedding (Mammo-CLIP I1, MaMA v)
  at::Tensor image_view;      // [B, D] second view / partner image (I2, v')
  at::Tensor text;            // [B, D] global text embedding (T1, t)
  at::Tensor text_view;       // [B, D] second text (T2)
  at::Tensor image_ssl;       // [B, Dz] SimCLR projection of the first view
  at::Tensor image_view_ssl;  // [B, Dz] SimCLR projection of the second view
  at::Tensor image_local;     // [B, P, C] patch embeddings
  at::Tensor image_local_weights;  // [B, P] patch weights (e.g. CLS attention)
  at::Tensor text_local;           // [B, S, C] word or sentence embeddings
  at::Tensor text_local_padding;   // [B, S] bool, true = padded slot
  at::Tensor text_local_weights;   // [B, S] word importance, >= 0
  at::Tensor group_ids;            // [B] int64, equal ids are positives
  at::Tensor logits;               // classification logits
  at::Tensor targets;              // classification targets
};

// Everything else a loss may depend on.
struct LossContext {
  GlobalBatch batch;
  int64_t global_step = 0;  // optimiser steps taken so far
  int64_t epoch = 0;
  bool training = true;
};

// A configured loss, possibly owning parameters (temperatures, prototypes).
// Not thread-safe.
class Loss {
 public:
  virtual ~Loss() = default;

  // The config's oneof case name, e.g. "mammo_clip".
  virtual std::string name() const = 0;

  // Computes the loss. InvalidArgument naming the field when an input is
  // missing or has the wrong shape or dtype, or when the context is
  // inconsistent (world_size > 1 without a gather function); Internal for
  // other torch failures, e.g. a failed collective inside `gather`.
  virtual absl::StatusOr<LossOutput> Compute(const LossInputs& inputs,
                                             const LossContext& context) = 0;

  // Learnable tensors owned by the loss, with the names of the reference
  // checkpoints ("logit_scale", "local_scale", "prototype_layer.weight").
  // The tensors are live: the trainer optimises them, loads checkpoint values
  // into them with `copy_` and saves them.
  const NamedTensors& parameters() const { return parameters_; }

  // Moves or casts the parameters (device and/or dtype of `options`), before
  // the optimiser is built: the tensors are replaced by new leaves.
  absl::Status To(const at::TensorOptions& options);

  // Called after `backward()` and before the gradients are all-reduced and
  // applied (e.g. MGCA drops the prototype gradients in early epochs).
  virtual void AfterBackward(const LossContext& context) {}
  // Called after every optimiser step (e.g. SLIP clamps logit_scale).
  virtual void AfterOptimizerStep() {}

 protected:
  NamedTensors parameters_;
};

// Returns `x` in float32 if it is a reduced-precision float, else unchanged.
at::Tensor AtLeastFloat32(const at::Tensor& x);

// Returns `x` scaled to unit L2 norm along the last dimension (norms below
// 1e-12 are treated as 1e-12, as torch.nn.functional.normalize).
at::Tensor L2Normalize(const at::Tensor& x);

}  // namespace mammovl::losses

#endif  // MAMMOVL_LOSSES_LOSS_H_
