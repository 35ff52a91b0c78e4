// Sinkhorn-Knopp equipartition of samples over prototypes (SwAV), as MGCA's
// cross-modal prototype alignment computes its target codes.
#ifndef MAMMOVL_LOSSES_SINKHORN_H_
#define MAMMOVL_LOSSES_SINKHORN_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mammovl::losses {

// Returns the codes Q [B, K] (rows sum to 1) for `scores` [B, K] (sample x
// prototype cosines): Q = exp(scores / epsilon), normalised to total mass 1,
// then `iterations` rounds of scaling each prototype's mass to 1/K and each
// sample's mass to 1/B, finally each sample's row to sum 1. Computed on
// log Q (each division by a sum becomes subtracting a logsumexp): the same
// iterates as the reference's multiplicative form, without its overflow of
// exp(scores / epsilon) (e^20 at epsilon 0.05 already breaks fp16) or
// underflow for small epsilon. No gradient. `epsilon` > 0, `iterations` >= 0;
// throws c10::ValueError otherwise.
at::Tensor SinkhornKnopp(const at::Tensor& scores, double epsilon,
                         int64_t iterations);

}  // namespace mammovl::losses

#endif  // MAMMOVL_LOSSES_SINKHORN_H_
