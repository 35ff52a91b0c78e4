// Optimisers and gradient utilities, numerically identical to PyTorch 1.13's
// single-tensor implementations (checked against goldens from Python):
//   AdamW  torch.optim.AdamW (decoupled weight decay, bias-corrected moments)
//   SGD    torch.optim.SGD (L2 weight decay, momentum, dampening, Nesterov)
// plus per-group weight decay chosen by parameter name, global-norm gradient
// clipping as torch.nn.utils.clip_grad_norm_, and an exponential moving
// average of the weights.
//
// Example:
//   MVL_ASSIGN_OR_RETURN(auto groups, MakeParamGroups(trainable, config));
//   MVL_ASSIGN_OR_RETURN(auto optimizer, BuildOptimizer(config, groups));
//   ... loss.backward();
//   MVL_ASSIGN_OR_RETURN(double norm, ClipGradNorm(params, 1.0));
//   MVL_RETURN_IF_ERROR(optimizer->Step(schedule(step)));
//   optimizer->ZeroGrad();
#ifndef MAMMOVL_TRAIN_OPTIMIZER_H_
#define MAMMOVL_TRAIN_OPTIMIZER_H_

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "train/named_tensors.h"
#include "train/train_config.pb.h"

namespace mammovl::train {

// Parameters that share optimiser hyper-parameters.
struct ParamGroup {
  std::string name;  // "decay" or "no_decay"
  NamedTensors params;
  double weight_decay = 0;
};

// Splits `trainable` into a "decay" group (weight decay from the optimiser
// config) and a "no_decay" group (weight decay 0) following
// `config.weight_decay_groups()`; empty groups are dropped. Parameter order is
// kept within each group. InvalidArgument for a bad pattern or a duplicate
// name.
absl::StatusOr<std::vector<ParamGroup>> MakeParamGroups(
    const NamedTensors& trainable, const TrainConfig& config);

// True if the standard policy (EXCLUDE_BIAS_NORM_EMBEDDING_TEMPERATURE)
// exempts a parameter with this name and number of dimensions from decay.
bool IsStandardNoDecay(const std::string& name, int64_t dim);

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // Updates every parameter that has a gradient, using learning rate `lr`
  // for all groups. Parameters without a gradient are left alone (their
  // state does not advance), as in PyTorch.
  virtual absl::Status Step(double lr) = 0;

  // Drops all gradients (PyTorch's zero_grad(set_to_none=True)).
  void ZeroGrad();

  // Optimiser state for checkpoints, as named tensors "<param>/<slot>"
  // (e.g. "vision.fc.weight/exp_avg", ".../step"). Tensors are the live
  // state: copy before modifying.
  virtual NamedTensors StateTensors() const = 0;
  // Restores the state saved by `StateTensors`. Every parameter's state must
  // be present with the right shape (or absent for every slot: a parameter
  // that never had a gradient). InvalidArgument naming the first mismatch.
  virtual absl::Status LoadStateTensors(const NamedTensors& state) = 0;

  const std::vector<ParamGroup>& groups() const { return groups_; }

 protected:
  explicit Optimizer(std::vector<ParamGroup> groups)
      : groups_(std::move(groups)) {}
  std::vector<ParamGroup> groups_;
};

// Checks the optimiser fields of `config` (ranges of lr, betas, eps, weight
// decay, momentum); errors name the field.
absl::Status ValidateOptimizerConfig(const TrainConfig& config);

// Returns the configured optimiser's peak learning rate.
double OptimizerBaseLr(const TrainConfig& config);

// Builds AdamW (also when no optimiser is set) or SGD over `groups`.
absl::StatusOr<std::unique_ptr<Optimizer>> BuildOptimizer(
    const TrainConfig& config, std::vector<ParamGroup> groups);

// Scales the gradients of `params` so that their global L2 norm is at most
// `max_norm` (> 0), exactly as torch.nn.utils.clip_grad_norm_ (coefficient
// max_norm / (norm + 1e-6), clamped to 1). With max_norm <= 0 only measures.
// Returns the norm before clipping (NaN/Inf if a gradient is not finite).
// Parameters without a gradient are skipped.
absl::StatusOr<double> ClipGradNorm(const std::vector<at::Tensor>& params,
                                    double max_norm);

// Exponential moving average of weights: after `Update`,
// shadow = decay * shadow + (1 - decay) * weight (a plain copy before
// `start_step`). Works on parameters and floating-point buffers; integer
// buffers are copied.
class WeightEma {
 public:
  // Starts from a copy of `tensors`.
  WeightEma(const NamedTensors& tensors, double decay, int64_t start_step);

  // `step` is the 0-based optimiser step that was just taken.
  void Update(const NamedTensors& tensors, int64_t step);

  const NamedTensors& shadow() const { return shadow_; }
  // Restores the shadow weights from a checkpoint; names and shapes must
  // match.
  absl::Status Load(const NamedTensors& saved);

 private:
  NamedTensors shadow_;
  double decay_;
  int64_t start_step_;
};

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_OPTIMIZER_H_
