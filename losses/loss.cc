#include "losses/loss.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "core/torch_status.h"

namespace mammovl::losses {

const at::Tensor* LossOutput::Find(absl::string_view name) const {
  for (const LossTerm& term : terms) {
    if (term.name == name) return &term.value;
  }
  return nullptr;
}

void LossOutput::AddTerms(const LossOutput& other, absl::string_view prefix) {
  for (const LossTerm& term : other.terms) {
    terms.push_back({absl::StrCat(prefix, term.name), term.value});
  }
}

at::Tensor GlobalBatch::Gather(const at::Tensor& local) const {
  if (world_size <= 1) return local;
  TORCH_CHECK_VALUE(gather, "world_size is ", world_size,
                    " but no gather function was given");
  TORCH_CHECK_VALUE(rank >= 0 && rank < world_size, "rank ", rank,
                    " outside [0, ", world_size, ")");
  at::Tensor all = gather(local);
  TORCH_CHECK_VALUE(all.defined() && all.dim() == local.dim() &&
                        all.size(0) == world_size * local.size(0),
                    "gather returned ",
                    all.defined() ? all.sizes() : at::IntArrayRef{},
                    " for a local tensor of shape ", local.sizes(),
                    " and world_size ", world_size);
  return all;
}

absl::Status Loss::To(const at::TensorOptions& options) {
  return core::RunTorch(
      absl::StrCat("moving the parameters of loss '", name(), "'"), [&] {
        for (auto& [name, tensor] : parameters_) {
          const bool grad = tensor.requires_grad();
          tensor = tensor.detach().to(options).set_requires_grad(grad);
        }
      });
}

at::Tensor AtLeastFloat32(const at::Tensor& x) {
  if (x.scalar_type() == at::kHalf || x.scalar_type() == at::kBFloat16)
    return x.to(at::kFloat);
  return x;
}

at::Tensor L2Normalize(const at::Tensor& x) {
  return x / x.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
}

}  // namespace mammovl::losses
