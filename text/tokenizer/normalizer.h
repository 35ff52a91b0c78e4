// Internal to text/tokenizer: text as code points that remember which bytes
// of the original input each came from (Hugging Face's NormalizedString
// alignments), the BERT normaliser, and the BERT and GPT-2 pre-tokenisers.
#ifndef MAMMOVL_TEXT_TOKENIZER_NORMALIZER_H_
#define MAMMOVL_TEXT_TOKENIZER_NORMALIZER_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace mammovl::text_internal {

// One code point of normalised text and the original byte range it stands for.
struct NormalizedChar {
  char32_t c;
  int32_t begin;
  int32_t end;
};
using NormalizedText = std::vector<NormalizedChar>;

// A half-open range of indices into a `NormalizedText`.
struct CharRange {
  int32_t begin;
  int32_t end;
};

// Decodes valid UTF-8 `text` into code points aligned with themselves;
// `base` is added to every offset.
void DecodeAligned(absl::string_view text, int32_t base, NormalizedText* out);

struct BertNormalizerOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;
  bool lowercase = true;
};

// Applies Hugging Face's BertNormalizer to `text` in place: clean_text, CJK
// spacing, NFD + dropping non-spacing marks, lower-casing, in that order.
// Characters created by a step inherit the alignment HF gives them.
void BertNormalize(const BertNormalizerOptions& options, NormalizedText* text,
                   NormalizedText* scratch);

// BertPreTokenizer: splits `range` of `text` on whitespace (dropped) and
// punctuation (kept as one-character words). Appends the words.
void BertPreTokenize(const NormalizedText& text, CharRange range,
                     std::vector<CharRange>* words);

// The GPT-2 pre-tokenisation regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// applied to `range` of `text`. Appends the matches (they tile the range).
void Gpt2PreTokenize(const NormalizedText& text, CharRange range,
                     std::vector<CharRange>* words);

}  // namespace mammovl::text_internal

#endif  // MAMMOVL_TEXT_TOKENIZER_NORMALIZER_H_
