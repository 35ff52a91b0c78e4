// MammoVL's text tokenizers: BERT WordPiece (Mammo-CLIP's and MGCA's
// Bio_ClinicalBERT) and GPT-2 byte-level BPE (MaMA's BioMedLM), loaded from
// `vocab.txt`, `vocab.json` + `merges.txt` or a Hugging Face `tokenizer.json`.
// Encodings (ids, offsets, word ids, masks, truncation, padding) equal those of
// Hugging Face's fast tokenizers, the Rust `tokenizers` library, including
// added tokens such as MaMA's <|separatetext|>. No LibTorch, no Python.
//
// Example:
//   MVL_ASSIGN_OR_RETURN(Tokenizer tok, BuildTokenizer(config));
//   EncodeOptions options;
//   options.set_max_length(256);
//   options.set_padding(EncodeOptions::PAD_TO_MAX_LENGTH);
//   MVL_ASSIGN_OR_RETURN(Encoding e, tok.Encode("No suspicious mass.",
//   options));
#ifndef MAMMOVL_TEXT_TOKENIZER_TOKENIZER_H_
#define MAMMOVL_TEXT_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/thread_pool.h"
#include "text/tokenizer/tokenizer_config.pb.h"

namespace mammovl::text {

// Byte range [begin, end) of a token in the UTF-8 input text.
struct TokenOffsets {
  int32_t begin = 0;
  int32_t end = 0;
  bool operator==(const TokenOffsets& o) const {
    return begin == o.begin && end == o.end;
  }
};

// One encoded text. All vectors have `size()` elements.
struct Encoding {
  std::vector<int32_t> ids;
  // Segment ids (0 for single texts, or the template's type id).
  std::vector<int32_t> type_ids;
  // {0, 0} for tokens the post-processor or padding added.
  std::vector<TokenOffsets> offsets;
  // Index of the pre-tokenised word (added tokens count as words) the token
  // belongs to; -1 for post-processor tokens and padding.
  std::vector<int32_t> word_ids;
  // 1 for real tokens (special ones included), 0 for padding.
  std::vector<uint8_t> attention_mask;
  // 1 for tokens added by the post-processor and for padding.
  std::vector<uint8_t> special_tokens_mask;

  size_t size() const { return ids.size(); }
};

class Tokenizer {
 public:
  enum class Kind { kWordPiece, kBytePair };

  // Loaders. Errors: NotFound for missing files; InvalidArgument naming the
  // file and line/entry for unreadable or inconsistent vocabularies and
  // merges (duplicates, merges over unknown tokens, missing special tokens);
  // Unimplemented for tokenizer.json components other than those of BERT
  // and GPT-2 style tokenizers.
  static absl::StatusOr<Tokenizer> FromWordPieceVocab(
      const WordPieceVocab& config);
  static absl::StatusOr<Tokenizer> FromBytePairFiles(
      const BytePairVocab& config);
  static absl::StatusOr<Tokenizer> FromTokenizerJsonFile(
      absl::string_view path);
  // `name` (e.g. the path it came from) starts error messages.
  static absl::StatusOr<Tokenizer> FromTokenizerJson(absl::string_view json,
                                                     absl::string_view name);

  // Adds tokens like Hugging Face's `add_special_tokens`: a token already in
  // the vocabulary keeps its id, a new one gets the next free id, in order.
  absl::Status AddTokens(const std::vector<AddedTokenConfig>& tokens);

  // Sets the padding token (must be in the vocabulary).
  absl::Status SetPadToken(absl::string_view token);

  // Encodes one text. InvalidArgument for invalid UTF-8 (naming the byte
  // offset), texts of 2 GiB or more, `max_length` smaller than the number of
  // special tokens, or padding without a pad token or to a 0 `max_length`.
  // Thread-safe.
  absl::StatusOr<Encoding> Encode(absl::string_view text,
                                  const EncodeOptions& options) const;

  // Encodes a batch (on `pool` if given) and pads it as `options` says
  // (`PAD_TO_LONGEST`: to the longest text of the batch). Errors name the
  // index of the failing text.
  absl::StatusOr<std::vector<Encoding>> EncodeBatch(
      absl::Span<const std::string> texts, const EncodeOptions& options,
      core::ThreadPool* pool = nullptr) const;

  // Id of a vocabulary or added token (WordPiece tokens as in vocab.txt,
  // byte-level ones in GPT-2's alphabet, e.g. "Ġmass").
  std::optional<int32_t> TokenToId(absl::string_view token) const;
  // The token of `id`, or "" if no token has that id.
  std::string IdToToken(int32_t id) const;
  // Highest id + 1, added tokens included.
  int32_t vocab_size() const;
  // The padding token's id, if any.
  std::optional<int32_t> pad_id() const;
  Kind kind() const;
  // Number of tokens the post-processor adds to one text (2 for BERT).
  int num_special_tokens() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl)
      : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Checks `config` without reading files: a source is set, paths are given,
// encode options are consistent. InvalidArgument naming the field.
absl::Status ValidateTokenizerConfig(const TokenizerConfig& config);

// Loads the tokenizer `config` names, adds its `added_tokens` and sets its pad
// token.
absl::StatusOr<Tokenizer> BuildTokenizer(const TokenizerConfig& config);

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_TOKENIZER_TOKENIZER_H_
