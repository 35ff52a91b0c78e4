#include "text/checkpointing.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <torch/autograd.h>
#include <torch/custom_class.h>

#include <mutex>
#include <utility>

namespace mammovl::text {
namespace {

struct BlockHolder : torch::CustomClassHolder {
  explicit BlockHolder(std::function<at::Tensor(const at::Tensor&)> f)
      : fn(std::move(f)) {}
  std::function<at::Tensor(const at::Tensor&)> fn;
};

at::Tensor CpuRngState() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void SetCpuRngState(const at::Tensor& state) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

class CheckpointFunction
    : public torch::autograd::Function<CheckpointFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx,
                            const at::Tensor& input,
                            c10::intrusive_ptr<BlockHolder> holder) {
    ctx->saved_data["block"] = c10::IValue::make_capsule(holder);
    ctx->saved_data["rng"] = CpuRngState();
    ctx->save_for_backward({input});
    return holder->fn(input);
  }

  static torch::autograd::variable_list backward(
      torch::autograd::AutogradContext* ctx,
      torch::autograd::variable_list grad_outputs) {
    auto holder = c10::static_intrusive_pointer_cast<BlockHolder>(
        ctx->saved_data["block"].toCapsule());
    const at::Tensor input = ctx->get_saved_variables()[0];
    // Recompute with the random state the forward pass started from, then
    // put the current state back.
    const at::Tensor now = CpuRngState();
    SetCpuRngState(ctx->saved_data["rng"].toTensor());
    at::Tensor x = input.detach().requires_grad_(true);
    at::Tensor y;
    {
      at::AutoGradMode grad(true);
      y = holder->fn(x);
    }
    SetCpuRngState(now);
    torch::autograd::backward({y}, {grad_outputs[0]});
    return {x.grad(), at::Tensor()};
  }
};

}  // namespace

at::Tensor Checkpointed(
    const std::function<at::Tensor(const at::Tensor&)>& block,
    const at::Tensor& input, bool params_need_grad) {
  if (!at::GradMode::is_enabled() ||
      (!input.requires_grad() && !params_need_grad)) {
    return block(input);
  }
  at::Tensor x = input;
  if (!x.requires_grad()) x = x.detach().requires_grad_(true);
  return CheckpointFunction::apply(x, c10::make_intrusive<BlockHolder>(block));
}

}  // namespace mammovl::text
