// The additive attention-mask value Hugging Face uses: the lowest finite
// number of the activation dtype (`torch.finfo(dtype).min`).
#ifndef MAMMOVL_TEXT_ATTENTION_MASK_H_
#define MAMMOVL_TEXT_ATTENTION_MASK_H_

#include <c10/core/ScalarType.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <limits>

namespace mammovl::text {

inline double LowestFinite(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::ScalarType::Double:
      return std::numeric_limits<double>::lowest();
    case c10::ScalarType::BFloat16:
      return static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest());
    case c10::ScalarType::Half:
      return static_cast<float>(std::numeric_limits<c10::Half>::lowest());
    default:
      return std::numeric_limits<float>::lowest();
  }
}

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_ATTENTION_MASK_H_
