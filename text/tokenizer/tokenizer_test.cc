#include "text/tokenizer/tokenizer.h"

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "core/thread_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "text/tokenizer/unicode.h"

namespace mammovl::text {
namespace {

using ::mammovl::core::IsOk;
using ::mammovl::core::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kData[] = "text/tokenizer/testdata/";

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string WriteTemp(const std::string& name, const std::string& content) {
  const std::string path = TempPath(name);
  EXPECT_THAT(core::WriteFileAtomically(path, content), IsOk());
  return path;
}

absl::StatusOr<Tokenizer> TinyBert(const std::string& vocab_lines,
                                   bool lowercase = true) {
  WordPieceVocab config;
  config.set_vocab_path(WriteTemp("vocab.txt", vocab_lines));
  config.set_lowercase(lowercase);
  return Tokenizer::FromWordPieceVocab(config);
}

const char kTinyVocab[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nno\nmass\nsus\n##pic\n##ious\n,\n."
    "\ncafe\n";

absl::StatusOr<Tokenizer> Gpt2() {
  BytePairVocab config;
  config.set_vocab_path(absl::StrCat(kData, "gpt2_vocab.json"));
  config.set_merges_path(absl::StrCat(kData, "gpt2_merges.txt"));
  return Tokenizer::FromBytePairFiles(config);
}

EncodeOptions Options(int max_length, EncodeOptions::Padding padding) {
  EncodeOptions options;
  options.set_max_length(max_length);
  options.set_padding(padding);
  return options;
}

TEST(TokenizerTest, WordPieceSplitsIntoLongestPiecesWithOffsetsAndWordIds) {
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tok, TinyBert(kTinyVocab));
  EXPECT_EQ(tok.kind(), Tokenizer::Kind::kWordPiece);
  MVL_ASSERT_OK_AND_ASSIGN(
      Encoding e, tok.Encode("No  Suspicious MASS, Café x", EncodeOptions()));
  // [CLS] no sus ##pic ##ious mass , cafe [UNK] [SEP]
  EXPECT_THAT(e.ids, ElementsAre(2, 5, 7, 8, 9, 6, 10, 12, 1, 3));
  EXPECT_THAT(e.word_ids, ElementsAre(-1, 0, 1, 1, 1, 2, 3, 4, 5, -1));
  EXPECT_EQ(e.offsets[2], (TokenOffsets{4, 7}));    // "Sus"
  EXPECT_EQ(e.offsets[4], (TokenOffsets{10, 14}));  // "ious"
  EXPECT_EQ(e.offsets[7], (TokenOffsets{21, 26}));  // "Café" is 5 bytes.
  EXPECT_THAT(e.special_tokens_mask, ElementsAre(1, 0, 0, 0, 0, 0, 0, 0, 0, 1));
  EXPECT_EQ(tok.IdToToken(8), "##pic");
  EXPECT_EQ(tok.TokenToId("[SEP]"), 3);
  EXPECT_FALSE(tok.TokenToId("absent").has_value());
  EXPECT_EQ(tok.vocab_size(), 13);
  EXPECT_EQ(tok.num_special_tokens(), 2);
}

TEST(TokenizerTest, CasedModeKeepsCaseAndAccents) {
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tok,
                           TinyBert(kTinyVocab, /*lowercase=*/false));
  MVL_ASSERT_OK_AND_ASSIGN(Encoding e,
                           tok.Encode("no Mass cafe café", EncodeOptions()));
  EXPECT_THAT(e.ids, ElementsAre(2, 5, 1, 12, 1, 3));
}

TEST(TokenizerTest, TruncatesKeepingSeparatorAndPadsToMaxLength) {
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tok, TinyBert(kTinyVocab));
  std::vector<std::string> words(300, "mass");
  MVL_ASSERT_OK_AND_ASSIGN(
      Encoding e, tok.Encode(absl::StrJoin(words, " "),
                             Options(256, EncodeOptions::PAD_TO_MAX_LENGTH)));
  ASSERT_EQ(e.size(), 256u);
  EXPECT_EQ(e.ids[0], 2);
  EXPECT_EQ(e.ids[255],
            3);  // [SEP] at 255, as in Mammo-CLIP's 256-token input.
  EXPECT_EQ(e.word_ids[254], 253);
  MVL_ASSERT_OK_AND_ASSIGN(
      Encoding short_e,
      tok.Encode("no mass", Options(8, EncodeOptions::PAD_TO_MAX_LENGTH)));
  EXPECT_THAT(short_e.ids, ElementsAre(2, 5, 6, 3, 0, 0, 0, 0));
  EXPECT_THAT(short_e.attention_mask, ElementsAre(1, 1, 1, 1, 0, 0, 0, 0));
  EXPECT_THAT(short_e.word_ids, ElementsAre(-1, 0, 1, -1, -1, -1, -1, -1));
  // Without truncation a long text keeps all its tokens.
  EncodeOptions no_trunc = Options(8, EncodeOptions::PAD_TO_MAX_LENGTH);
  no_trunc.set_truncation(false);
  MVL_ASSERT_OK_AND_ASSIGN(Encoding long_e,
                           tok.Encode(absl::StrJoin(words, " "), no_trunc));
  EXPECT_EQ(long_e.size(), 302u);
}

TEST(TokenizerTest, BatchPadsToLongestAndMatchesSerialEncoding) {
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tok, TinyBert(kTinyVocab));
  const std::vector<std::string> texts = {"no", "no mass , mass", "",
                                          "suspicious"};
  core::ThreadPool pool(3);
  MVL_ASSERT_OK_AND_ASSIGN(
      std::vector<Encoding> batch,
      tok.EncodeBatch(texts, Options(0, EncodeOptions::PAD_TO_LONGEST), &pool));
  ASSERT_EQ(batch.size(), 4u);
  for (const Encoding& e : batch) EXPECT_EQ(e.size(), 6u);
  EXPECT_THAT(batch[2].ids, ElementsAre(2, 3, 0, 0, 0, 0));
  EXPECT_THAT(batch[3].attention_mask, ElementsAre(1, 1, 1, 1, 1, 0));
  for (size_t i = 0; i < texts.size(); ++i) {
    MVL_ASSERT_OK_AND_ASSIGN(Encoding single,
                             tok.Encode(texts[i], EncodeOptions()));
    std::vector<int32_t> unpadded(batch[i].ids.begin(),
                                  batch[i].ids.begin() + single.size());
    EXPECT_EQ(unpadded, single.ids);
  }
}

TEST(TokenizerTest, AddedTokensGetNextIdsOrKeepVocabularyIds) {
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tok, Gpt2());
  const int32_t base = tok.vocab_size();
  std::vector<AddedTokenConfig> added(3);
  added[0].set_content("<|startoftext|>");
  added[1].set_content("<|endoftext|>");  // Already in the vocabulary.
  added[2].set_content("<|separatetext|>");
  MVL_ASSERT_OK(tok.AddTokens(added));
  EXPECT_EQ(tok.TokenToId("<|startoftext|>"), base);
  EXPECT_EQ(tok.TokenToId("<|separatetext|>"), base + 1);
  EXPECT_EQ(tok.vocab_size(), base + 2);
  EXPECT_EQ(tok.IdToToken(base + 1), "<|separatetext|>");
  MVL_ASSERT_OK_AND_ASSIGN(
      Encoding e,
      tok.Encode("<|startoftext|>old<|separatetext|>  Image", EncodeOptions()));
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e.ids[0], base);
  EXPECT_EQ(e.ids[2], base + 1);
  EXPECT_EQ(e.offsets[2], (TokenOffsets{18, 34}));
  EXPECT_EQ(tok.IdToToken(e.ids[3]),
            "\xC4\xA0");  // "Ġ": the first of the two spaces.
  EXPECT_THAT(e.word_ids, ElementsAre(0, 1, 2, 3, 4));
}

TEST(TokenizerTest, PaddingNeedsAPadToken) {
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tok, Gpt2());
  EXPECT_FALSE(tok.pad_id().has_value());
  EXPECT_THAT(
      tok.Encode("x", Options(4, EncodeOptions::PAD_TO_MAX_LENGTH)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pad token")));
  EXPECT_THAT(tok.SetPadToken("<|nope|>"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  MVL_ASSERT_OK(tok.SetPadToken("<|endoftext|>"));
  MVL_ASSERT_OK_AND_ASSIGN(
      Encoding e,
      tok.Encode("x", Options(4, EncodeOptions::PAD_TO_MAX_LENGTH)));
  EXPECT_EQ(e.ids.back(), *tok.pad_id());
}

TEST(TokenizerTest, RejectsInvalidUtf8AndBadOptions) {
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tok, TinyBert(kTinyVocab));
  EXPECT_THAT(
      tok.Encode("no \xC3\x28 mass", EncodeOptions()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("offset 4")));
  EXPECT_THAT(tok.Encode("no", Options(1, EncodeOptions::NO_PADDING)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("special tokens")));
  EXPECT_THAT(
      tok.Encode("no", Options(0, EncodeOptions::PAD_TO_MAX_LENGTH)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_length")));
  const std::vector<std::string> texts = {"fine", "bad \xFF"};
  EXPECT_THAT(tok.EncodeBatch(texts, EncodeOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("text 1 of the batch")));
}

TEST(TokenizerLoadTest, RejectsUnreadableOrInconsistentWordPieceVocabularies) {
  WordPieceVocab missing;
  missing.set_vocab_path(TempPath("does_not_exist.txt"));
  EXPECT_THAT(Tokenizer::FromWordPieceVocab(missing),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(TinyBert(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(
      TinyBert("[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\xFF\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 5")));
  EXPECT_THAT(TinyBert("[PAD]\n[UNK]\n[CLS]\n[SEP]\nmass\nmass\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("repeats line 5")));
  EXPECT_THAT(TinyBert("[PAD]\n[CLS]\n[SEP]\nmass\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[UNK]")));
  EXPECT_THAT(TinyBert("[PAD]\n[UNK]\n[SEP]\nmass\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[CLS]")));
}

TEST(TokenizerLoadTest, RejectsUnreadableOrInconsistentBytePairFiles) {
  auto load = [](const std::string& vocab, const std::string& merges) {
    BytePairVocab config;
    config.set_vocab_path(WriteTemp("v.json", vocab));
    config.set_merges_path(WriteTemp("m.txt", merges));
    return Tokenizer::FromBytePairFiles(config);
  };
  const std::string vocab = R"({"a": 0, "b": 1, "ab": 2, "c": 3})";
  MVL_EXPECT_OK(load(vocab, "#version: 0.2\na b\n"));
  EXPECT_THAT(load("[1, 2]", "a b\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be an object")));
  EXPECT_THAT(load(R"({"a": 0, "b": "x"})", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"b\"")));
  EXPECT_THAT(
      load(R"({"a": 0, "b": 0})", ""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("share id 0")));
  EXPECT_THAT(
      load(R"({"a": 0, "a": 1})", ""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("appears twice")));
  EXPECT_THAT(load(R"({"a": -1})", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      load(R"({"a": 0,)", ""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1")));
  EXPECT_THAT(
      load(vocab, "#version: 0.2\na b c\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  EXPECT_THAT(
      load(vocab, "a b\n\nb c\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  EXPECT_THAT(load(vocab, "a x\n"), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("\"x\" is not in")));
  EXPECT_THAT(load(vocab, "b c\n"), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("merged token \"bc\"")));
  EXPECT_THAT(load(vocab, "a b\na b\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("repeats merge 1")));
  EXPECT_THAT(load(vocab, "a \xFE\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UTF-8")));
  BytePairVocab missing;
  missing.set_vocab_path(TempPath("nope.json"));
  missing.set_merges_path(TempPath("nope.txt"));
  EXPECT_THAT(Tokenizer::FromBytePairFiles(missing),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(TokenizerLoadTest, RejectsMalformedOrUnsupportedTokenizerJson) {
  EXPECT_THAT(
      Tokenizer::FromTokenizerJson("{", "t.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t.json")));
  EXPECT_THAT(
      Tokenizer::FromTokenizerJson("{}", "t.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t.json.model")));
  EXPECT_THAT(Tokenizer::FromTokenizerJson(
                  R"({"model": {"type": "Unigram", "vocab": {"a": 0}}})", "t"),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("Unigram")));
  const std::string wordpiece_model =
      R"("model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1, "[CLS]": 2, "[SEP]": 3}})";
  EXPECT_THAT(
      Tokenizer::FromTokenizerJson(
          absl::StrCat(
              "{", wordpiece_model,
              R"(, "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
                                  "post_processor": null})"),
          "t"),
      StatusIs(absl::StatusCode::kUnimplemented,
               HasSubstr("BertPreTokenizer")));
  EXPECT_THAT(
      Tokenizer::FromTokenizerJson(
          absl::StrCat(
              "{", wordpiece_model,
              R"(, "normalizer": {"type": "BertNormalizer", "lowercase": 1},
                                  "pre_tokenizer": {"type": "BertPreTokenizer"},
                                  "post_processor": null})"),
          "t"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("lowercase must be a boolean")));
  MVL_ASSERT_OK_AND_ASSIGN(
      Tokenizer ok,
      Tokenizer::FromTokenizerJson(absl::StrCat("{", wordpiece_model,
                                                R"(, "normalizer": null,
                                        "pre_tokenizer": {"type": "BertPreTokenizer"},
                                        "post_processor": {"type": "BertProcessing",
                                          "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}})"),
                                   "t"));
  MVL_ASSERT_OK_AND_ASSIGN(Encoding e, ok.Encode("a a!", EncodeOptions()));
  EXPECT_THAT(e.ids, ElementsAre(2, 1, 1, 0, 3));
  const std::string bert_parts =
      R"(, "normalizer": null, "pre_tokenizer": {"type": "BertPreTokenizer"},
         "post_processor": null, "added_tokens": )";
  EXPECT_THAT(
      Tokenizer::FromTokenizerJson(
          absl::StrCat("{", wordpiece_model, bert_parts,
                       R"([{"id": 5, "content": "[SEP]", "special": true}]})"),
          "t"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("has id 5 but 3")));
  EXPECT_THAT(
      Tokenizer::FromTokenizerJson(
          absl::StrCat("{", wordpiece_model, bert_parts,
                       R"([{"id": 1, "content": "<new>", "special": true}]})"),
          "t"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("belongs to \"a\"")));
  EXPECT_THAT(Tokenizer::FromTokenizerJsonFile(TempPath("missing.json")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(TokenizerConfigTest, BuildsFromConfigWithAddedTokensAndPad) {
  TokenizerConfig config;
  config.set_tokenizer_json(absl::StrCat(kData, "gpt2_mama_tokenizer.json"));
  config.set_pad_token("<|padtext|>");
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer tok, BuildTokenizer(config));
  EXPECT_EQ(tok.pad_id(), tok.TokenToId("<|padtext|>"));
  EXPECT_EQ(tok.kind(), Tokenizer::Kind::kBytePair);

  TokenizerConfig bert;
  bert.mutable_wordpiece()->set_vocab_path(
      absl::StrCat(kData, "bert_uncased_vocab.txt"));
  bert.add_added_tokens()->set_content("<finding>");
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer b, BuildTokenizer(bert));
  EXPECT_EQ(b.TokenToId("<finding>"), 30522);
  MVL_ASSERT_OK_AND_ASSIGN(Encoding e,
                           b.Encode("a<finding>b", EncodeOptions()));
  EXPECT_THAT(e.ids, ElementsAre(101, 1037, 30522, 1038, 102));
}

TEST(TokenizerConfigTest, ValidateNamesTheField) {
  TokenizerConfig config;
  EXPECT_THAT(
      ValidateTokenizerConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no source")));
  config.mutable_wordpiece();
  EXPECT_THAT(
      ValidateTokenizerConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vocab_path")));
  config.mutable_wordpiece()->set_vocab_path("v.txt");
  MVL_EXPECT_OK(ValidateTokenizerConfig(config));
  config.mutable_encode()->set_padding(EncodeOptions::PAD_TO_MAX_LENGTH);
  EXPECT_THAT(ValidateTokenizerConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_length is 0")));
  config.mutable_encode()->set_max_length(-3);
  EXPECT_THAT(ValidateTokenizerConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_length must be >= 0")));
  config.mutable_byte_level_bpe()->set_vocab_path("v.json");
  EXPECT_THAT(
      ValidateTokenizerConfig(config),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("merges_path")));
  config.add_added_tokens();
  config.mutable_byte_level_bpe()->set_merges_path("m.txt");
  config.mutable_encode()->set_max_length(10);
  EXPECT_THAT(ValidateTokenizerConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("added_tokens[0]")));
}

// Random bytes (mostly invalid UTF-8), random code points and truncated or
// corrupted tokenizer files: always a Status, never a crash.
TEST(TokenizerRobustnessTest, RandomInputsAndCorruptFilesGiveStatuses) {
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer bert, TinyBert(kTinyVocab));
  MVL_ASSERT_OK_AND_ASSIGN(Tokenizer gpt2, Gpt2());
  std::mt19937 rng(17);
  const EncodeOptions options = Options(16, EncodeOptions::NO_PADDING);
  int invalid = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    const bool valid = ValidateUtf8(bytes).ok();
    invalid += !valid;
    for (const Tokenizer* tok : {&bert, &gpt2}) {
      absl::StatusOr<Encoding> e = tok->Encode(bytes, options);
      EXPECT_EQ(e.ok(), valid);
      if (e.ok()) {
        EXPECT_LE(e->size(), 16u);
      }
    }
    std::string text;
    for (int k = rng() % 30; k > 0; --k) {
      char32_t c = rng() % 0x110000;
      if (c >= 0xD800 && c <= 0xDFFF) c = 'x';
      AppendUtf8(c, &text);
    }
    MVL_EXPECT_OK(bert.Encode(text, options));
    MVL_EXPECT_OK(gpt2.Encode(text, options));
  }
  EXPECT_GT(invalid, 1000);
  MVL_ASSERT_OK_AND_ASSIGN(
      std::string json,
      core::ReadFileToString(absl::StrCat(kData, "gpt2_mama_tokenizer.json")));
  for (int i = 0; i < 60; ++i) {
    std::string broken = json.substr(0, rng() % json.size());
    if (i % 2 == 1) {
      broken = json;
      for (int k = 0; k < 5; ++k)
        broken[rng() % broken.size()] = static_cast<char>(rng());
    }
    absl::StatusOr<Tokenizer> t =
        Tokenizer::FromTokenizerJson(broken, "broken.json");
    if (!t.ok()) {
      EXPECT_THAT(t.status().message(), HasSubstr("broken.json"));
    } else {
      MVL_EXPECT_OK(t->Encode("still works", EncodeOptions()));
    }
  }
}

}  // namespace
}  // namespace mammovl::text
