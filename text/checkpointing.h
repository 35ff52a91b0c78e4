// Activation (gradient) checkpointing for the text towers: run a block
// without keeping its activations and recompute it in the backward pass.
#ifndef MAMMOVL_TEXT_CHECKPOINTING_H_
#define MAMMOVL_TEXT_CHECKPOINTING_H_

#include <ATen/core/Tensor.h>

#include <functional>

namespace mammovl::text {

// Returns `block(input)`. `block` is kept until the backward pass, so it must
// own (capture by value) everything it uses. Under grad mode, the block's
// activations are not stored: the backward pass restores the CPU random state
// (so dropout masks repeat), recomputes the block and back-propagates through
// it, which accumulates the gradients of the block's parameters. When `input`
// does not require grad but `params_need_grad` (e.g. LoRA weights inside a
// frozen model), the input is made a grad-requiring leaf so the backward pass
// still runs — the failure mode of reentrant checkpointing that MaMA's README
// warns about (mama.md §2.3). Outside grad mode, just calls `block(input)`.
at::Tensor Checkpointed(
    const std::function<at::Tensor(const at::Tensor&)>& block,
    const at::Tensor& input, bool params_need_grad);

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_CHECKPOINTING_H_
