#include "mil/attention.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "mil/testing/module_fixtures.h"

namespace mammovl::mil {
namespace {

using testing::ExpectClose;
using testing::Golden;
using testing::Inp;
using testing::KeysWithShapes;
using testing::ReadKeyFile;
using testing::SinFill;


template <typename M>
void Prepare(M& module, const std::string& keys) {
  EXPECT_EQ(KeysWithShapes(*module), ReadKeyFile("mil/testdata/modules/" + keys + "_keys.txt"));
  SinFill(*module);
  module->eval();
}

TEST(AttentionTest, GatedAttentionMatchesReference) {
  AttentionPoolingConfig config;  // gated, 128, dropout 0.25
  AttentionPooling pool(256, config);
  Prepare(pool, "gated");
  at::NoGradGuard no_grad;
  PooledBag out = pool(Inp({2, 10, 256}));
  ExpectClose(out.pooled, Golden("modules", "gated_pooled"), "pooled");
  ExpectClose(out.attention, Golden("modules", "gated_attention"), "attention");
  // fpn_mil.md §8.7 quotes A[0][0] and Σh.
  EXPECT_NEAR(out.attention[0][0].item<double>(), 0.09477608, 1e-6);
  EXPECT_NEAR(out.pooled.sum().item<double>(), 7.04411537, 1e-4);
}

TEST(AttentionTest, ZeroScoreWeightsGiveUniformAttentionAndTheMean) {
  AttentionPooling pool(256, AttentionPoolingConfig());
  SinFill(*pool);
  pool->eval();
  at::NoGradGuard no_grad;
  for (auto& p : pool->named_parameters()) {
    if (p.key().rfind("attention_weights.", 0) == 0) p.value().zero_();
  }
  const at::Tensor z = Inp({2, 10, 256});
  PooledBag out = pool(z);
  EXPECT_TRUE(at::allclose(out.attention, at::full({2, 10}, 0.1), 1e-6, 1e-7));
  EXPECT_TRUE(at::allclose(out.pooled, z.mean(1), 1e-5, 1e-6));
}

TEST(AttentionTest, PlainAttentionMatchesReference) {
  AttentionPoolingConfig config;
  config.set_gated(false);
  AttentionPooling pool(256, config);
  Prepare(pool, "plain");
  at::NoGradGuard no_grad;
  PooledBag out = pool(Inp({2, 10, 256}));
  ExpectClose(out.pooled, Golden("modules", "plain_pooled"), "pooled");
  ExpectClose(out.attention, Golden("modules", "plain_attention"), "attention");
}

TEST(AttentionTest, MabScalesByFullWidthAndStacksHeadsOnTheBatch) {
  MultiheadAttentionBlock mab(256, 256, 256, 4, true);
  Prepare(mab, "mab");
  at::NoGradGuard no_grad;
  MabOutput out = mab(Inp({2, 5, 256}), 0.5 * Inp({2, 7, 256}));
  ASSERT_EQ(out.attention.sizes(), (std::vector<int64_t>{8, 5, 7}));
  ExpectClose(out.output, Golden("modules", "mab_output"), "output");
  ExpectClose(out.attention, Golden("modules", "mab_attention"), "attention");
}

TEST(AttentionTest, MabWithoutLayerNormAndOtherWidths) {
  MultiheadAttentionBlock mab(96, 64, 128, 2, false);
  Prepare(mab, "mab_noln");
  at::NoGradGuard no_grad;
  MabOutput out = mab(Inp({3, 4, 96}), Inp({3, 9, 64}) - 0.2);
  ExpectClose(out.output, Golden("modules", "mab_noln_output"), "output");
  ExpectClose(out.attention, Golden("modules", "mab_noln_attention"), "attention");
}

TEST(AttentionTest, IsabMatchesReference) {
  InducedSetAttentionBlock isab(256, 256, 20, 4, true);
  Prepare(isab, "isab");
  at::NoGradGuard no_grad;
  const at::Tensor out = isab(Inp({2, 96, 256}));
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 96, 256}));
  ExpectClose(out.slice(1, 0, 96, 4), Golden("modules", "isab_output_every4"), "output");
  EXPECT_NEAR(out.sum().item<double>(), 103.88820578, 2e-3);
}

TEST(AttentionTest, PmaMatchesReferenceAndAttentionRowsSumToOne) {
  PoolingByMultiheadAttention pma(256, PmaPoolingConfig());
  Prepare(pma, "pma");
  at::NoGradGuard no_grad;
  PooledBag out = pma(Inp({2, 96, 256}));
  ExpectClose(out.pooled, Golden("modules", "pma_pooled"), "pooled");
  ExpectClose(out.attention, Golden("modules", "pma_attention"), "attention");
  EXPECT_TRUE(at::allclose(out.attention.sum(1), at::ones({2}), 1e-6, 1e-6));
}

TEST(AttentionTest, PmaWithFourHeadsReturnsTheHeadMean) {
  PmaPoolingConfig config;
  config.set_num_heads(4);
  config.set_layer_norm(false);
  PoolingByMultiheadAttention pma(64, config);
  Prepare(pma, "pma4");
  at::NoGradGuard no_grad;
  PooledBag out = pma(Inp({2, 30, 64}));
  ExpectClose(out.pooled, Golden("modules", "pma4_pooled"), "pooled");
  ExpectClose(out.attention, Golden("modules", "pma4_attention"), "attention");
}

TEST(AttentionTest, SabMatchesReference) {
  SetAttentionBlock sab(64, 32, 4, true);
  Prepare(sab, "sab");
  at::NoGradGuard no_grad;
  ExpectClose(sab(Inp({2, 12, 64})), Golden("modules", "sab_output"), "output");
}

TEST(AttentionTest, XavierBoundsFollowPyTorchFansForThreeDimensionalTensors) {
  at::Tensor seed = at::empty({1, 1, 256});
  XavierUniform3d(seed);
  const double bound = std::sqrt(6.0 / 512.0);
  EXPECT_LE(seed.abs().max().item<double>(), bound);
  EXPECT_GT(seed.abs().max().item<double>(), 0.8 * bound);
  at::Tensor inducing = at::empty({1, 38, 256});
  XavierUniform3d(inducing);
  EXPECT_LE(inducing.abs().max().item<double>(), std::sqrt(6.0 / (38 * 256 + 256)));
}

TEST(AttentionTest, GradientsReachEveryParameter) {
  InducedSetAttentionBlock isab(16, 16, 3, 2, true);
  PoolingByMultiheadAttention pma(16, PmaPoolingConfig());
  const at::Tensor x = Inp({2, 7, 16});
  PooledBag out = pma(isab(x));
  out.pooled.sum().backward();
  for (const auto& p : isab->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  }
  for (const auto& p : pma->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
}

}  // namespace
}  // namespace mammovl::mil
