// Shared by the tokenizer fuzz targets: encode options drawn from one byte
// and the invariants every Encoding must satisfy.
#ifndef MAMMOVL_TEXT_TOKENIZER_TOKENIZER_FUZZ_UTIL_H_
#define MAMMOVL_TEXT_TOKENIZER_TOKENIZER_FUZZ_UTIL_H_

#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "text/tokenizer/tokenizer.h"
#include "tools/fuzz/fuzz_check.h"

namespace mammovl::text::fuzz {

// Bits 0-1: max_length (0, 4, 16, 512); bit 2: add_special_tokens; bit 3:
// truncation; bits 4-5: padding.
inline EncodeOptions OptionsFromByte(uint8_t b) {
  static const int kMaxLength[] = {0, 4, 16, 512};
  EncodeOptions options;
  options.set_max_length(kMaxLength[b & 3]);
  options.set_add_special_tokens((b & 4) == 0);
  options.set_truncation((b & 8) == 0);
  options.set_padding(static_cast<EncodeOptions::Padding>(1 + (b >> 4) % 3));
  return options;
}

// Encodes `text` and checks the result against `options` and `text`.
inline void EncodeAndCheck(const Tokenizer& tokenizer, absl::string_view text,
                           const EncodeOptions& options) {
  const auto encoding = tokenizer.Encode(text, options);
  if (!encoding.ok()) {
    MVL_FUZZ_CHECK(!encoding.status().message().empty());
    return;
  }
  const size_t n = encoding->size();
  MVL_FUZZ_CHECK(
      encoding->type_ids.size() == n && encoding->offsets.size() == n &&
      encoding->word_ids.size() == n && encoding->attention_mask.size() == n &&
      encoding->special_tokens_mask.size() == n);
  if (options.max_length() > 0 && options.truncation()) {
    MVL_FUZZ_CHECK(n <= static_cast<size_t>(options.max_length()) ||
                   (options.max_length() < tokenizer.num_special_tokens()));
  }
  if (options.padding() == EncodeOptions::PAD_TO_MAX_LENGTH &&
      options.truncation()) {
    MVL_FUZZ_CHECK(n == static_cast<size_t>(options.max_length()));
  }
  for (size_t i = 0; i < n; ++i) {
    MVL_FUZZ_CHECK(encoding->ids[i] >= 0 &&
                   encoding->ids[i] < tokenizer.vocab_size());
    const TokenOffsets& o = encoding->offsets[i];
    MVL_FUZZ_CHECK(o.begin >= 0 && o.begin <= o.end &&
                   static_cast<size_t>(o.end) <= text.size());
    MVL_FUZZ_CHECK(encoding->attention_mask[i] <= 1 &&
                   encoding->special_tokens_mask[i] <= 1);
  }
}

}  // namespace mammovl::text::fuzz

#endif  // MAMMOVL_TEXT_TOKENIZER_TOKENIZER_FUZZ_UTIL_H_
