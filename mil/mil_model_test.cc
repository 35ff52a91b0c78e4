#include "mil/mil_model.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mil/testing/module_fixtures.h"

namespace mammovl::mil {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;
using testing::ExpectClose;
using testing::Golden;
using testing::Inp;
using testing::KeysWithShapes;
using testing::ReadKeyFile;
using testing::SinFill;


MilModelConfig AbMilConfig() {
  MilModelConfig config;
  config.mutable_encoder()->mutable_mlp();
  config.mutable_pooling()->mutable_attention();
  return config;
}

MilModelConfig SetTransConfig() {
  MilModelConfig config;
  config.mutable_encoder()->mutable_set_transformer();
  config.mutable_pooling()->mutable_pma();
  return config;
}

PatchingConfig Patch512() { return PatchingConfig(); }

TEST(MilModelTest, ReferenceInducingPointsAre38_32_20) {
  MVL_ASSERT_OK_AND_ASSIGN(MilModelLayout layout,
                           MakeMilModelLayout(SetTransConfig(), Patch512()));
  EXPECT_EQ(layout.scales, (std::vector<int64_t>{16, 32, 128}));
  EXPECT_EQ(layout.grid_sides, (std::vector<int64_t>{32, 16, 4}));
  EXPECT_EQ(layout.inducing_points, (std::vector<int64_t>{38, 32, 20}));
  // fpn_mil.md §8.13: n = 6144/1536/96/46080 → 38/32/20/47.
  EXPECT_EQ(InducingPointsFor(46080), 47);
  EXPECT_EQ(InducingPointsFor(7), 7);
}

struct InstanceCase {
  std::string name;
  MilModelConfig config;
};

class InstanceParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(InstanceParityTest, MilPartMatchesReferenceOnInstanceSets) {
  const std::string name = GetParam();
  MilModelConfig config = name == "inst_abmil" ? AbMilConfig() : SetTransConfig();
  config.set_fpn(false);
  MVL_ASSERT_OK_AND_ASSIGN(MilModel model, BuildMilModel(config, Patch512()));
  EXPECT_EQ(KeysWithShapes(*model), ReadKeyFile("mil/testdata/models/" + name + "_keys.txt"));
  SinFill(*model);
  model->eval();
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> sets;
  const std::vector<int64_t> grids = {32, 16, 4};
  for (size_t i = 0; i < grids.size(); ++i) {
    sets.push_back(Inp({2, 2 * grids[i] * grids[i], 256}) * (1.0 - 0.2 * i));
  }
  MilOutput out = model->ForwardInstances(sets);
  ExpectClose(out.logits, Golden("models", name + "_logits"), "logits");
  ExpectClose(out.scale_weights, Golden("models", name + "_weights"), "scale weights");
  ASSERT_EQ(out.side_logits.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const std::string s = std::to_string(model->layout().scales[i]);
    ExpectClose(out.side_logits[i], Golden("models", name + "_side_" + s), "side " + s);
    ExpectClose(out.instance_attention[i], Golden("models", name + "_attention_" + s),
                "attention " + s);
  }
  EXPECT_TRUE(at::allclose(out.probabilities, at::sigmoid(out.logits)));
}

INSTANTIATE_TEST_SUITE_P(Models, InstanceParityTest,
                         ::testing::Values("inst_abmil", "inst_settrans"));

TEST(MilModelTest, FlattenOrderIsPatchRowColumnAndUnflattenInvertsIt) {
  // fpn_mil.md §8.6: channel 0 encodes (p, r, c).
  const int64_t b = 2, n = 3, d = 4, h = 5, w = 6;
  at::Tensor map = at::zeros({b * n, d, h, w});
  for (int64_t bb = 0; bb < b; ++bb)
    for (int64_t p = 0; p < n; ++p)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t c = 0; c < w; ++c)
          map[bb * n + p][0][r][c] = 1000 * bb + 100 * p + 10 * r + c;
  const at::Tensor flat = FlattenInstances(map, b);
  ASSERT_EQ(flat.sizes(), (std::vector<int64_t>{b, n * h * w, d}));
  for (int64_t bb = 0; bb < b; ++bb)
    for (int64_t p = 0; p < n; ++p)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t c = 0; c < w; ++c)
          ASSERT_EQ(flat[bb][p * h * w + r * w + c][0].item<float>(),
                    1000 * bb + 100 * p + 10 * r + c);
  const at::Tensor back = UnflattenAttention(flat.select(2, 0), n, h, w);
  EXPECT_TRUE(at::equal(back, map.select(1, 0).view({b, n, h, w})));
}

TEST(MilModelTest, ParameterCountsMatchTheReference) {
  // fpn_mil.md §3.5: FPN-AbMIL 1,763,592, FPN-SetTrans 5,378,181, of which
  // the FPN holds 1,301,504.
  MVL_ASSERT_OK_AND_ASSIGN(MilModel abmil, BuildMilModel(AbMilConfig(), Patch512()));
  EXPECT_EQ(testing::ParameterCount(*abmil), 1763592);
  MVL_ASSERT_OK_AND_ASSIGN(MilModel settrans, BuildMilModel(SetTransConfig(), Patch512()));
  EXPECT_EQ(testing::ParameterCount(*settrans), 5378181);
  MilModelConfig no_fpn = AbMilConfig();
  no_fpn.set_fpn(false);
  MVL_ASSERT_OK_AND_ASSIGN(MilModel mil_part, BuildMilModel(no_fpn, Patch512()));
  EXPECT_EQ(testing::ParameterCount(*mil_part), 1763592 - 1301504);
  EXPECT_THROW(mil_part->Forward({Inp({1, 6, 120, 32, 32}), Inp({1, 6, 352, 16, 16})}),
               c10::Error);
}

// The whole model (FPN + MIL) of each reference configuration on the
// offline features C4 = inp(2,6,120,32,32), C5 = 0.7·inp(2,6,352,16,16).
MilModelConfig WholeModelConfig(const std::string& name) {
  MilModelConfig config =
      name.rfind("settrans", 0) == 0 ? SetTransConfig() : AbMilConfig();
  if (name == "abmil_concat") {
    config.mutable_scale_aggregator()->set_type(ScaleAggregatorConfig::CONCATENATION);
  } else if (name == "abmil_meanp") {
    config.mutable_scale_aggregator()->set_type(ScaleAggregatorConfig::MEAN_PROBABILITY);
  } else if (name == "settrans_maxp") {
    config.mutable_scale_aggregator()->set_type(ScaleAggregatorConfig::MAX_PROBABILITY);
  } else if (name == "plain_nodeep") {
    config.mutable_pooling()->mutable_attention()->set_gated(false);
    config.set_deep_supervision(false);
  } else if (name == "sab_mean_small") {
    config.mutable_encoder()->mutable_set_transformer()->set_block(SetEncoderConfig::SAB);
    config.mutable_encoder()->mutable_set_transformer()->set_num_heads(2);
    config.mutable_pooling()->mutable_mean();
    config.mutable_scale_aggregator()->set_type(ScaleAggregatorConfig::CONCATENATION);
    config.set_fpn_dim(32);
    config.set_embed_dim(16);
    config.add_backbone_channels(12);
    config.add_backbone_channels(20);
  }
  return config;
}

class WholeModelParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(WholeModelParityTest, MatchesReferenceOnOfflineFeatures) {
  const std::string name = GetParam();
  MVL_ASSERT_OK_AND_ASSIGN(MilModel model, BuildMilModel(WholeModelConfig(name), Patch512()));
  EXPECT_EQ(KeysWithShapes(*model), ReadKeyFile("mil/testdata/models/" + name + "_keys.txt"));
  EXPECT_EQ(testing::ParameterCount(*model), Golden("models", name + "_count").item<int64_t>());
  SinFill(*model);
  model->eval();
  at::NoGradGuard no_grad;
  const bool small = name == "sab_mean_small";
  const at::Tensor c4 = small ? Inp({2, 3, 12, 4, 4}) : Inp({2, 6, 120, 32, 32});
  const at::Tensor c5 = (small ? Inp({2, 3, 20, 2, 2}) : Inp({2, 6, 352, 16, 16})) * 0.7;
  MilOutput out = model->Forward({c4, c5});
  ExpectClose(out.probabilities, Golden("models", name + "_prob"), "probabilities");
  ExpectClose(out.scale_weights, Golden("models", name + "_weights"), "scale weights");
  const bool fused = name != "abmil_meanp" && name != "settrans_maxp";
  EXPECT_EQ(out.logits.defined(), fused);
  if (fused) ExpectClose(out.logits, Golden("models", name + "_logits"), "logits");
  EXPECT_EQ(out.side_logits.size(), name == "plain_nodeep" ? 0u : 3u);
  for (size_t i = 0; i < 3; ++i) {
    const std::string s = std::to_string(model->layout().scales[i]);
    ExpectClose(out.bag_embeddings[i], Golden("models", name + "_embed_" + s), "embed " + s);
    if (i < out.side_logits.size()) {
      ExpectClose(out.side_logits[i], Golden("models", name + "_side_" + s), "side " + s);
    }
    if (name == "abmil" || name == "settrans" || name == "abmil_concat") {
      ExpectClose(out.instance_attention[i], Golden("models", name + "_attention_" + s),
                  "attention " + s);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, WholeModelParityTest,
                         ::testing::Values("abmil", "settrans", "abmil_concat", "abmil_meanp",
                                           "settrans_maxp", "plain_nodeep", "sab_mean_small"));

TEST(MilModelTest, MeanAndMaxProbabilityAggregatorsHaveNoFusedHead) {
  MilModelConfig config = AbMilConfig();
  config.mutable_scale_aggregator()->set_type(ScaleAggregatorConfig::MAX_PROBABILITY);
  config.set_deep_supervision(false);  // side heads exist anyway
  config.set_fpn(false);
  config.set_fpn_dim(8);
  config.set_embed_dim(8);
  config.mutable_pooling()->mutable_attention()->set_hidden_dim(4);
  MVL_ASSERT_OK_AND_ASSIGN(MilModel model, BuildMilModel(config, Patch512()));
  model->eval();
  for (const auto& key : KeysWithShapes(*model)) {
    EXPECT_EQ(key.find("classifier.head"), key.find("side_classifiers") == 0 ? key.find("classifier.head") : std::string::npos);
    EXPECT_EQ(key.rfind("scale_aggregator", 0), std::string::npos) << key;
  }
  at::NoGradGuard no_grad;
  MilOutput out = model->ForwardInstances(
      {Inp({3, 2048, 8}), Inp({3, 512, 8}) * 2, Inp({3, 32, 8}) - 0.3});
  EXPECT_FALSE(out.logits.defined());
  ASSERT_EQ(out.side_logits.size(), 3u);
  const at::Tensor side = at::sigmoid(at::stack(out.side_logits, 1));
  EXPECT_TRUE(at::allclose(out.probabilities, std::get<0>(side.max(1))));
  EXPECT_TRUE(at::allclose(out.scale_weights, at::full({3, 3}, 1.0 / 3)));
}

TEST(MilModelTest, MeanAndMaxPoolingGiveNoAttention) {
  MilModelConfig config = AbMilConfig();
  config.mutable_pooling()->mutable_max();
  config.set_fpn(false);
  config.set_fpn_dim(8);
  config.set_embed_dim(8);
  MVL_ASSERT_OK_AND_ASSIGN(MilModel model, BuildMilModel(config, Patch512()));
  model->eval();
  at::NoGradGuard no_grad;
  MilOutput out =
      model->ForwardInstances({Inp({1, 1024, 8}), Inp({1, 256, 8}), Inp({1, 16, 8})});
  EXPECT_FALSE(out.instance_attention[0].defined());
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{1}));
}

TEST(MilModelTest, RejectsInconsistentConfigs) {
  MilModelConfig no_encoder;
  no_encoder.mutable_pooling()->mutable_attention();
  EXPECT_THAT(BuildMilModel(no_encoder, Patch512()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model.encoder")));
  MilModelConfig no_pooling;
  no_pooling.mutable_encoder()->mutable_mlp();
  EXPECT_THAT(BuildMilModel(no_pooling, Patch512()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model.pooling")));
  MilModelConfig scales = AbMilConfig();
  scales.add_scales(16);
  scales.add_scales(32);
  EXPECT_THAT(BuildMilModel(scales, Patch512()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model.scales")));
  MilModelConfig not_dividing = AbMilConfig();
  for (int s : {16, 32, 96}) not_dividing.add_scales(s);
  EXPECT_THAT(BuildMilModel(not_dividing, Patch512()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("divide")));
  MilModelConfig heads = SetTransConfig();
  heads.mutable_encoder()->mutable_set_transformer()->set_num_heads(3);
  EXPECT_THAT(BuildMilModel(heads, Patch512()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_heads")));
  MilModelConfig inducing = SetTransConfig();
  inducing.mutable_encoder()->mutable_set_transformer()->add_inducing_points(4);
  EXPECT_THAT(BuildMilModel(inducing, Patch512()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inducing_points")));
  MilModelConfig dropout = AbMilConfig();
  dropout.mutable_encoder()->mutable_mlp()->set_dropout(1.0);
  EXPECT_THAT(BuildMilModel(dropout, Patch512()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dropout")));
}

TEST(MilModelTest, ForwardRejectsWrongShapesWithAnError) {
  MilModelConfig config = AbMilConfig();
  config.set_fpn(false);
  config.set_fpn_dim(8);
  config.set_embed_dim(8);
  MVL_ASSERT_OK_AND_ASSIGN(MilModel model, BuildMilModel(config, Patch512()));
  EXPECT_THROW(model->ForwardInstances({Inp({1, 4, 8})}), c10::Error);
  EXPECT_THROW(model->ForwardInstances({Inp({1, 4, 8}), Inp({1, 4, 9}), Inp({1, 4, 8})}),
               c10::Error);
}

}  // namespace
}  // namespace mammovl::mil
