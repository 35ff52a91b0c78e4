// libFuzzer target: arbitrary text (first byte: encode options, see
// tokenizer_fuzz_util.h) through the four test tokenizers: BERT WordPiece
// from vocab.txt and from tokenizer.json, GPT-2 byte-level BPE from
// vocab.json + merges.txt and MaMA's tokenizer.json with added tokens.
// Run from the workspace (or runfiles) root: the vocabularies are read from
// text/tokenizer/testdata.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/string_view.h"
#include "text/tokenizer/tokenizer.h"
#include "text/tokenizer/tokenizer_fuzz_util.h"

namespace {

using mammovl::text::Tokenizer;

std::vector<Tokenizer>* LoadTokenizers() {
  const std::string dir = "text/tokenizer/testdata/";
  auto* tokenizers = new std::vector<Tokenizer>();
  auto keep = [&](absl::StatusOr<Tokenizer> t, const char* what) {
    if (!t.ok()) {
      std::fprintf(stderr, "tokenizer_encode_fuzzer: cannot load %s: %s\n",
                   what, t.status().ToString().c_str());
      std::abort();
    }
    tokenizers->push_back(*std::move(t));
  };
  mammovl::text::WordPieceVocab wordpiece;
  wordpiece.set_vocab_path(dir + "bert_uncased_vocab.txt");
  keep(Tokenizer::FromWordPieceVocab(wordpiece), "bert_uncased_vocab.txt");
  keep(Tokenizer::FromTokenizerJsonFile(dir + "bert_cased_tokenizer.json"),
       "bert_cased_tokenizer.json");
  mammovl::text::BytePairVocab bpe;
  bpe.set_vocab_path(dir + "gpt2_vocab.json");
  bpe.set_merges_path(dir + "gpt2_merges.txt");
  keep(Tokenizer::FromBytePairFiles(bpe), "gpt2 vocab.json + merges.txt");
  keep(Tokenizer::FromTokenizerJsonFile(dir + "gpt2_mama_tokenizer.json"),
       "gpt2_mama_tokenizer.json");
  for (Tokenizer& t : *tokenizers) {
    if (!t.pad_id().has_value()) {
      mammovl::text::AddedTokenConfig pad;
      pad.set_content("<|pad|>");
      if (!t.AddTokens({pad}).ok() || !t.SetPadToken("<|pad|>").ok())
        std::abort();
    }
  }
  return tokenizers;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Tokenizer>* tokenizers = LoadTokenizers();
  if (size == 0) return 0;
  const auto options = mammovl::text::fuzz::OptionsFromByte(data[0]);
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  for (const Tokenizer& tokenizer : *tokenizers) {
    mammovl::text::fuzz::EncodeAndCheck(tokenizer, text, options);
  }
  return 0;
}
