// Internal to text/tokenizer: the state behind `Tokenizer`, shared by the
// loaders (tokenizer_loader.cc) and the encoder (tokenizer.cc).
#ifndef MAMMOVL_TEXT_TOKENIZER_TOKENIZER_IMPL_H_
#define MAMMOVL_TEXT_TOKENIZER_TOKENIZER_IMPL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "text/tokenizer/models.h"
#include "text/tokenizer/normalizer.h"
#include "text/tokenizer/tokenizer.h"

namespace mammovl::text {

struct Tokenizer::Impl {
  Kind kind = Kind::kWordPiece;
  // BertNormalizer (WordPiece only; unset means no normaliser).
  std::optional<text_internal::BertNormalizerOptions> normalizer;
  std::shared_ptr<const text_internal::WordPieceModel> wordpiece;
  std::shared_ptr<const text_internal::BytePairModel> bpe;
  // The model's vocabulary (token → id), without added tokens.
  std::shared_ptr<const absl::flat_hash_map<std::string, int32_t>> vocab;
  // id → token for the model's vocabulary ("" where no token has the id).
  std::shared_ptr<const std::vector<std::string>> id_to_token;

  std::vector<text_internal::AddedTokenSpec> added;
  std::shared_ptr<const text_internal::AddedTokenMatcher> raw_matcher;
  std::shared_ptr<const text_internal::AddedTokenMatcher> normalized_matcher;

  // Post-processor for one sequence: tokens before and after it.
  struct SpecialPiece {
    int32_t id;
    int32_t type_id;
  };
  std::vector<SpecialPiece> prefix;
  std::vector<SpecialPiece> suffix;
  int32_t sequence_type_id = 0;

  std::optional<int32_t> pad_id;
  int32_t pad_type_id = 0;

  // Rebuilds the matchers from `added`, normalising the patterns of
  // `normalized` tokens.
  void RebuildMatchers();
  // Normalises `text` (valid UTF-8) with this tokenizer's normaliser.
  std::vector<char32_t> NormalizeForMatching(const std::string& text) const;
};

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_TOKENIZER_TOKENIZER_IMPL_H_
