#include "train/optimizer.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/npy.h"
#include "core/proto_config.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::train {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

at::Tensor Golden(const std::string& name) {
  auto array = core::ReadNpy("train/testdata/optim/" + name + ".npy");
  EXPECT_TRUE(array.ok()) << array.status();
  if (!array.ok()) return at::Tensor();
  if (array->descr == "|b1") {
    std::vector<uint8_t> bytes(array->data.begin(), array->data.end());
    return at::tensor(bytes, at::kByte).to(at::kBool);
  }
  if (array->descr == "<f8") {
    std::vector<double> v = *core::NpyValues<double>(*array);
    return at::tensor(v, at::kDouble).reshape(array->shape);
  }
  std::vector<float> v = *core::NpyValues<float>(*array);
  return at::tensor(v, at::kFloat).reshape(array->shape);
}

TrainConfig ParseConfig(const std::string& text) {
  TrainConfig config;
  EXPECT_TRUE(core::ParseTextProto(text, "test", &config).ok()) << text;
  return config;
}

std::vector<std::string> Names(const ParamGroup& group) {
  std::vector<std::string> names;
  for (const auto& [name, t] : group.params) names.push_back(name);
  return names;
}

// Replays the fixture: 5 steps with given gradients (the bias has none at
// step 2) and learning rates.
struct Replay {
  at::Tensor w, b;
  std::unique_ptr<Optimizer> optimizer;
};

Replay RunFixture(const TrainConfig& config) {
  Replay r;
  r.w = Golden("w0").clone().set_requires_grad(true);
  r.b = Golden("b0").clone().set_requires_grad(true);
  const at::Tensor gw = Golden("grads_w");
  const at::Tensor gb = Golden("grads_b");
  const at::Tensor present = Golden("b_present");
  const at::Tensor lrs = Golden("lrs");
  auto groups = MakeParamGroups({{"fc.weight", r.w}, {"fc.bias", r.b}}, config);
  EXPECT_TRUE(groups.ok()) << groups.status();
  auto optimizer = BuildOptimizer(config, *groups);
  EXPECT_TRUE(optimizer.ok()) << optimizer.status();
  r.optimizer = *std::move(optimizer);
  for (int64_t t = 0; t < lrs.size(0); ++t) {
    r.w.mutable_grad() = gw[t].clone();
    if (present[t].item<bool>()) r.b.mutable_grad() = gb[t].clone();
    EXPECT_TRUE(r.optimizer->Step(lrs[t].item<double>()).ok());
    r.optimizer->ZeroGrad();
    EXPECT_FALSE(r.w.grad().defined());
  }
  return r;
}

double MaxDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a.detach() - b).abs().max().item<double>();
}

TEST(ParamGroupsTest, StandardPolicyExemptsBiasNormEmbeddingsAndTemperatures) {
  const at::Tensor m = at::zeros({2, 2});
  const at::Tensor v = at::zeros({2});
  const at::Tensor s = at::zeros({});
  const NamedTensors params = {
      {"vision.blocks.0.attn.qkv.weight", m},
      {"vision.blocks.0.attn.qkv.bias", v},
      {"vision.blocks.0.norm1.weight", v},
      {"vision.pos_embed", at::zeros({1, 4, 2})},
      {"vision.cls_token", at::zeros({1, 1, 2})},
      {"vision.register_tokens", at::zeros({1, 4, 2})},
      {"text.embeddings.word_embeddings.weight", m},
      {"text.encoder.layer.0.output.LayerNorm.weight", v},
      {"gpt.wte.weight", m},
      {"gpt.h.0.ln_1.weight", v},
      {"logit_scale", s},
      {"vision.blocks.0.ls1.gamma", v},
      {"proj.weight", m},
  };
  MVL_ASSERT_OK_AND_ASSIGN(auto groups, MakeParamGroups(params, TrainConfig()));
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].name, "decay");
  EXPECT_DOUBLE_EQ(groups[0].weight_decay, 0.01);
  EXPECT_THAT(Names(groups[0]),
              ElementsAre("vision.blocks.0.attn.qkv.weight", "proj.weight"));
  EXPECT_EQ(groups[1].name, "no_decay");
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  EXPECT_EQ(groups[1].params.size(), params.size() - 2);
}

TEST(ParamGroupsTest, DecayAllAndExtraPatterns) {
  const NamedTensors params = {{"a.weight", at::zeros({2, 2})},
                               {"a.bias", at::zeros({2})},
                               {"head.weight", at::zeros({2, 2})}};
  MVL_ASSERT_OK_AND_ASSIGN(
      auto all,
      MakeParamGroups(
          params, ParseConfig("weight_decay_groups { policy: DECAY_ALL }")));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].params.size(), 3u);
  MVL_ASSERT_OK_AND_ASSIGN(
      auto extra,
      MakeParamGroups(params, ParseConfig(R"pb(adamw { weight_decay: 0.1 }
                                               weight_decay_groups {
                                                 policy: DECAY_ALL
                                                 extra_no_decay: "head.*"
                                               })pb")));
  ASSERT_EQ(extra.size(), 2u);
  EXPECT_THAT(Names(extra[0]), ElementsAre("a.weight", "a.bias"));
  EXPECT_DOUBLE_EQ(extra[0].weight_decay, 0.1);
  EXPECT_THAT(Names(extra[1]), ElementsAre("head.weight"));
}

TEST(ParamGroupsTest, RejectsDuplicatesAndBadPatterns) {
  EXPECT_THAT(
      MakeParamGroups({{"a", at::zeros({2})}, {"a", at::zeros({2})}},
                      TrainConfig()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("appears twice")));
  EXPECT_THAT(MakeParamGroups({}, ParseConfig(R"pb(weight_decay_groups {
                                                     extra_no_decay: "re:("
                                                   })pb")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("weight_decay_groups.extra_no_decay[0]")));
}

TEST(OptimizerTest, AdamWMatchesTorch) {
  // fc.weight decays (0.1), fc.bias (1-D) does not, as in the fixture.
  Replay r = RunFixture(ParseConfig(R"pb(adamw {
                                           lr: 1e-3
                                           beta1: 0.9
                                           beta2: 0.98
                                           eps: 1e-6
                                           weight_decay: 0.1
                                         })pb"));
  EXPECT_LE(MaxDiff(r.w, Golden("adamw_w")), 0);
  EXPECT_LE(MaxDiff(r.b, Golden("adamw_b")), 0);
  // Bitwise equal: the same ATen kernels in the same order as PyTorch.
  // The bias skipped one step, so its step count is 4, not 5.
  NamedTensors state = r.optimizer->StateTensors();
  ASSERT_EQ(state.size(), 6u);
  for (const auto& [name, tensor] : state) {
    if (name == "fc.bias/step") {
      EXPECT_EQ(tensor.item<float>(), Golden("adamw_b_step").item<float>());
    }
    if (name == "fc.weight/exp_avg_sq") {
      EXPECT_LE(MaxDiff(tensor, Golden("adamw_w_exp_avg_sq")), 1e-9);
    }
  }
}

TEST(OptimizerTest, SgdMomentumAndNesterovMatchTorch) {
  Replay m = RunFixture(ParseConfig(
      R"pb(sgd { lr: 1e-3 momentum: 0.9 dampening: 0.1 weight_decay: 0.01 }
           weight_decay_groups { policy: DECAY_ALL })pb"));
  EXPECT_LE(MaxDiff(m.w, Golden("sgd_momentum_w")), 0);
  EXPECT_LE(MaxDiff(m.b, Golden("sgd_momentum_b")), 0);
  Replay n = RunFixture(ParseConfig(
      R"pb(sgd { lr: 1e-3 momentum: 0.9 nesterov: true weight_decay: 0.01 }
           weight_decay_groups { policy: DECAY_ALL })pb"));
  EXPECT_LE(MaxDiff(n.w, Golden("sgd_nesterov_w")), 0);
  EXPECT_LE(MaxDiff(n.b, Golden("sgd_nesterov_b")), 0);
}

TEST(OptimizerTest, StateRoundTripContinuesIdentically) {
  const TrainConfig config = ParseConfig("adamw { lr: 1e-2 }");
  // Two identical runs; the second is restarted from saved state halfway.
  auto make = [&](at::Tensor* p) {
    *p = at::arange(4, at::kFloat).set_requires_grad(true);
    return *BuildOptimizer(config, *MakeParamGroups({{"w", *p}}, config));
  };
  at::Tensor p1, p2;
  auto o1 = make(&p1);
  auto o2 = make(&p2);
  for (int t = 0; t < 6; ++t) {
    const at::Tensor g = at::sin(at::arange(4, at::kFloat) * (t + 1));
    p1.mutable_grad() = g.clone();
    MVL_ASSERT_OK(o1->Step(1e-2));
    if (t == 2) {
      // Save o2's state (copies), build a fresh optimiser, load.
      NamedTensors saved;
      for (const auto& [name, tensor] : o2->StateTensors())
        saved.emplace_back(name, tensor.clone());
      o2 = *BuildOptimizer(config, *MakeParamGroups({{"w", p2}}, config));
      MVL_ASSERT_OK(o2->LoadStateTensors(saved));
    }
    p2.mutable_grad() = g.clone();
    MVL_ASSERT_OK(o2->Step(1e-2));
  }
  EXPECT_TRUE(at::equal(p1, p2));
}

TEST(OptimizerTest, LoadRejectsMismatchedState) {
  const TrainConfig config;
  at::Tensor w = at::zeros({3}).set_requires_grad(true);
  MVL_ASSERT_OK_AND_ASSIGN(
      auto optimizer,
      BuildOptimizer(config, *MakeParamGroups({{"w", w}}, config)));
  EXPECT_THAT(optimizer->LoadStateTensors({{"w/step", at::ones({})},
                                           {"w/exp_avg", at::zeros({4})},
                                           {"w/exp_avg_sq", at::zeros({4})}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'w/exp_avg' has shape")));
  EXPECT_THAT(
      optimizer->LoadStateTensors({{"w/step", at::ones({})}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("incomplete")));
  EXPECT_THAT(
      optimizer->LoadStateTensors({{"other/step", at::ones({})}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'other/step'")));
}

TEST(OptimizerTest, ValidatesHyperParameters) {
  EXPECT_THAT(
      BuildOptimizer(ParseConfig("adamw { beta2: 1.0 }"), {}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("adamw.beta2")));
  EXPECT_THAT(
      BuildOptimizer(ParseConfig("sgd { lr: -1 }"), {}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sgd.lr")));
  EXPECT_THAT(
      BuildOptimizer(ParseConfig("sgd { momentum: 0 nesterov: true }"), {}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nesterov")));
}

TEST(ClipGradNormTest, MatchesTorch) {
  for (const std::string name : {"clip_small", "clip_large"}) {
    at::Tensor w = at::zeros({3, 4}).set_requires_grad(true);
    at::Tensor b = at::zeros({4}).set_requires_grad(true);
    w.mutable_grad() = Golden("grads_w")[0].clone();
    b.mutable_grad() = Golden("grads_b")[0].clone();
    const double max_norm = name == "clip_small" ? 0.5 : 100.0;
    MVL_ASSERT_OK_AND_ASSIGN(double norm, ClipGradNorm({w, b}, max_norm));
    EXPECT_NEAR(norm, Golden(name + "_norm").item<double>(), 1e-6) << name;
    EXPECT_LE(MaxDiff(w.grad(), Golden(name + "_w")), 1e-7) << name;
    EXPECT_LE(MaxDiff(b.grad(), Golden(name + "_b")), 1e-7) << name;
  }
}

TEST(ClipGradNormTest, ReportsNonFiniteNorm) {
  at::Tensor w = at::zeros({2}).set_requires_grad(true);
  w.mutable_grad() =
      at::tensor({1.0f, std::numeric_limits<float>::quiet_NaN()});
  MVL_ASSERT_OK_AND_ASSIGN(double norm, ClipGradNorm({w}, 0));
  EXPECT_TRUE(std::isnan(norm));
}

TEST(WeightEmaTest, TracksMovingAverageAfterStartStep) {
  at::Tensor w = at::zeros({2});
  WeightEma ema({{"w", w}}, /*decay=*/0.5, /*start_step=*/1);
  w.fill_(4);
  ema.Update({{"w", w}}, 0);  // before start: copy
  EXPECT_TRUE(at::equal(ema.shadow()[0].second, at::full({2}, 4.0)));
  w.fill_(8);
  ema.Update({{"w", w}}, 1);  // 0.5 * 4 + 0.5 * 8
  EXPECT_TRUE(at::equal(ema.shadow()[0].second, at::full({2}, 6.0)));
  MVL_EXPECT_OK(ema.Load({{"w", at::full({2}, 1.0)}}));
  EXPECT_TRUE(at::equal(ema.shadow()[0].second, at::full({2}, 1.0)));
  EXPECT_THAT(ema.Load({{"v", at::zeros({2})}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'w'")));
}

}  // namespace
}  // namespace mammovl::train
