// Pooling the hidden states of a text tower into one vector per text, and
// gathering the states at given tokens (MaMA's sentence separators).
#ifndef MAMMOVL_TEXT_TEXT_POOLING_H_
#define MAMMOVL_TEXT_TEXT_POOLING_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "text/text_config.pb.h"

namespace mammovl::text {

// `hidden` [B, L, D], `attention_mask` [B, L] (1 = token) → [B, D] as
// `mode` says (see TextPooling in text_config.proto). Differentiable.
// TORCH_CHECK on shapes and TEXT_POOLING_UNSPECIFIED.
at::Tensor PoolText(const at::Tensor& hidden, const at::Tensor& attention_mask,
                    TextPooling mode);

// For each row, the hidden states at the positions where `ids` ([B, L])
// equals `token_id`: B tensors [n_i, D] (n_i may be 0).
std::vector<at::Tensor> GatherTokenStates(const at::Tensor& hidden,
                                          const at::Tensor& ids,
                                          int64_t token_id);

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_TEXT_POOLING_H_
