#include "text/bert/bert.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/state_dict.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "text/bert/word_aggregation.h"
#include "text/module_state.h"
#include "text/npy_test_util.h"
#include "text/text_pooling.h"

namespace mammovl::text {
namespace {

using ::testing::HasSubstr;

constexpr char kDir[] = "text/testdata/bert/";
constexpr double kTolerance = 1e-5;

at::Tensor Golden(const std::string& name) {
  return LoadNpyTensor(kDir + name + ".npy");
}

BertConfig TinyConfig() {
  BertConfig c;
  c.set_vocab_size(64);
  c.set_hidden_size(16);
  c.set_num_hidden_layers(2);
  c.set_num_attention_heads(4);
  c.set_intermediate_size(32);
  c.set_max_position_embeddings(16);
  c.set_type_vocab_size(2);
  return c;
}

// Loads the fixture checkpoint (pytorch_model.bin as BertForPreTraining
// saves it, or the bare model.safetensors) into a tiny model.
BertModel LoadTiny(const std::string& file,
                   const BertConfig& config = TinyConfig()) {
  BertModel model(config);
  model->eval();
  absl::StatusOr<core::StateDict> state = core::LoadStateDict(kDir + file);
  EXPECT_TRUE(state.ok()) << state.status();
  NamedTensors named = *state;
  if (file == "pytorch_model.bin") named = StripPrefix(named, "bert.");
  absl::StatusOr<ModuleLoadReport> report = LoadModuleState(*model, named);
  EXPECT_TRUE(report.ok()) << report.status();
  return model;
}

TEST(BertTest, MatchesReferenceHiddenStatesFromPytorchModelBin) {
  BertModel model = LoadTiny("pytorch_model.bin");
  at::NoGradGuard no_grad;
  const BertOutput out =
      model->forward(Golden("input_ids"), Golden("attention_mask"),
                     Golden("token_type_ids"), /*return_last_attention=*/true,
                     /*return_hidden_states=*/true);
  ASSERT_EQ(out.last_hidden_state.sizes(), (std::vector<int64_t>{3, 12, 16}));
  EXPECT_LE(RelativeError(out.last_hidden_state, Golden("last_hidden_state")),
            kTolerance);
  EXPECT_LE(RelativeError(out.pooler_output, Golden("pooler_output")),
            kTolerance);
  EXPECT_LE(RelativeError(out.last_attention, Golden("last_attention")),
            kTolerance);
  ASSERT_EQ(out.hidden_states.size(), 3u);
  EXPECT_LE(RelativeError(out.hidden_states[1], Golden("hidden_state_1")),
            kTolerance);
}

TEST(BertTest, SafetensorsGiveTheSameModelAndDefaultTokenTypesAreZero) {
  BertModel model = LoadTiny("model.safetensors");
  at::NoGradGuard no_grad;
  const BertOutput out =
      model->forward(Golden("input_ids"), Golden("attention_mask"));
  EXPECT_LE(RelativeError(out.last_hidden_state,
                          Golden("last_hidden_state_no_types")),
            kTolerance);
}

TEST(BertTest, MgcaZeroPositionModeMatchesReference) {
  BertConfig config = TinyConfig();
  config.set_zero_position_ids(true);
  BertModel model = LoadTiny("model.safetensors", config);
  at::NoGradGuard no_grad;
  const BertOutput out =
      model->forward(Golden("input_ids"), Golden("attention_mask"));
  EXPECT_LE(RelativeError(out.last_hidden_state,
                          Golden("last_hidden_state_zero_positions")),
            kTolerance);
}

TEST(BertTest, ParameterNamesAreHuggingFaces) {
  BertModel model(TinyConfig());
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.key());
  EXPECT_THAT(names, ::testing::Contains("embeddings.word_embeddings.weight"));
  EXPECT_THAT(names, ::testing::Contains(
                         "encoder.layer.1.attention.self.query.weight"));
  EXPECT_THAT(names, ::testing::Contains(
                         "encoder.layer.0.attention.output.LayerNorm.bias"));
  EXPECT_THAT(names,
              ::testing::Contains("encoder.layer.0.intermediate.dense.weight"));
  EXPECT_THAT(names,
              ::testing::Contains("encoder.layer.0.output.LayerNorm.weight"));
  EXPECT_THAT(names, ::testing::Contains("pooler.dense.weight"));
  EXPECT_EQ(names.size(), 5u + 2 * 16 + 2);
  BertConfig no_types = TinyConfig();
  no_types.set_type_vocab_size(0);
  no_types.set_add_pooler(false);
  BertModel blip(no_types);
  for (const auto& p : blip->named_parameters()) {
    EXPECT_THAT(p.key(), ::testing::Not(HasSubstr("token_type")));
    EXPECT_THAT(p.key(), ::testing::Not(HasSubstr("pooler")));
  }
}

TEST(BertTest, RejectsBadShapesWithTorchErrors) {
  BertModel model(TinyConfig());
  const at::Tensor ids = at::zeros({2, 20}, at::kLong);
  EXPECT_THROW(model->forward(ids, at::ones({2, 20}, at::kLong)),
               c10::Error);  // > 16 positions
  EXPECT_THROW(model->forward(ids.narrow(1, 0, 4), at::ones({2, 5})),
               c10::Error);
}

TEST(BertTest, GradientCheckpointingGivesTheSameGradients) {
  BertConfig config = TinyConfig();
  config.set_hidden_dropout_prob(0.2);
  config.set_attention_probs_dropout_prob(0.2);
  auto grads = [&](bool checkpoint) {
    config.set_gradient_checkpointing(checkpoint);
    BertModel model = LoadTiny("model.safetensors", config);
    model->train();
    at::manual_seed(5);
    const at::Tensor out =
        model->forward(Golden("input_ids"), Golden("attention_mask"))
            .last_hidden_state;
    out.pow(2).sum().backward();
    std::vector<at::Tensor> g;
    for (const auto& p : model->named_parameters()) {
      if (p.key().rfind("pooler.", 0) == 0) continue;  // Not used by the loss.
      EXPECT_TRUE(p.value().grad().defined()) << p.key();
      g.push_back(p.value().grad().defined() ? p.value().grad().clone()
                                             : at::zeros({1}));
    }
    return g;
  };
  const std::vector<at::Tensor> plain = grads(false);
  const std::vector<at::Tensor> checkpointed = grads(true);
  ASSERT_EQ(plain.size(), checkpointed.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_TRUE(at::allclose(plain[i], checkpointed[i], 1e-5, 1e-6)) << i;
  }
}

TEST(PoolingTest, MatchesReferencePoolings) {
  BertModel model = LoadTiny("model.safetensors");
  at::NoGradGuard no_grad;
  const at::Tensor mask = Golden("attention_mask");
  const at::Tensor h =
      model->forward(Golden("input_ids"), mask).last_hidden_state;
  EXPECT_LE(RelativeError(PoolText(h, mask, POOL_LAST_TOKEN),
                          Golden("pool_last_token")),
            kTolerance);
  EXPECT_LE(RelativeError(PoolText(h, mask, POOL_FIRST_TOKEN),
                          Golden("pool_first_token")),
            kTolerance);
  EXPECT_LE(RelativeError(PoolText(h, mask, POOL_MEAN), Golden("pool_mean")),
            kTolerance);
  EXPECT_LE(RelativeError(PoolText(h, mask, POOL_MEAN_ALL_POSITIONS),
                          Golden("pool_mean_all")),
            kTolerance);
  EXPECT_THROW(PoolText(h, mask, TEXT_POOLING_UNSPECIFIED), c10::Error);
}

std::vector<bool> Continuations() {
  const at::Tensor t = Golden("mgca_is_continuation");
  std::vector<bool> out;
  for (int64_t i = 0; i < t.size(0); ++i) out.push_back(t[i].item<bool>());
  return out;
}

// MGCA's per-sample Python loop, reproduced with its quirks.
TEST(WordAggregationTest, ReferenceModeMatchesMgca) {
  const at::Tensor ids = Golden("mgca_ids");
  const WordGroups groups = GroupWordPieces(ids, Continuations(), /*sep_id=*/3,
                                            /*reference_quirks=*/true);
  const at::Tensor num_words = Golden("mgca_num_words");
  for (int64_t r = 0; r < ids.size(0); ++r) {
    EXPECT_EQ(groups.num_words[r], num_words[r].item<int64_t>()) << r;
  }
  const AggregatedWords words = AggregateWordPieces(
      Golden("last_hidden_state"), groups, Golden("mgca_cls_attention"));
  EXPECT_LE(RelativeError(words.embeddings, Golden("mgca_word_embeddings")),
            1e-6);
  EXPECT_LE(RelativeError(words.importance, Golden("mgca_word_importance")),
            1e-6);
  EXPECT_EQ(words.mask.sum().item<int64_t>(), num_words.sum().item<int64_t>());
}

TEST(WordAggregationTest, FixedModeKeepsTheLastWordAndOwnImportance) {
  // [CLS] a ##b c [SEP] pad  /  [CLS] a ##b ##c d e (no [SEP], full row)
  std::vector<bool> cont(10, false);
  cont[5] = cont[6] = true;
  const at::Tensor ids =
      at::tensor({2, 4, 5, 7, 3, 0, 2, 4, 5, 6, 8, 9}, at::kLong).view({2, 6});
  const at::Tensor hidden = at::arange(12, at::kFloat).view({2, 6, 1});
  const at::Tensor importance = at::arange(12, at::kFloat).view({2, 6}) / 100;
  const WordGroups fixed =
      GroupWordPieces(ids, cont, 3, /*reference_quirks=*/false);
  EXPECT_EQ(fixed.num_words, (std::vector<int64_t>{4, 4}));
  const AggregatedWords w = AggregateWordPieces(hidden, fixed, importance);
  EXPECT_TRUE(at::equal(w.embeddings[0].view({-1}),
                        at::tensor({0.f, 3.f, 3.f, 4.f, 0.f, 0.f})));
  EXPECT_TRUE(at::equal(w.embeddings[1].view({-1}),
                        at::tensor({6.f, 24.f, 10.f, 11.f, 0.f, 0.f})));
  EXPECT_TRUE(at::allclose(w.importance[0],
                           at::tensor({0.f, .03f, .03f, .04f, 0.f, 0.f})));
  const WordGroups quirk =
      GroupWordPieces(ids, cont, 3, /*reference_quirks=*/true);
  // Row 1 never reaches a [SEP] in positions 0..4: the open word "d" is lost.
  EXPECT_EQ(quirk.num_words, (std::vector<int64_t>{4, 2}));
  const AggregatedWords q = AggregateWordPieces(hidden, quirk, importance);
  EXPECT_TRUE(at::equal(q.embeddings[1].view({-1}),
                        at::tensor({6.f, 24.f, 0.f, 0.f, 0.f, 0.f})));
  // Each token counts the importance of the position to its right.
  EXPECT_TRUE(at::allclose(q.importance[0],
                           at::tensor({.01f, .05f, .04f, .05f, 0.f, 0.f})));
}

}  // namespace
}  // namespace mammovl::text
