#include "text/gpt2/gpt2.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "core/state_dict.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "text/module_state.h"
#include "text/npy_test_util.h"
#include "text/text_pooling.h"

namespace mammovl::text {
namespace {

constexpr char kDir[] = "text/testdata/gpt2/";
constexpr double kTolerance = 1e-5;

at::Tensor Golden(const std::string& name) {
  return LoadNpyTensor(kDir + name + ".npy");
}

Gpt2Config TinyConfig(bool lora) {
  Gpt2Config c;
  c.set_vocab_size(80);
  c.set_n_positions(16);
  c.set_n_embd(16);
  c.set_n_layer(2);
  c.set_n_head(4);
  if (lora) {
    c.mutable_lora()->set_rank(4);
    c.mutable_lora()->set_alpha(8);
    c.mutable_lora()->set_dropout(0.0);
  }
  return c;
}

NamedTensors State(const std::string& file) {
  absl::StatusOr<core::StateDict> state = core::LoadStateDict(kDir + file);
  EXPECT_TRUE(state.ok()) << state.status();
  return state.ok() ? *state : NamedTensors();
}

// Base weights from GPT2LMHeadModel's pytorch_model.bin, plus the adapters.
Gpt2Model LoadTiny(const Gpt2Config& config) {
  Gpt2Model model(config);
  model->eval();
  ModuleLoadOptions options;
  options.optional_substrings = {".lora_"};
  absl::StatusOr<ModuleLoadReport> base = LoadModuleState(
      *model, StripPrefix(State("pytorch_model.bin"), "transformer."), options);
  EXPECT_TRUE(base.ok()) << base.status();
  if (base.ok()) {
    // The causal-mask buffers of old checkpoints are reported, not used.
    EXPECT_THAT(base->unexpected, ::testing::Contains("h.0.attn.bias"));
  }
  if (config.has_lora()) {
    absl::StatusOr<ModuleLoadReport> adapters =
        LoadModuleState(*model, State("adapter.safetensors"),
                        ModuleLoadOptions{{"."}, {}});  // All optional.
    EXPECT_TRUE(adapters.ok()) << adapters.status();
    if (adapters.ok()) {
      EXPECT_EQ(adapters->loaded, 4);
    }
  }
  return model;
}

TEST(Gpt2Test, MatchesReferenceHiddenStates) {
  Gpt2Model model = LoadTiny(TinyConfig(false));
  at::NoGradGuard no_grad;
  const at::Tensor out =
      model->forward(Golden("input_ids"), Golden("attention_mask"));
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{3, 10, 16}));
  EXPECT_LE(RelativeError(out, Golden("last_hidden_state")), kTolerance);
  // Safetensors with bare keys give the same model.
  Gpt2Model again(TinyConfig(false));
  again->eval();
  MVL_ASSERT_OK(LoadModuleState(*again, State("model.safetensors")).status());
  EXPECT_LE(RelativeError(
                again->forward(Golden("input_ids"), Golden("attention_mask")),
                Golden("last_hidden_state")),
            kTolerance);
  // MaMA's zero-shot pooling: the first pad, or the BOS when unpadded.
  EXPECT_LE(
      RelativeError(PoolText(out, Golden("attention_mask"), POOL_FIRST_PAD),
                    Golden("pool_first_pad")),
      kTolerance);
}

TEST(Gpt2Test, ConvWeightsAreStoredInputMajorUnderHuggingFaceNames) {
  Gpt2Model model(TinyConfig(false));
  const auto params = model->named_parameters();
  ASSERT_TRUE(params.contains("h.1.attn.c_attn.weight"));
  EXPECT_EQ(params["h.1.attn.c_attn.weight"].sizes(),
            (std::vector<int64_t>{16, 48}));
  EXPECT_EQ(params["h.0.mlp.c_fc.weight"].sizes(),
            (std::vector<int64_t>{16, 64}));
  EXPECT_EQ(params["h.0.mlp.c_proj.weight"].sizes(),
            (std::vector<int64_t>{64, 16}));
  for (const char* name :
       {"wte.weight", "wpe.weight", "ln_f.weight", "h.0.ln_1.bias",
        "h.0.attn.c_proj.bias", "h.1.ln_2.weight"}) {
    EXPECT_TRUE(params.contains(name)) << name;
  }
  EXPECT_EQ(params.size(), 3u + 2 * 12 + 1);
}

TEST(Gpt2LoraTest, UnmergedAndMergedOutputsMatchReference) {
  Gpt2Model model = LoadTiny(TinyConfig(true));
  EXPECT_EQ(model->num_lora_modules(), 2);
  at::NoGradGuard no_grad;
  const at::Tensor ids = Golden("input_ids"), mask = Golden("attention_mask");
  const at::Tensor unmerged = model->forward(ids, mask);
  EXPECT_LE(RelativeError(unmerged, Golden("last_hidden_state_lora")),
            kTolerance);
  // The adapters change the output.
  EXPECT_GT(RelativeError(unmerged, Golden("last_hidden_state")), 1e-3);
  model->MergeLora();
  model->MergeLora();  // Idempotent.
  const at::Tensor merged = model->forward(ids, mask);
  EXPECT_LE(RelativeError(merged, unmerged), kTolerance);
  model->UnmergeLora();
  EXPECT_LE(RelativeError(model->forward(ids, mask), unmerged), kTolerance);
}

TEST(Gpt2LoraTest, OnlyLoraParametersRequireGrad) {
  Gpt2Model model(TinyConfig(true));
  int trainable = 0;
  for (const auto& p : model->named_parameters()) {
    const bool lora = absl::StrContains(p.key(), ".lora_");
    EXPECT_EQ(p.value().requires_grad(), lora) << p.key();
    trainable += p.value().requires_grad() ? p.value().numel() : 0;
  }
  // 2 blocks × (r·in + out·r) with r 4, in 16, out 48.
  EXPECT_EQ(trainable, 2 * (4 * 16 + 48 * 4));
  // peft initialises B to zero: a fresh adapter changes nothing.
  Gpt2Config plain = TinyConfig(false);
  Gpt2Model base = LoadTiny(plain);
  Gpt2Model fresh(TinyConfig(true));
  fresh->eval();
  ModuleLoadOptions options;
  options.optional_substrings = {".lora_"};
  MVL_ASSERT_OK(
      LoadModuleState(*fresh, State("model.safetensors"), options).status());
  at::NoGradGuard no_grad;
  EXPECT_LE(RelativeError(
                fresh->forward(Golden("input_ids"), Golden("attention_mask")),
                Golden("last_hidden_state")),
            kTolerance);
}

TEST(Gpt2LoraTest, TargetModulesFromConfig) {
  Gpt2Config c = TinyConfig(true);
  c.mutable_lora()->add_target_modules("c_proj");
  Gpt2Model model(c);
  EXPECT_EQ(model->num_lora_modules(),
            4);  // attn.c_proj and mlp.c_proj in 2 blocks.
  c.mutable_lora()->clear_target_modules();
  c.mutable_lora()->add_target_modules("mlp.c_fc");
  EXPECT_EQ(Gpt2Model(c)->num_lora_modules(), 2);
  c.mutable_lora()->clear_target_modules();
  c.mutable_lora()->add_target_modules("q_proj");
  EXPECT_THROW(Gpt2Model{c}, c10::Error);
}

// LoRA gradients equal PyTorch's, with and without gradient checkpointing,
// although no input of the frozen model requires grad.
TEST(Gpt2LoraTest, GradientsMatchReferenceWithAndWithoutCheckpointing) {
  for (bool checkpoint : {false, true}) {
    Gpt2Config c = TinyConfig(true);
    c.set_gradient_checkpointing(checkpoint);
    Gpt2Model model = LoadTiny(c);
    model->train();  // Dropout probabilities are 0 in the reference; keep them
                     // equal.
    for (auto& m : model->modules()) {
      if (auto d = std::dynamic_pointer_cast<torch::nn::DropoutImpl>(m))
        d->options.p(0.0);
    }
    const at::Tensor out =
        model->forward(Golden("input_ids"), Golden("attention_mask"));
    (out * Golden("grad_weights")).sum().backward();
    const auto params = model->named_parameters();
    for (int i = 0; i < 2; ++i) {
      for (const char* ab : {"A", "B"}) {
        const std::string name =
            "h." + std::to_string(i) + ".attn.c_attn.lora_" + ab + ".weight";
        const at::Tensor grad = params[name].grad();
        ASSERT_TRUE(grad.defined()) << name << " checkpoint=" << checkpoint;
        EXPECT_GT(grad.abs().max().item<double>(), 0) << name;
        EXPECT_LE(RelativeError(grad, Golden("grad_lora_" + std::string(ab) +
                                             "_" + std::to_string(i))),
                  1e-4)
            << name << " checkpoint=" << checkpoint;
      }
    }
    EXPECT_FALSE(params["h.0.attn.c_attn.weight"].grad().defined());
  }
}

TEST(Gpt2Test, GatherSeparatorStates) {
  const at::Tensor hidden = at::arange(24, at::kFloat).view({2, 3, 4});
  const at::Tensor ids = at::tensor({7, 9, 7, 1, 1, 1}, at::kLong).view({2, 3});
  const std::vector<at::Tensor> sep = GatherTokenStates(hidden, ids, 7);
  ASSERT_EQ(sep.size(), 2u);
  EXPECT_EQ(sep[0].sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_TRUE(at::equal(sep[0][1], hidden[0][2]));
  EXPECT_EQ(sep[1].size(0), 0);
}

}  // namespace
}  // namespace mammovl::text
