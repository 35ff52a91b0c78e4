#include "losses/sinkhorn.h"

#include <ATen/ATen.h>

#include <cmath>

namespace mammovl::losses {

at::Tensor SinkhornKnopp(const at::Tensor& scores, double epsilon,
                         int64_t iterations) {
  TORCH_CHECK_VALUE(scores.dim() == 2 && scores.numel() > 0,
                    "sinkhorn: scores must be [B, K]");
  TORCH_CHECK_VALUE(epsilon > 0 && iterations >= 0,
                    "sinkhorn: needs epsilon > 0 and iterations >= 0, got ",
                    epsilon, ", ", iterations);
  at::NoGradGuard no_grad;
  const int64_t b = scores.size(0), k = scores.size(1);
  // The multiplicative updates of the reference, carried out on log Q:
  // dividing by a sum is subtracting its logsumexp. [B, K]; SwAV's Q is the
  // transpose.
  at::Tensor log_q = scores.detach() / epsilon;
  log_q = log_q - at::logsumexp(log_q.flatten(), 0);
  const double log_k = std::log(static_cast<double>(k));
  const double log_b = std::log(static_cast<double>(b));
  for (int64_t it = 0; it < iterations; ++it) {
    log_q = log_q - (at::logsumexp(log_q, 0, /*keepdim=*/true) +
                     log_k);  // prototype mass 1/K
    log_q = log_q - (at::logsumexp(log_q, 1, /*keepdim=*/true) +
                     log_b);  // sample mass 1/B
  }
  return at::softmax(log_q, 1);
}

}  // namespace mammovl::losses
