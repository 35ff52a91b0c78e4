// MGCA's sub-word → word aggregation (mgca_slip.md A4.1), vectorised: the
// word-piece embeddings of one word are summed into one slot, [CLS] is slot
// 0, the first [SEP] closes the last word and takes its own slot, the rest is
// zero padding. The reference's two defects can be reproduced for parity
// with released MGCA checkpoints.
#ifndef MAMMOVL_TEXT_BERT_WORD_AGGREGATION_H_
#define MAMMOVL_TEXT_BERT_WORD_AGGREGATION_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace mammovl::text {

// The slot of every token, from the token ids alone.
struct WordGroups {
  // [B, L] int64 (CPU): slot of each token, -1 for tokens that belong to no
  // word (after the first [SEP], or dropped).
  at::Tensor slot;
  // [B, L] int64 (CPU): position in the importance vector whose value the
  // token contributes to its word's importance, -1 for none.
  at::Tensor importance_source;
  // Words (slots in use) per row, [CLS] and [SEP] included.
  std::vector<int64_t> num_words;
};

// Groups the tokens of `ids` ([B, L] int64, CPU). `is_continuation[id]` says
// whether the vocabulary token `id` starts with "##". With `reference_quirks`
// it reproduces MGCA exactly: only positions 0..L-2 are visited (so a row
// with no [SEP] there loses its last open word) and each token contributes
// the importance of the position to its right. Without, every position is
// visited, an unterminated last word is kept, and each token contributes its
// own position's importance.
WordGroups GroupWordPieces(const at::Tensor& ids,
                           const std::vector<bool>& is_continuation,
                           int64_t sep_id, bool reference_quirks);

struct AggregatedWords {
  // [B, L, D]: summed word-piece embeddings per slot, zeros for padding.
  at::Tensor embeddings;
  // [B, L]: summed token importance per slot (undefined without importance).
  at::Tensor importance;
  // [B, L] bool: true for slots holding a word.
  at::Tensor mask;
};

// Sums `hidden` ([B, L, D]) into the slots of `groups`; `importance` is [B, L]
// (e.g. [CLS]→token attention averaged over heads) or undefined.
// Differentiable in `hidden` and `importance`.
AggregatedWords AggregateWordPieces(const at::Tensor& hidden,
                                    const WordGroups& groups,
                                    const at::Tensor& importance = {});

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_BERT_WORD_AGGREGATION_H_
