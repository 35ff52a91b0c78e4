// Builds the `Loss` a `LossConfig` selects (one `switch` over the oneof) and
// validates configs before any work starts.
//
// Example:
//   MVL_RETURN_IF_ERROR(ValidateLossConfig(config.loss()));
//   MVL_ASSIGN_OR_RETURN(std::unique_ptr<Loss> loss, BuildLoss(config.loss()));
//   for (auto& [name, p] : loss->parameters())
//   optimizer_params.emplace_back(name, p); LossContext context{.batch =
//   {gather, rank, world}, .global_step = step};
//   MVL_ASSIGN_OR_RETURN(LossOutput out, loss->Compute(inputs, context));
//   out.total.backward();
//   loss->AfterBackward(context);   ...all-reduce, optimiser step...
//   loss->AfterOptimizerStep();
#ifndef MAMMOVL_LOSSES_LOSS_BUILDER_H_
#define MAMMOVL_LOSSES_LOSS_BUILDER_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "losses/loss.h"
#include "losses/loss_config.pb.h"

namespace mammovl::losses {

// Checks every field's range; InvalidArgument naming the field path (e.g.
// "loss.mgca.sinkhorn_epsilon must be > 0 (got 0)"), or "loss: no loss
// selected" when the oneof is empty.
absl::Status ValidateLossConfig(const LossConfig& config);

// Validates `config`, then returns the loss with its parameters initialised
// on the CPU in float32: logit scales at ln(1 / initial temperature), MGCA
// prototypes uniform in +-1/sqrt(D) (as nn.Linear) drawn from the global
// torch generator.
absl::StatusOr<std::unique_ptr<Loss>> BuildLoss(const LossConfig& config);

}  // namespace mammovl::losses

#endif  // MAMMOVL_LOSSES_LOSS_BUILDER_H_
