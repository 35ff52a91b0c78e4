// `ValidateLossConfig` and `BuildLoss`: every option builds, bad fields name
// their path, parameters carry the reference names, hooks and context errors.
#include "losses/loss_builder.h"

#include <ATen/ATen.h>

#include <cmath>
#include <memory>
#include <string>

#include "core/proto_config.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "losses/loss.h"
#include "losses/loss_testing.h"

namespace mammovl::losses {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> ParameterNames(const Loss& loss) {
  std::vector<std::string> names;
  for (const auto& [name, p] : loss.parameters()) names.push_back(name);
  return names;
}

LossConfig Parse(const std::string& text) {
  LossConfig config;
  const absl::Status status =
      core::ParseTextProto(text, "test config", &config);
  EXPECT_TRUE(status.ok()) << status;
  return config;
}

TEST(ValidateLossConfigTest, EmptyConfigSelectsNothing) {
  EXPECT_THAT(ValidateLossConfig(LossConfig()),
              core::StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("no loss selected")));
  EXPECT_THAT(BuildLoss(LossConfig()),
              core::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ValidateLossConfigTest, DefaultsOfEveryOptionAreValid) {
  for (const char* text :
       {"clip {}", "mammo_clip {}", "simclr {}", "slip {}", "sla {}", "mama {}",
        "mgca { num_prototypes: 4 embedding_dim: 3 }", "focal {}",
        "weighted_bce {}", "weighted_ce {}"}) {
    const LossConfig config = Parse(text);
    EXPECT_THAT(ValidateLossConfig(config), core::IsOk()) << text;
    auto loss = BuildLoss(config);
    ASSERT_THAT(loss, core::IsOk()) << text;
    const std::string text_str = text;
    EXPECT_EQ((*loss)->name(), text_str.substr(0, text_str.find(' '))) << text;
  }
}

struct BadCase {
  const char* config;
  const char* message;
};

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, NamesTheField) {
  const LossConfig config = Parse(GetParam().config);
  EXPECT_THAT(ValidateLossConfig(config),
              core::StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr(GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    Fields, BadConfigTest,
    ::testing::Values(
        BadCase{"clip { temperature { initial: 0 } }",
                "loss.clip.temperature.initial"},
        BadCase{
            "clip { temperature { max_logit_scale: 1 min_logit_scale: 2 } }",
            "loss.clip.temperature.min_logit_scale must be <= max_logit_scale"},
        BadCase{"clip { image_to_text_weight: -1 }",
                "loss.clip.image_to_text_weight must be >= 0"},
        BadCase{"mammo_clip { label_smoothing: 1 }",
                "loss.mammo_clip.label_smoothing"},
        BadCase{"mammo_clip { text_text_weight: nan }",
                "loss.mammo_clip.text_text_weight"},
        BadCase{"simclr { temperature: 0 }",
                "loss.simclr.temperature must be > 0 (got 0)"},
        BadCase{"slip { ssl_scale: -0.5 }", "loss.slip.ssl_scale"},
        BadCase{"slip { clip { use_group_ids: true } }",
                "loss.slip.clip.use_group_ids"},
        BadCase{"sla { temperature { initial: -1 } }",
                "loss.sla.temperature.initial"},
        BadCase{"mama { late_loss_step: -1 }", "loss.mama.late_loss_step"},
        BadCase{"mama { simclr_temperature: 0 }",
                "loss.mama.simclr_temperature"},
        BadCase{"mama { local_temperature { initial: inf } }",
                "loss.mama.local_temperature"},
        BadCase{"mgca { sinkhorn_epsilon: 0 }",
                "loss.mgca.sinkhorn_epsilon must be > 0"},
        BadCase{"mgca { sinkhorn_iterations: -1 }",
                "loss.mgca.sinkhorn_iterations"},
        BadCase{"mgca { num_prototypes: 0 }", "loss.mgca.num_prototypes"},
        BadCase{
            "mgca { weight_quantile_low: 0.9 weight_quantile_high: 0.1 }",
            "loss.mgca.weight_quantile_low must be <= weight_quantile_high"},
        BadCase{"mgca { weight_quantile_high: 1.5 }",
                "loss.mgca.weight_quantile_high"},
        BadCase{"focal { alpha: 1.5 }", "loss.focal.alpha"},
        BadCase{"focal { gamma: -1 }", "loss.focal.gamma"},
        BadCase{"focal { probability_clamp: 0.5 }",
                "loss.focal.probability_clamp"},
        BadCase{"focal { normalization: NORMALIZATION_UNSPECIFIED }",
                "loss.focal.normalization"},
        BadCase{"weighted_bce { pos_weight: 2 pos_weight: 0 }",
                "loss.weighted_bce.pos_weight[1]"},
        BadCase{"weighted_ce { class_weight: -1 }",
                "loss.weighted_ce.class_weight[0]"}));

TEST(BuildLossTest, ParametersCarryTheReferenceNames) {
  struct Want {
    const char* config;
    std::vector<std::string> names;
  };
  for (const Want& want : std::vector<Want>{
           {"clip {}", {"logit_scale"}},
           {"clip { temperature { learnable: false } }", {}},
           {"mammo_clip {}", {"logit_scale"}},
           {"slip {}", {"logit_scale"}},
           {"sla {}", {"local_scale"}},
           {"mama {}", {"logit_scale", "local_scale"}},
           {"mama { local_temperature { learnable: false } }", {"logit_scale"}},
           {"simclr {}", {}},
           {"mgca {}", {"prototype_layer.weight"}},
           {"focal {}", {}}}) {
    MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Loss> loss,
                             BuildLoss(Parse(want.config)));
    EXPECT_EQ(ParameterNames(*loss), want.names) << want.config;
  }
}

TEST(BuildLossTest, TemperaturesStartAtLogInverseTau) {
  MVL_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Loss> loss,
      BuildLoss(Parse("mama { local_temperature { initial: 0.2 } }")));
  const at::Tensor& global = loss->parameters()[0].second;
  const at::Tensor& local = loss->parameters()[1].second;
  EXPECT_TRUE(global.requires_grad());
  EXPECT_EQ(global.dim(), 0);
  EXPECT_EQ(global.scalar_type(), at::kFloat);
  EXPECT_NEAR(global.item<double>(), std::log(1 / 0.07), 1e-6);
  EXPECT_NEAR(local.item<double>(), std::log(5.0), 1e-6);
}

TEST(BuildLossTest, PrototypesHaveTheConfiguredShape) {
  MVL_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Loss> loss,
      BuildLoss(Parse("mgca { num_prototypes: 7 embedding_dim: 5 }")));
  const at::Tensor& p = loss->parameters()[0].second;
  EXPECT_THAT(p.sizes(), ElementsAre(7, 5));
  EXPECT_TRUE(p.requires_grad());
  EXPECT_LE(p.abs().max().item<double>(), 1 / std::sqrt(5.0));
}

TEST(BuildLossTest, AfterOptimizerStepClampsOnlyWhenConfigured) {
  for (const bool clamp : {false, true}) {
    MVL_ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<Loss> loss,
        BuildLoss(Parse(
            clamp ? "slip { clip { temperature { max_logit_scale: 4.6052 } } }"
                  : "slip {}")));
    at::Tensor scale = loss->parameters()[0].second;
    {
      at::NoGradGuard no_grad;
      scale.fill_(6.0);
    }
    loss->AfterOptimizerStep();
    EXPECT_NEAR(scale.item<double>(), clamp ? 4.6052 : 6.0, 1e-6) << clamp;
  }
}

TEST(BuildLossTest, ToCastsParametersToNewLeaves) {
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Loss> loss,
                           BuildLoss(Parse("mama {}")));
  ASSERT_THAT(loss->To(at::TensorOptions().dtype(at::kDouble)), core::IsOk());
  for (const auto& [name, p] : loss->parameters()) {
    EXPECT_EQ(p.scalar_type(), at::kDouble) << name;
    EXPECT_TRUE(p.is_leaf() && p.requires_grad()) << name;
  }
}

LossInputs ClipInputs(int64_t batch) {
  LossInputs in;
  in.image = at::randn({batch, 4});
  in.text = at::randn({batch, 4});
  return in;
}

TEST(LossComputeTest, MissingInputNamesTheField) {
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Loss> loss,
                           BuildLoss(Parse("mammo_clip {}")));
  EXPECT_THAT(
      loss->Compute(ClipInputs(3), LossContext()),
      core::StatusIs(absl::StatusCode::kInvalidArgument,
                     HasSubstr("loss 'mammo_clip': `image_view` is missing")));
}

TEST(LossComputeTest, MismatchedShapesAreInvalidArgument) {
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Loss> loss,
                           BuildLoss(Parse("clip {}")));
  LossInputs in = ClipInputs(3);
  in.text = at::randn({3, 5});
  EXPECT_THAT(
      loss->Compute(in, LossContext()),
      core::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("`text`")));
  in.text = at::randn({3, 4}).to(at::kLong);
  EXPECT_THAT(loss->Compute(in, LossContext()),
              core::StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("floating point")));
}

TEST(LossComputeTest, InconsistentContextIsInvalidArgument) {
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Loss> loss,
                           BuildLoss(Parse("clip {}")));
  LossContext context;
  context.batch.world_size = 2;
  EXPECT_THAT(loss->Compute(ClipInputs(2), context),
              core::StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("no gather function")));
  context.batch.gather = [](const at::Tensor& x) { return at::cat({x, x}); };
  context.batch.rank = 2;
  EXPECT_THAT(
      loss->Compute(ClipInputs(2), context),
      core::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rank 2")));
}

TEST(LossComputeTest, BadGatherResultIsInvalidArgument) {
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Loss> loss,
                           BuildLoss(Parse("clip {}")));
  LossContext context;
  context.batch = GlobalBatch{[](const at::Tensor& x) { return x; }, 0, 2};
  EXPECT_THAT(loss->Compute(ClipInputs(2), context),
              core::StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("gather returned")));
}

TEST(LossComputeTest, FailingCollectiveBecomesAStatus) {
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Loss> loss,
                           BuildLoss(Parse("clip {}")));
  LossContext context;
  context.batch = GlobalBatch{[](const at::Tensor&) -> at::Tensor {
                                TORCH_CHECK(false, "peer 1 stopped answering");
                              },
                              0, 2};
  EXPECT_THAT(loss->Compute(ClipInputs(2), context),
              core::StatusIs(absl::StatusCode::kInternal,
                             HasSubstr("peer 1 stopped answering")));
}

TEST(LossComputeTest, GatheringOffKeepsNegativesLocal) {
  // A gather that would fail is never called when gathering is off.
  MVL_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Loss> loss,
      BuildLoss(Parse("clip { gather_negatives: false }")));
  LossContext context;
  context.batch = GlobalBatch{[](const at::Tensor&) -> at::Tensor {
                                TORCH_CHECK(false, "must not gather");
                              },
                              1, 2};
  MVL_ASSERT_OK_AND_ASSIGN(LossOutput out,
                           loss->Compute(ClipInputs(3), context));
  EXPECT_THAT(out.terms, ::testing::SizeIs(2));
}

TEST(LossOutputTest, FindAndAddTerms) {
  LossOutput a;
  a.terms = {{"x", at::scalar_tensor(1.0)}};
  LossOutput b;
  b.terms = {{"y", at::scalar_tensor(2.0)}};
  a.AddTerms(b, "sub/");
  ASSERT_NE(a.Find("sub/y"), nullptr);
  EXPECT_EQ(a.Find("sub/y")->item<double>(), 2.0);
  EXPECT_EQ(a.Find("y"), nullptr);
  EXPECT_THAT(LossOutput().terms, IsEmpty());
}

}  // namespace
}  // namespace mammovl::losses
