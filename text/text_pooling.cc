#include "text/text_pooling.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace mammovl::text {

at::Tensor PoolText(const at::Tensor& hidden, const at::Tensor& attention_mask,
                    TextPooling mode) {
  TORCH_CHECK(hidden.dim() == 3, "hidden must be [B, L, D], got ",
              hidden.sizes());
  TORCH_CHECK(attention_mask.dim() == 2 &&
                  attention_mask.size(0) == hidden.size(0) &&
                  attention_mask.size(1) == hidden.size(1),
              "attention_mask ", attention_mask.sizes(),
              " does not match hidden ", hidden.sizes());
  const int64_t b = hidden.size(0), l = hidden.size(1);
  const at::Tensor mask = attention_mask.to(hidden.device(), at::kLong);
  const at::Tensor rows = at::arange(b, mask.options());
  switch (mode) {
    case POOL_FIRST_TOKEN:
      return hidden.select(1, 0);
    case POOL_LAST_TOKEN:
      return hidden.index({rows, (mask.sum(1) - 1).clamp_min(0)});
    case POOL_FIRST_PAD: {
      // MaMA's find_last_word_token: counts every pad k and takes position
      // -k, i.e. L - k, or 0 when there is no padding.
      const at::Tensor pads = (mask == 0).sum(1);
      const at::Tensor index =
          at::where(pads > 0, l - pads, at::zeros_like(pads));
      return hidden.index({rows, index});
    }
    case POOL_MEAN: {
      const at::Tensor m = mask.to(hidden.scalar_type()).unsqueeze(-1);
      return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0);
    }
    case POOL_MEAN_ALL_POSITIONS:
      return hidden.mean(1);
    default:
      TORCH_CHECK(false, "text pooling mode ", static_cast<int>(mode),
                  " is not set or unknown");
  }
}

std::vector<at::Tensor> GatherTokenStates(const at::Tensor& hidden,
                                          const at::Tensor& ids,
                                          int64_t token_id) {
  TORCH_CHECK(hidden.dim() == 3 && ids.dim() == 2 &&
                  ids.size(0) == hidden.size(0) &&
                  ids.size(1) == hidden.size(1),
              "ids ", ids.sizes(), " do not match hidden ", hidden.sizes());
  std::vector<at::Tensor> out;
  const at::Tensor hits = ids.to(hidden.device()).eq(token_id);
  for (int64_t r = 0; r < hidden.size(0); ++r) {
    out.push_back(hidden[r].index({hits[r]}));
  }
  return out;
}

}  // namespace mammovl::text
