// CLIP / InfoNCE, Mammo-CLIP's multi-view loss, NT-Xent and SLIP through their
// functions: properties that hold for any input, closed forms, gathering
// offsets and shape errors. The golden values are in loss_parity_test.
#include <ATen/ATen.h>

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "losses/clip_loss.h"
#include "losses/contrastive.h"
#include "losses/loss.h"
#include "losses/loss_testing.h"
#include "losses/ntxent_loss.h"

namespace mammovl::losses {
namespace {

using ::testing::HasSubstr;

at::Tensor Randn(std::vector<int64_t> shape, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(shape, gen, at::TensorOptions().dtype(at::kDouble));
}

double Value(const at::Tensor& t) { return t.item<double>(); }

TEST(DiagonalCrossEntropyTest, TargetsStartAtTheOffset) {
  const at::Tensor logits = Randn({2, 5}, 1);
  const at::Tensor logp = at::log_softmax(logits, 1);
  const double want = -(Value(logp[0][3]) + Value(logp[1][4])) / 2;
  EXPECT_NEAR(Value(DiagonalCrossEntropy(logits, /*offset=*/3)), want, 1e-12);
}

TEST(DiagonalCrossEntropyTest, LabelSmoothingMixesTheMeanLogProbability) {
  const at::Tensor logits = Randn({3, 4}, 2);
  const at::Tensor logp = at::log_softmax(logits, 1);
  double want = 0;
  for (int i = 0; i < 3; ++i) {
    want += 0.8 * -Value(logp[i][i]) + 0.2 * -Value(logp[i].mean());
  }
  EXPECT_NEAR(Value(DiagonalCrossEntropy(logits, 0, /*label_smoothing=*/0.2)),
              want / 3, 1e-12);
}

TEST(DiagonalCrossEntropyTest, RejectsTooFewColumns) {
  EXPECT_THROW(DiagonalCrossEntropy(Randn({3, 4}, 3), /*offset=*/2),
               c10::ValueError);
}

TEST(GroupCrossEntropyTest, DistinctIdsEqualTheDiagonalForm) {
  const at::Tensor logits = Randn({4, 4}, 4);
  const at::Tensor ids = at::arange(4, at::kLong);
  EXPECT_NEAR(Value(GroupCrossEntropy(logits, ids, ids)),
              Value(DiagonalCrossEntropy(logits, 0)), 1e-12);
}

TEST(GroupCrossEntropyTest, OneGroupGivesTheUniformTarget) {
  const at::Tensor logits = Randn({3, 3}, 5);
  const at::Tensor ids = at::zeros({3}, at::kLong);
  const double want = -Value(at::log_softmax(logits, 1).mean(1).mean());
  EXPECT_NEAR(Value(GroupCrossEntropy(logits, ids, ids)), want, 1e-12);
}

TEST(ClipLossTest, AlignedPairsAtHighScaleCostAlmostNothing) {
  // Orthogonal unit vectors, image == text: the diagonal wins by exp(s).
  const at::Tensor x = at::eye(4, at::kDouble) * 3.0;  // normalised inside
  ClipLossConfig config;
  const LossOutput out =
      ClipLoss(x, x, at::scalar_tensor(std::log(100.0), at::kDouble), config,
               LocalBatch());
  const double per_row = std::log(1 + 3 * std::exp(-100.0));
  EXPECT_NEAR(Value(out.total), per_row, 1e-12);
}

TEST(ClipLossTest, SwappingModalitiesSwapsTheDirections) {
  const at::Tensor a = Randn({5, 6}, 6), b = Randn({5, 6}, 7);
  const at::Tensor scale = at::scalar_tensor(2.0, at::kDouble);
  ClipLossConfig config;
  const LossOutput ab = ClipLoss(a, b, scale, config, LocalBatch());
  const LossOutput ba = ClipLoss(b, a, scale, config, LocalBatch());
  EXPECT_NEAR(Value(*ab.Find("i2t")), Value(*ba.Find("t2i")), 1e-12);
  EXPECT_NEAR(Value(*ab.Find("t2i")), Value(*ba.Find("i2t")), 1e-12);
}

TEST(ClipLossTest, WeightsCombineTheDirections) {
  const at::Tensor a = Randn({5, 6}, 8), b = Randn({5, 6}, 9);
  ClipLossConfig config;
  config.set_image_to_text_weight(0.75);
  config.set_text_to_image_weight(0.25);
  const LossOutput out =
      ClipLoss(a, b, at::scalar_tensor(1.0, at::kDouble), config, LocalBatch());
  EXPECT_NEAR(Value(out.total),
              0.75 * Value(*out.Find("i2t")) + 0.25 * Value(*out.Find("t2i")),
              1e-12);
}

TEST(ClipLossTest, InvariantToTheEmbeddingNorm) {
  const at::Tensor a = Randn({4, 3}, 10), b = Randn({4, 3}, 11);
  const at::Tensor scale = at::scalar_tensor(2.5, at::kDouble);
  ClipLossConfig config;
  EXPECT_NEAR(
      Value(ClipLoss(a, b, scale, config, LocalBatch()).total),
      Value(ClipLoss(a * 7.0, b * 0.01, scale, config, LocalBatch()).total),
      1e-12);
}

TEST(ClipLossTest, GatheredRowsUseTheRankOffset) {
  // Rank 1 of 2 holds rows 2-3 of the global batch; the gather returns all
  // four rows, so its positives are columns 2 and 3.
  const at::Tensor all_img = Randn({4, 5}, 12), all_txt = Randn({4, 5}, 13);
  ClipLossConfig config;
  const at::Tensor scale = at::scalar_tensor(1.5, at::kDouble);
  const at::Tensor vi = L2Normalize(all_img), ti = L2Normalize(all_txt);
  GlobalBatch rank1{[&](const at::Tensor& x) {
                      const bool is_image = at::allclose(x, vi.narrow(0, 2, 2));
                      return is_image ? vi : ti;
                    },
                    1, 2};
  const LossOutput out = ClipLoss(
      all_img.narrow(0, 2, 2), all_txt.narrow(0, 2, 2), scale, config, rank1);
  const at::Tensor logits =
      at::matmul(vi.narrow(0, 2, 2), ti.t()) * std::exp(1.5);
  const at::Tensor logp = at::log_softmax(logits, 1);
  EXPECT_NEAR(Value(*out.Find("i2t")),
              -(Value(logp[0][2]) + Value(logp[1][3])) / 2, 1e-12);
}

TEST(ClipLossTest, WorldSizeWithoutGatherIsAnError) {
  GlobalBatch batch;
  batch.world_size = 2;
  ClipLossConfig config;
  EXPECT_THROW(ClipLoss(Randn({2, 3}, 14), Randn({2, 3}, 15),
                        at::scalar_tensor(1.0), config, batch),
               c10::ValueError);
  config.set_gather_negatives(false);  // local negatives need no gather
  EXPECT_NO_THROW(ClipLoss(Randn({2, 3}, 14), Randn({2, 3}, 15),
                           at::scalar_tensor(1.0), config, batch));
}

TEST(ClipLossTest, ShapeErrorsNameTheInputs) {
  ClipLossConfig config;
  try {
    ClipLoss(Randn({2, 3}, 16), Randn({3, 3}, 17), at::scalar_tensor(1.0),
             config, LocalBatch());
    FAIL() << "no error";
  } catch (const c10::ValueError& e) {
    EXPECT_THAT(e.what_without_backtrace(), HasSubstr("`image`"));
    EXPECT_THAT(e.what_without_backtrace(), HasSubstr("`text`"));
  }
  config.set_use_group_ids(true);
  EXPECT_THROW(ClipLoss(Randn({2, 3}, 16), Randn({2, 3}, 17),
                        at::scalar_tensor(1.0), config, LocalBatch()),
               c10::ValueError);
}

TEST(ClipLossTest, ReducedPrecisionInputsAreComputedInFloat32) {
  ClipLossConfig config;
  const LossOutput out = ClipLoss(
      Randn({3, 4}, 18).to(at::kBFloat16), Randn({3, 4}, 19).to(at::kHalf),
      at::scalar_tensor(1.0, at::kFloat), config, LocalBatch());
  EXPECT_EQ(out.total.scalar_type(), at::kFloat);
  EXPECT_TRUE(std::isfinite(Value(out.total)));
}

TEST(MammoClipLossTest, IdenticalViewsReduceToClipTerms) {
  // With I2 = I1 and T2 = T1 every image-text CE is CE(I, T).
  const at::Tensor i = Randn({4, 6}, 20), t = Randn({4, 6}, 21);
  const at::Tensor scale = at::scalar_tensor(std::log(1 / 0.07), at::kDouble);
  MammoClipLossConfig config;
  const LossOutput mv =
      MammoClipLoss(i, i, t, t, scale, config, LocalBatch(), true);
  const LossOutput clip = ClipLoss(i, t, scale, ClipLossConfig(), LocalBatch());
  EXPECT_NEAR(Value(*mv.Find("i2t")), Value(*clip.Find("i2t")), 1e-12);
  EXPECT_NEAR(Value(*mv.Find("t2i")), Value(*clip.Find("t2i")), 1e-12);
  EXPECT_NEAR(Value(mv.total),
              (Value(*mv.Find("i2t")) + Value(*mv.Find("t2i"))) / 2 +
                  1.0 * Value(*mv.Find("i2i")) + 0.5 * Value(*mv.Find("t2t")),
              1e-12);
}

TEST(MammoClipLossTest, LabelSmoothingOnlyInTraining) {
  const at::Tensor a = Randn({3, 4}, 22), b = Randn({3, 4}, 23),
                   c = Randn({3, 4}, 24), d = Randn({3, 4}, 25);
  const at::Tensor scale = at::scalar_tensor(2.0, at::kDouble);
  MammoClipLossConfig smooth;
  smooth.set_label_smoothing(0.3);
  const MammoClipLossConfig plain;
  const double eval = Value(
      MammoClipLoss(a, b, c, d, scale, smooth, LocalBatch(), false).total);
  EXPECT_NEAR(
      eval,
      Value(MammoClipLoss(a, b, c, d, scale, plain, LocalBatch(), true).total),
      1e-12);
  const LossOutput train =
      MammoClipLoss(a, b, c, d, scale, smooth, LocalBatch(), true);
  const LossOutput untouched =
      MammoClipLoss(a, b, c, d, scale, plain, LocalBatch(), true);
  EXPECT_GT(std::abs(Value(train.total) - eval), 1e-6);
  // Image-image and text-text terms are never smoothed.
  EXPECT_NEAR(Value(*train.Find("i2i")), Value(*untouched.Find("i2i")), 1e-12);
  EXPECT_NEAR(Value(*train.Find("t2t")), Value(*untouched.Find("t2t")), 1e-12);
}

TEST(MammoClipLossTest, MissingViewIsAnError) {
  const at::Tensor a = Randn({3, 4}, 26);
  EXPECT_THROW(MammoClipLoss(a, at::Tensor(), a, a, at::scalar_tensor(1.0),
                             MammoClipLossConfig(), LocalBatch(), true),
               c10::ValueError);
}

// Textbook NT-Xent over the 2N views, written directly.
double TextbookNtXent(const at::Tensor& a, const at::Tensor& b, double tau) {
  const at::Tensor z = L2Normalize(at::cat({a, b}));
  const int64_t n2 = z.size(0), n = n2 / 2;
  const at::Tensor sim = at::matmul(z, z.t()) / tau;
  double total = 0;
  for (int64_t i = 0; i < n2; ++i) {
    double denom = 0;
    for (int64_t j = 0; j < n2; ++j) {
      if (j != i) denom += std::exp(Value(sim[i][j]));
    }
    total += -(Value(sim[i][(i + n) % n2]) - std::log(denom));
  }
  return total / n2;
}

TEST(NtXentLossTest, EqualsTheTextbookForm) {
  const at::Tensor a = Randn({5, 3}, 27), b = Randn({5, 3}, 28);
  for (double tau : {0.1, 0.5, 1.0}) {
    SimClrLossConfig config;
    config.set_temperature(tau);
    EXPECT_NEAR(Value(NtXentLoss(a, b, config, LocalBatch()).total),
                TextbookNtXent(a, b, tau), 1e-10)
        << "tau " << tau;
  }
}

TEST(NtXentLossTest, SymmetricInTheViews) {
  const at::Tensor a = Randn({4, 3}, 29), b = Randn({4, 3}, 30);
  const SimClrLossConfig config;
  EXPECT_NEAR(Value(NtXentLoss(a, b, config, LocalBatch()).total),
              Value(NtXentLoss(b, a, config, LocalBatch()).total), 1e-12);
}

TEST(SlipLossTest, AddsScaledSsl) {
  const at::Tensor i = Randn({4, 6}, 31), t = Randn({4, 6}, 32),
                   a = Randn({4, 3}, 33), b = Randn({4, 3}, 34);
  const at::Tensor scale = at::scalar_tensor(2.0, at::kDouble);
  SlipLossConfig config;
  config.set_ssl_scale(0.25);
  const LossOutput out = SlipLoss(i, t, scale, a, b, config, LocalBatch());
  EXPECT_NEAR(Value(*out.Find("clip")),
              Value(ClipLoss(i, t, scale, config.clip(), LocalBatch()).total),
              1e-12);
  EXPECT_NEAR(Value(*out.Find("ssl")), TextbookNtXent(a, b, 0.1), 1e-10);
  EXPECT_NEAR(Value(out.total),
              Value(*out.Find("clip")) + 0.25 * Value(*out.Find("ssl")), 1e-12);
}

TEST(LogitScaleTest, StartsAtLogInverseTemperature) {
  TemperatureConfig config;
  const at::Tensor s = MakeLogitScale(config);
  EXPECT_TRUE(s.requires_grad());
  EXPECT_NEAR(s.item<double>(), std::log(1 / 0.07), 1e-6);
  config.set_learnable(false);
  config.set_initial(0.5);
  EXPECT_FALSE(MakeLogitScale(config).requires_grad());
  EXPECT_NEAR(MakeLogitScale(config).item<double>(), std::log(2.0), 1e-6);
}

TEST(LogitScaleTest, ClampsOnlyWithAMaximum) {
  TemperatureConfig config;
  at::Tensor s = MakeLogitScale(config);
  {
    at::NoGradGuard no_grad;
    s.fill_(7.0);
  }
  ClampLogitScale(config, s);
  EXPECT_DOUBLE_EQ(s.item<double>(), 7.0);
  config.set_max_logit_scale(4.6052);
  ClampLogitScale(config, s);
  EXPECT_NEAR(s.item<double>(), 4.6052, 1e-6);
  {
    at::NoGradGuard no_grad;
    s.fill_(-1.0);
  }
  ClampLogitScale(config, s);
  EXPECT_DOUBLE_EQ(s.item<double>(), 0.0);
  EXPECT_TRUE(s.requires_grad());
}

}  // namespace
}  // namespace mammovl::losses
