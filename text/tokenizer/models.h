// Internal to text/tokenizer: the two sub-word models (BERT WordPiece and
// GPT-2 byte-level BPE) and the added-token matcher, each reproducing the
// corresponding Hugging Face `tokenizers` component.
#ifndef MAMMOVL_TEXT_TOKENIZER_MODELS_H_
#define MAMMOVL_TEXT_TOKENIZER_MODELS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "text/tokenizer/normalizer.h"

namespace mammovl::text_internal {

// A token produced by a model: its id and the half-open range it covers, in
// characters of the word (WordPiece) or bytes of the word (BPE).
struct ModelToken {
  int32_t id;
  int32_t begin;
  int32_t end;
};

// Greedy longest-match-first WordPiece (HF `models::wordpiece`).
class WordPieceModel {
 public:
  // `vocab` maps token → id. InvalidArgument if `unk_token` is not in it.
  static absl::StatusOr<std::unique_ptr<WordPieceModel>> Create(
      absl::flat_hash_map<std::string, int32_t> vocab,
      const std::string& unk_token,
      const std::string& continuing_subword_prefix,
      int max_input_chars_per_word);

  // Tokenizes the characters `word` of `text`; appends tokens whose ranges are
  // character indices into `text`. A word longer than the limit, or one that
  // cannot be covered by vocabulary pieces, becomes one unknown token.
  void Tokenize(const NormalizedText& text, CharRange word,
                std::vector<ModelToken>* out) const;

  const absl::flat_hash_map<std::string, int32_t>& vocab() const {
    return vocab_;
  }

 private:
  WordPieceModel() = default;

  absl::flat_hash_map<std::string, int32_t> vocab_;
  // Tokens that start with the prefix, keyed without it.
  absl::flat_hash_map<std::string, int32_t> continuations_;
  int32_t unk_id_ = 0;
  int max_chars_ = 100;
};

// Returns GPT-2's byte → character table (`bytes_to_unicode`).
const std::vector<char32_t>& ByteToUnicode();

// Byte-level BPE (HF `models::bpe` with the ByteLevel pre-tokenizer): works on
// raw bytes; vocabulary keys are given in the byte-level alphabet.
class BytePairModel {
 public:
  // `vocab` maps byte-level token → id; `merges` are (left, right) pairs in
  // priority order. InvalidArgument naming the merge (1-based) whose parts or
  // result are not in the vocabulary, or a repeated merge.
  static absl::StatusOr<std::unique_ptr<BytePairModel>> Create(
      const absl::flat_hash_map<std::string, int32_t>& vocab,
      const std::vector<std::pair<std::string, std::string>>& merges);

  // Tokenizes raw `bytes`; appends tokens whose ranges are byte offsets.
  // Thread-safe (the word cache is locked).
  void Tokenize(absl::string_view bytes, std::vector<ModelToken>* out) const;

 private:
  BytePairModel() = default;
  void Merge(absl::string_view bytes, std::vector<ModelToken>* out) const;

  static uint64_t PairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) |
           static_cast<uint32_t>(b);
  }

  int32_t byte_ids_[256];
  struct MergeResult {
    int32_t rank;
    int32_t id;
  };
  absl::flat_hash_map<uint64_t, MergeResult> merges_;

  static constexpr size_t kCacheCapacity = 10000;
  static constexpr size_t kMaxCachedWordBytes = 256;
  mutable absl::Mutex cache_mutex_;
  mutable absl::flat_hash_map<std::string, std::vector<ModelToken>> cache_
      ABSL_GUARDED_BY(cache_mutex_);
};

// One token matched in the text before the model runs (HF `AddedToken`).
struct AddedTokenSpec {
  std::string content;
  int32_t id = 0;
  bool special = true;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  // `content` as code points; normalised for `normalized` tokens.
  std::vector<char32_t> pattern;
};

// A piece of text: plain, or one added token (`added_id` ≥ 0).
struct Segment {
  CharRange range;
  int32_t added_id;
};

// Leftmost-longest matching of added tokens (HF `AddedVocabulary`).
class AddedTokenMatcher {
 public:
  // Uses the tokens of `tokens` whose `normalized` flag equals `normalized`.
  AddedTokenMatcher(const std::vector<AddedTokenSpec>& tokens, bool normalized);

  bool empty() const { return by_first_.empty(); }

  // Splits `range` of `text` into plain segments and matches (one plain
  // segment when there are no tokens). Empty plain segments are left out.
  void Split(const NormalizedText& text, CharRange range,
             std::vector<Segment>* out) const;

 private:
  struct Pattern {
    std::vector<char32_t> chars;
    int32_t id;
    bool lstrip;
    bool rstrip;
  };
  // Patterns by first character, longest first.
  absl::flat_hash_map<char32_t, std::vector<Pattern>> by_first_;
};

}  // namespace mammovl::text_internal

#endif  // MAMMOVL_TEXT_TOKENIZER_MODELS_H_
