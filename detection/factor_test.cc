#include "detection/factor.h"

#include <string>

#include <torch/nn/functional/normalization.h>
#include <torch/utils.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/status_matchers.h"
#include "detection/testing/fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::detection {
namespace {

using ::mammovl::core::StatusIs;
using ::mammovl::detection::testing::Fixture;
using ::mammovl::detection::testing::TensorsNear;
using ::testing::HasSubstr;

FactorMapper FixtureMapper(bool reference_pairing) {
  FactorConfig config;
  config.set_embed_dim(6);
  config.set_hidden_dim(7);
  config.set_reference_channel_pairing(reference_pairing);
  FactorMapper mapper(config, /*num_regions=*/12, /*num_attributes=*/2);
  mapper->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  for (auto& p : mapper->named_parameters()) {
    std::string name = p.key();  // mapper_0.0.weight -> factor_mapper_0_0_weight
    std::replace(name.begin(), name.end(), '.', '_');
    p.value().copy_(Fixture(absl::StrCat("factor_", name)));
  }
  return mapper;
}

TEST(FactorMapperTest, ProjectsChannelsAsTheFormula) {
  const torch::Tensor features = Fixture("factor_features");
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(TensorsNear(FixtureMapper(false)->forward(features),
                          Fixture("factor_regions"), 1e-12));
  // The reference's pairing mixes channels of one projection.
  EXPECT_TRUE(TensorsNear(FixtureMapper(true)->forward(features),
                          Fixture("factor_regions_reference_pairing"), 1e-12));
}

TEST(FactorLossTest, MatchesFormula) {
  const torch::Tensor attributes = Fixture("factor_attributes");
  const torch::Tensor labels = Fixture("factor_labels");
  const torch::Tensor expected = Fixture("factor_loss");
  EXPECT_NEAR(FactorLoss(Fixture("factor_regions"), attributes, labels, 0.07)
                  .item<double>(),
              expected[0].item<double>(), 1e-9);
  EXPECT_NEAR(FactorLoss(Fixture("factor_regions_reference_pairing"), attributes,
                         labels, 0.07)
                  .item<double>(),
              expected[1].item<double>(), 1e-9);
  EXPECT_NEAR(FactorLoss(Fixture("factor_regions"), attributes, labels, 0.5)
                  .item<double>(),
              expected[2].item<double>(), 1e-9);
}

TEST(FactorLossTest, GradientsAndNoPositives) {
  const torch::Tensor regions = Fixture("factor_regions").clone().set_requires_grad(true);
  const torch::Tensor attributes = Fixture("factor_attributes");
  torch::Tensor loss = FactorLoss(regions, attributes, Fixture("factor_labels"), 0.07);
  loss.backward();
  EXPECT_TRUE(torch::isfinite(regions.grad()).all().item<bool>());
  EXPECT_GT(regions.grad().abs().sum().item<double>(), 0);
  // Without positives the loss is 0 and still differentiable.
  const torch::Tensor none = torch::zeros({3, 2}, torch::kDouble);
  torch::Tensor zero = FactorLoss(regions, attributes, none, 0.07);
  EXPECT_EQ(zero.item<double>(), 0.0);
  zero.backward();
  EXPECT_THROW(FactorLoss(regions, attributes, torch::zeros({3, 3}), 0.07), c10::Error);
}

TEST(FactorHeatmapsTest, MatchesFormula) {
  const torch::Tensor maps = FactorHeatmaps(Fixture("factor_features"),
                                            Fixture("factor_regions"),
                                            Fixture("factor_attributes"));
  EXPECT_TRUE(TensorsNear(maps, Fixture("factor_heatmaps"), 1e-12));
  EXPECT_LE(maps.max().item<double>(), 1.0);
  EXPECT_GE(maps.min().item<double>(), 0.0);
  // Channels pointing away from the attribute give an all-zero map, not NaN.
  const torch::Tensor flipped =
      FactorHeatmaps(Fixture("factor_features"), Fixture("factor_regions"),
                     torch::zeros({2, 6}, torch::kDouble) - 1e-3);
  EXPECT_TRUE(torch::isfinite(flipped).all().item<bool>());
}

TEST(FactorConfigTest, Validates) {
  FactorConfig c;
  MVL_EXPECT_OK(ValidateFactorConfig(c));
  c.set_temperature(0);
  EXPECT_THAT(ValidateFactorConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("temperature")));
  c.Clear();
  c.set_box_percentile(101);
  EXPECT_THAT(ValidateFactorConfig(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("box_percentile")));
  FactorMapper mapper(FactorConfig(), 12, 2);
  EXPECT_THROW(mapper->forward(torch::zeros({1, 4, 3, 5})), c10::Error);
}

}  // namespace
}  // namespace mammovl::detection
