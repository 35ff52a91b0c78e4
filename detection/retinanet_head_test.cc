#include "detection/retinanet_head.h"

#include <cmath>
#include <string>
#include <vector>

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

void LoadFixtureWeights(RetinaHead& head, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  for (auto& p : head->named_parameters()) {
    std::string name = p.key();
    std::replace(name.begin(), name.end(), '.', '_');
    p.value().copy_(Fixture(absl::StrCat("head_", prefix, "_", name)));
  }
}

TEST(RetinaHeadTest, ForwardMatchesReference) {
  RetinaHeadConfig config;
  config.set_feature_size(8);
  std::vector<torch::Tensor> levels;
  for (int i = 0; i < 3; ++i) levels.push_back(Fixture(absl::StrCat("head_input_", i)));
  RetinaHead cls(RetinaHeadImpl::Kind::kClassification, config, 6, 9, 2);
  RetinaHead reg(RetinaHeadImpl::Kind::kRegression, config, 6, 9, 2);
  LoadFixtureWeights(cls, "cls");
  LoadFixtureWeights(reg, "reg");
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(TensorsNear(cls->forward(levels), Fixture("head_cls_output"), 1e-5));
  EXPECT_TRUE(TensorsNear(reg->forward(levels), Fixture("head_reg_output"), 1e-5));
}

TEST(RetinaHeadTest, ReferenceNamesAndInitialisation) {
  torch::manual_seed(3);
  RetinaHead cls(RetinaHeadImpl::Kind::kClassification, RetinaHeadConfig(), 64, 9, 1);
  std::vector<std::string> names;
  for (const auto& p : cls->named_parameters()) names.push_back(p.key());
  EXPECT_THAT(names, ::testing::ElementsAre(
                         "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                         "conv3.weight", "conv3.bias", "conv4.weight", "conv4.bias",
                         "output.weight", "output.bias"));
  auto params = cls->named_parameters();
  EXPECT_EQ(params["output.weight"].abs().max().item<float>(), 0.0f);
  EXPECT_NEAR(params["output.bias"][0].item<float>(), -4.59512, 1e-5);
  EXPECT_EQ(params["output.bias"].size(0), 9);
  // N(0, sqrt(2 / (3 * 3 * 256))) conv weights.
  const double expected_std = std::sqrt(2.0 / (9 * 256));
  EXPECT_NEAR(params["conv2.weight"].std().item<double>(), expected_std,
              0.02 * expected_std);
  EXPECT_NEAR(params["conv2.weight"].mean().item<double>(), 0, 0.02 * expected_std);
  // At initialisation every anchor scores the prior.
  torch::NoGradGuard no_grad;
  const torch::Tensor out = cls->forward({torch::randn({1, 64, 4, 3})});
  EXPECT_TRUE(torch::allclose(out, torch::full_like(out, 0.01), 0, 1e-6));
  RetinaHead reg(RetinaHeadImpl::Kind::kRegression, RetinaHeadConfig(), 64, 9, 1);
  const torch::Tensor deltas = reg->forward({torch::randn({2, 64, 4, 3}),
                                             torch::randn({2, 64, 2, 2})});
  EXPECT_EQ(deltas.sizes(), (torch::IntArrayRef{2, (12 + 4) * 9, 4}));
  EXPECT_EQ(deltas.abs().max().item<float>(), 0.0f);
}

TEST(RetinaHeadTest, ShallowHeadAndValidation) {
  RetinaHeadConfig config;
  config.set_num_convs(0);
  RetinaHead cls(RetinaHeadImpl::Kind::kClassification, config, 5, 3, 4);
  EXPECT_EQ(cls->named_parameters().size(), 2u);
  EXPECT_EQ(cls->forward({torch::zeros({1, 5, 2, 2})}).sizes(),
            (torch::IntArrayRef{1, 12, 4}));
  EXPECT_THROW(cls->forward({}), c10::Error);
  config.set_prior_probability(1.0);
  EXPECT_THAT(ValidateRetinaHeadConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prior")));
  config.set_prior_probability(0.01);
  config.set_feature_size(0);
  EXPECT_THAT(ValidateRetinaHeadConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("feature_size")));
}

}  // namespace
}  // namespace mammovl::detection
