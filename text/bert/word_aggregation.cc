#include "text/bert/word_aggregation.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace mammovl::text {

WordGroups GroupWordPieces(const at::Tensor& ids,
                           const std::vector<bool>& is_continuation,
                           int64_t sep_id, bool reference_quirks) {
  TORCH_CHECK(ids.dim() == 2, "ids must be [B, L], got ", ids.sizes());
  const at::Tensor cpu = ids.to(at::kCPU, at::kLong).contiguous();
  const int64_t b = cpu.size(0), l = cpu.size(1);
  WordGroups g;
  g.slot = at::full({b, l}, -1, at::kLong);
  g.importance_source = at::full({b, l}, -1, at::kLong);
  g.num_words.assign(b, 0);
  const int64_t* id = cpu.data_ptr<int64_t>();
  int64_t* slot = g.slot.data_ptr<int64_t>();
  int64_t* source = g.importance_source.data_ptr<int64_t>();
  const int64_t visited = reference_quirks ? l - 1 : l;
  for (int64_t r = 0; r < b; ++r) {
    const int64_t* row = id + r * l;
    int64_t* row_slot = slot + r * l;
    int64_t* row_source = source + r * l;
    int64_t words = 0;  // Closed words.
    bool open = false;  // A word is being collected in slot `words`.
    bool terminated = false;
    for (int64_t t = 0; t < visited; ++t) {
      const int64_t token = row[t];
      const int64_t importance_at = reference_quirks ? t + 1 : t;
      if (token == sep_id) {
        if (open) ++words;
        row_slot[t] = words;
        row_source[t] = importance_at;
        ++words;
        open = false;
        terminated = true;
        break;
      }
      const bool continuation =
          token >= 0 && token < static_cast<int64_t>(is_continuation.size()) &&
          is_continuation[token];
      if (!continuation && open) ++words;  // Close the previous word.
      open = true;
      row_slot[t] = words;
      row_source[t] = importance_at;
    }
    if (!terminated && open) {
      if (reference_quirks) {
        // The open word is never appended: its tokens belong to no slot.
        for (int64_t t = 0; t < l; ++t) {
          if (row_slot[t] == words) {
            row_slot[t] = -1;
            row_source[t] = -1;
          }
        }
      } else {
        ++words;
      }
    }
    g.num_words[r] = words;
  }
  return g;
}

AggregatedWords AggregateWordPieces(const at::Tensor& hidden,
                                    const WordGroups& groups,
                                    const at::Tensor& importance) {
  TORCH_CHECK(hidden.dim() == 3, "hidden must be [B, L, D], got ",
              hidden.sizes());
  const int64_t b = hidden.size(0), l = hidden.size(1), d = hidden.size(2);
  TORCH_CHECK(groups.slot.size(0) == b && groups.slot.size(1) == l,
              "word groups ", groups.slot.sizes(), " do not match hidden ",
              hidden.sizes());
  const at::Tensor slot = groups.slot.to(hidden.device());
  const at::Tensor valid = slot.ge(0);
  const at::Tensor rows =
      at::arange(b, slot.options()).unsqueeze(1).expand({b, l});
  // Flat target index row * L + slot for every token that belongs to a word.
  const at::Tensor target = (rows * l + slot).masked_select(valid);
  const at::Tensor source =
      hidden.reshape({b * l, d}).index({valid.reshape({-1})});
  AggregatedWords out;
  out.embeddings = at::zeros({b * l, d}, hidden.options())
                       .index_add(0, target, source)
                       .view({b, l, d});
  std::vector<int64_t> n(groups.num_words);
  at::Tensor counts = at::tensor(n, at::kLong).to(hidden.device()).unsqueeze(1);
  out.mask = at::arange(l, slot.options()).unsqueeze(0).lt(counts);
  if (importance.defined()) {
    TORCH_CHECK(importance.dim() == 2 && importance.size(0) == b,
                "importance must be [B, *], got ", importance.sizes());
    const at::Tensor src = groups.importance_source.to(hidden.device());
    const at::Tensor use = src.ge(0);
    TORCH_CHECK(src.max().item<int64_t>() < importance.size(1),
                "importance has ", importance.size(1),
                " positions, fewer than the tokens need");
    const at::Tensor gathered =
        importance.gather(1, src.clamp_min(0)).masked_select(use);
    const at::Tensor imp_target = (rows * l + slot).masked_select(use);
    out.importance = at::zeros({b * l}, importance.options())
                         .index_add(0, imp_target, gathered)
                         .view({b, l});
  }
  return out;
}

}  // namespace mammovl::text
