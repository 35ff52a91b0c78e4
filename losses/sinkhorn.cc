#include "losses/sinkhorn.h"

#include <ATen/ATen.h>

namespace mammovl::losses {

at::Tensor SinkhornKnopp(const at::Tensor& scores, double epsilon, int64_t iterations) {
  TORCH_CHECK_VALUE(scores.dim() == 2 && scores.numel() > 0, "sinkhorn: scores must be [B, K]");
  TORCH_CHECK_VALUE(epsilon > 0 && iterations >= 0,
                    "sinkhorn: needs epsilon > 0 and iterations >= 0, got ", epsilon, ", ",
                    iterations);
  at::NoGradGuard no_grad;
  const at::Tensor z = scores.detach();
  const int64_t b = z.size(0), k = z.size(1);
  at::Tensor q = ((z - z.max()) / epsilon).exp();  // [B, K]; SwAV's Q is its transpose
  q.div_(q.sum());
  for (int64_t it = 0; it < iterations; ++it) {
    q.div_(q.sum(0, /*keepdim=*/true) * k);  // every prototype's mass 1/K
    q.div_(q.sum(1, /*keepdim=*/true) * b);  // every sample's mass 1/B
  }
  return q / q.sum(1, /*keepdim=*/true);
}

}  // namespace mammovl::losses
