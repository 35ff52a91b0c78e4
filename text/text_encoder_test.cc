#include "text/text_encoder.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/state_dict.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "text/bert/bert.h"
#include "text/gpt2/gpt2.h"
#include "text/npy_test_util.h"
#include "text/text_pooling.h"

namespace mammovl::text {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

std::string TempFile(const std::string& name, const std::string& content) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path =
      absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  EXPECT_THAT(core::WriteFileAtomically(path, content), core::IsOk());
  return path;
}

// A 64-token vocabulary matching the tiny BERT fixture.
std::string TinyVocab() {
  std::string v =
      "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]"
      "\nno\nmass\nsuspicious\ncalcification\n";
  for (int i = 9; i < 64; ++i) absl::StrAppend(&v, "t", i, "\n");
  return v;
}

TextEncoderConfig BertEncoderConfig() {
  TextEncoderConfig c;
  c.mutable_tokenizer()->mutable_wordpiece()->set_vocab_path(
      TempFile("vocab.txt", TinyVocab()));
  c.mutable_tokenizer()->mutable_encode()->set_max_length(16);
  c.mutable_tokenizer()->mutable_encode()->set_padding(
      EncodeOptions::PAD_TO_MAX_LENGTH);
  BertConfig* b = c.mutable_bert();
  b->set_vocab_size(64);
  b->set_hidden_size(16);
  b->set_num_hidden_layers(2);
  b->set_num_attention_heads(4);
  b->set_intermediate_size(32);
  b->set_max_position_embeddings(16);
  c.set_checkpoint("text/testdata/bert/pytorch_model.bin");
  c.set_pooling(POOL_LAST_TOKEN);
  return c;
}

TEST(TextEncoderTest, BertEncodesTextsWithLoadedWeights) {
  MVL_ASSERT_OK_AND_ASSIGN(TextEncoder encoder,
                           BuildTextEncoder(BertEncoderConfig()));
  encoder.module().eval();
  EXPECT_EQ(encoder.hidden_size(), 16);
  at::NoGradGuard no_grad;
  MVL_ASSERT_OK_AND_ASSIGN(
      TextEncoderOutput out,
      encoder.Encode({"No mass.", "suspicious calcification"}));
  // Trimmed to the longest text (5 tokens) of the batch.
  ASSERT_EQ(out.input_ids.sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(out.input_ids[0][0].item<int64_t>(), 2);  // [CLS]
  EXPECT_EQ(out.input_ids[0][3].item<int64_t>(), 1);  // "." is [UNK]
  EXPECT_EQ(out.input_ids[0][4].item<int64_t>(), 3);  // [SEP]
  EXPECT_EQ(out.attention_mask.sum().item<int64_t>(), 5 + 4);
  ASSERT_EQ(out.pooled.sizes(), (std::vector<int64_t>{2, 16}));
  // Pooled = the [SEP] state (Mammo-CLIP's "eos" pooling).
  EXPECT_TRUE(at::equal(out.pooled[0], out.hidden[0][4]));
  // Same as the fixture weights loaded by hand from the safetensors file.
  BertModel reference(BertEncoderConfig().bert());
  reference->eval();
  absl::StatusOr<core::StateDict> state =
      core::LoadStateDict("text/testdata/bert/model.safetensors");
  ASSERT_TRUE(state.ok());
  at::NoGradGuard copying;
  for (auto& p : reference->named_parameters()) {
    for (const auto& [n, v] : *state) {
      if (n == p.key()) p.value().copy_(v);
    }
  }
  const at::Tensor expected =
      reference->forward(out.input_ids, out.attention_mask).last_hidden_state;
  EXPECT_LE(RelativeError(out.hidden, expected), 1e-6);
  // Without trimming: 16 columns, the same pooled features and real-token
  // states.
  TextEncoderConfig full_config = BertEncoderConfig();
  full_config.set_trim_padding(false);
  MVL_ASSERT_OK_AND_ASSIGN(TextEncoder full, BuildTextEncoder(full_config));
  full.module().eval();
  MVL_ASSERT_OK_AND_ASSIGN(
      TextEncoderOutput untrimmed,
      full.Encode({"No mass.", "suspicious calcification"}));
  ASSERT_EQ(untrimmed.hidden.size(1), 16);
  EXPECT_LE(RelativeError(untrimmed.pooled, out.pooled), 1e-6);
  EXPECT_LE(RelativeError(untrimmed.hidden.narrow(1, 0, 5)[0], out.hidden[0]),
            1e-6);
}

TEST(TextEncoderTest, Gpt2WithMamaTokensGrowsTheEmbeddingAndTrainsOnlyLora) {
  TextEncoderConfig c;
  TokenizerConfig* t = c.mutable_tokenizer();
  // A small byte-level vocabulary: letters, "Ġ", and three merges.
  std::string vocab = "{";
  for (char ch = 'a'; ch <= 'z'; ++ch)
    absl::StrAppend(&vocab, "\"", std::string(1, ch), "\": ", ch - 'a', ", ");
  absl::StrAppend(&vocab,
                  "\"\xC4\xA0\": 26, \"ma\": 27, \"ss\": 28, \"mass\": 29}");
  t->mutable_byte_level_bpe()->set_vocab_path(TempFile("v.json", vocab));
  t->mutable_byte_level_bpe()->set_merges_path(
      TempFile("m.txt", "#version: 0.2\nm a\ns s\nma ss\n"));
  for (const char* tok :
       {"<|startoftext|>", "<|padtext|>", "<|masktext|>", "<|separatetext|>",
        "<|unknowntext|>", "<|keytext|>"}) {
    t->add_added_tokens()->set_content(tok);
  }
  t->set_pad_token("<|padtext|>");
  t->mutable_encode()->set_max_length(12);
  t->mutable_encode()->set_padding(EncodeOptions::PAD_TO_MAX_LENGTH);
  Gpt2Config* g = c.mutable_gpt2();
  g->set_vocab_size(86);  // 80 rows in the checkpoint + 6.
  g->set_n_positions(16);
  g->set_n_embd(16);
  g->set_n_layer(2);
  g->set_n_head(4);
  g->mutable_lora()->set_rank(4);
  c.set_checkpoint("text/testdata/gpt2/pytorch_model.bin");
  c.set_pooling(POOL_FIRST_PAD);
  c.set_init_seed(7);
  MVL_ASSERT_OK_AND_ASSIGN(TextEncoder encoder, BuildTextEncoder(c));
  EXPECT_EQ(encoder.tokenizer().TokenToId("<|separatetext|>"), 33);
  auto params = encoder.module().named_parameters();
  const at::Tensor wte = params["wte.weight"];
  absl::StatusOr<core::StateDict> state =
      core::LoadStateDict("text/testdata/gpt2/model.safetensors");
  ASSERT_TRUE(state.ok());
  for (const auto& [n, v] : *state) {
    if (n == "wte.weight") {
      EXPECT_TRUE(at::equal(wte.narrow(0, 0, 80), v));
    }
  }
  const at::Tensor added = wte.narrow(0, 80, 6);
  EXPECT_GT(added.abs().sum().item<double>(), 0);
  EXPECT_NEAR(added.std().item<double>(), 0.02, 0.01);
  for (const auto& p : params) {
    EXPECT_EQ(p.value().requires_grad(), absl::StrContains(p.key(), ".lora_"))
        << p.key();
  }
  encoder.module().eval();
  at::NoGradGuard no_grad;
  MVL_ASSERT_OK_AND_ASSIGN(
      TextEncoderOutput out,
      encoder.Encode({"<|startoftext|>mass<|separatetext|><|endoftext|>"}));
  ASSERT_EQ(out.input_ids.sizes(), (std::vector<int64_t>{1, 12}));
  EXPECT_EQ(out.input_ids[0][0].item<int64_t>(), 30);
  EXPECT_EQ(out.input_ids[0][1].item<int64_t>(), 29);  // "mass" merged.
  // "<|endoftext|>" is not in this vocabulary: its bytes are dropped.
  EXPECT_EQ(out.attention_mask.sum().item<int64_t>(),
            3 + 9);  // <|endoftext|> letters
  EXPECT_TRUE(at::equal(
      out.pooled, PoolText(out.hidden, out.attention_mask, POOL_FIRST_PAD)));
}

TEST(TextEncoderTest, ValidationAndLoadingErrorsNameTheProblem) {
  TextEncoderConfig c = BertEncoderConfig();
  c.clear_tokenizer();
  EXPECT_THAT(BuildTextEncoder(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("tokenizer")));
  c = BertEncoderConfig();
  c.clear_bert();
  EXPECT_THAT(BuildTextEncoder(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("no model")));
  c = BertEncoderConfig();
  c.set_pooling(TEXT_POOLING_UNSPECIFIED);
  EXPECT_THAT(BuildTextEncoder(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("pooling")));
  c = BertEncoderConfig();
  c.mutable_tokenizer()->mutable_encode()->set_max_length(512);
  EXPECT_THAT(BuildTextEncoder(c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_position_embeddings")));
  c = BertEncoderConfig();
  c.mutable_bert()->set_num_attention_heads(5);
  EXPECT_THAT(BuildTextEncoder(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("multiple")));
  c = BertEncoderConfig();
  c.mutable_tokenizer()->mutable_wordpiece()->set_vocab_path(
      "text/tokenizer/testdata/bert_uncased_vocab.txt");
  EXPECT_THAT(
      BuildTextEncoder(c),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("30522 tokens but the model vocab_size is 64")));
  c = BertEncoderConfig();
  c.set_checkpoint("text/testdata/missing.bin");
  EXPECT_THAT(BuildTextEncoder(c), StatusIs(absl::StatusCode::kNotFound));
  c = BertEncoderConfig();
  c.mutable_bert()->set_intermediate_size(48);
  EXPECT_THAT(BuildTextEncoder(c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("intermediate.dense.weight")));
  c = BertEncoderConfig();
  c.mutable_bert()->set_num_hidden_layers(3);
  EXPECT_THAT(BuildTextEncoder(c), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("encoder.layer.2")));
}

}  // namespace
}  // namespace mammovl::text
