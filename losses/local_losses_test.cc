// SLA, MaMA's gated total, MGCA's CTA/CPA and Sinkhorn-Knopp through their
// functions: closed forms, masking, gating, and the Sinkhorn golden codes.
// The golden losses are in loss_parity_test.
#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <memory>

#include "core/npy_tensor.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "losses/loss.h"
#include "losses/loss_builder.h"
#include "losses/loss_testing.h"
#include "losses/mama_loss.h"
#include "losses/mgca_loss.h"
#include "losses/sinkhorn.h"
#include "losses/sla_loss.h"

namespace mammovl::losses {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

at::Tensor Randn(std::vector<int64_t> shape, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(shape, gen, at::TensorOptions().dtype(at::kDouble));
}

double Value(const at::Tensor& t) { return t.item<double>(); }

at::Tensor Bools(std::vector<int64_t> v, std::vector<int64_t> shape) {
  return at::tensor(v, at::kLong).reshape(shape).to(at::kBool);
}

std::vector<std::string> TermNames(const LossOutput& out) {
  std::vector<std::string> names;
  for (const LossTerm& t : out.terms) names.push_back(t.name);
  return names;
}

// --- Sinkhorn-Knopp ---------------------------------------------------------

TEST(SinkhornTest, MatchesGoldenCodes) {
  MVL_ASSERT_OK_AND_ASSIGN(
      const at::Tensor scores,
      core::ReadNpyTensor(LossTestdataDir() + "/sinkhorn/scores.npy"));
  MVL_ASSERT_OK_AND_ASSIGN(
      const at::Tensor codes,
      core::ReadNpyTensor(LossTestdataDir() + "/sinkhorn/codes.npy"));
  EXPECT_TRUE(TensorsClose(SinkhornKnopp(scores, 0.05, 3), codes, 1e-5, 1e-7));
  EXPECT_TRUE(TensorsClose(SinkhornKnopp(scores.to(at::kDouble), 0.05, 3),
                           codes, 1e-10, 1e-14));
}

TEST(SinkhornTest, RowsSumToOneAndPrototypeMassEvensOut) {
  const at::Tensor z = at::tanh(Randn({16, 8}, 1));
  const at::Tensor q = SinkhornKnopp(z, 0.5, 100);
  EXPECT_TRUE(TensorsClose(q.sum(1), at::ones({16}, at::kDouble), 0, 1e-12));
  // After many rounds each prototype gets B/K of the mass.
  EXPECT_TRUE(TensorsClose(q.sum(0), at::full({8}, 2.0, at::kDouble), 0, 1e-6));
}

TEST(SinkhornTest, SmallEpsilonStaysFiniteInFloat32) {
  // exp(1 / 0.001) overflows float32 and exp(-1 / 0.001) underflows; the
  // log-domain iterations do neither.
  const at::Tensor z = at::tanh(Randn({6, 5}, 2)).to(at::kFloat);
  const at::Tensor q = SinkhornKnopp(z, 0.001, 3);
  EXPECT_TRUE(at::isfinite(q).all().item<bool>());
  EXPECT_TRUE(TensorsClose(q.sum(1), at::ones({6}), 0, 1e-5));
}

TEST(SinkhornTest, CarriesNoGradient) {
  const at::Tensor z = Randn({3, 4}, 3).set_requires_grad(true);
  EXPECT_FALSE(SinkhornKnopp(z, 0.05, 3).requires_grad());
  EXPECT_THROW(SinkhornKnopp(z, 0.0, 3), c10::ValueError);
}

// --- MGCA weights -----------------------------------------------------------

TEST(ClipAndNormalizeWeightsTest, ClipsNonZeroEntriesToTheirQuantiles) {
  // Non-zero entries 1, 2, 3, 4: q10 = 1.3, q90 = 3.7 (linear interpolation).
  const at::Tensor raw =
      at::tensor({0.0, 1.0, 2.0, 3.0, 4.0, 0.0}, at::kDouble).reshape({1, 6});
  const at::Tensor want =
      at::tensor({0.0, 1.3, 2.0, 3.0, 3.7, 0.0}, at::kDouble).reshape({1, 6}) /
      10.0;
  EXPECT_TRUE(
      TensorsClose(ClipAndNormalizeWeights(raw, 0.1, 0.9), want, 0, 1e-12));
}

TEST(ClipAndNormalizeWeightsTest, EdgeRows) {
  const at::Tensor raw = at::tensor({0.0, 5.0, 0.0,  //
                                     0.0, 0.0, 0.0,  //
                                     2.0, 2.0, 2.0},
                                    at::kDouble)
                             .reshape({3, 3});
  const at::Tensor want = at::tensor({0.0, 1.0, 0.0,  //
                                      0.0, 0.0, 0.0,  //
                                      1 / 3.0, 1 / 3.0, 1 / 3.0},
                                     at::kDouble)
                              .reshape({3, 3});
  EXPECT_TRUE(
      TensorsClose(ClipAndNormalizeWeights(raw, 0.1, 0.9), want, 0, 1e-12));
}

// --- CTA / CPA --------------------------------------------------------------

TEST(CtaLossTest, BidirectionalAddsThePatchSide) {
  const at::Tensor p = Randn({2, 4, 3}, 4), w = Randn({2, 3, 3}, 5);
  const at::Tensor importance = at::rand({2, 3}, at::kDouble) + 0.1;
  MgcaLossConfig config;
  const LossOutput both = CtaLoss(p, w, {}, importance, {}, config);
  EXPECT_THAT(TermNames(both), ElementsAre("cta_word", "cta_patch"));
  EXPECT_NEAR(Value(both.total),
              Value(*both.Find("cta_word")) + Value(*both.Find("cta_patch")),
              1e-12);
  config.set_bidirectional(false);
  const LossOutput word = CtaLoss(p, w, {}, importance, {}, config);
  EXPECT_THAT(TermNames(word), ElementsAre("cta_word"));
  EXPECT_NEAR(Value(word.total), Value(*both.Find("cta_word")), 1e-12);
}

TEST(CtaLossTest, PaddedWordsDoNotReachThePatchSide) {
  const at::Tensor p = Randn({2, 4, 3}, 6), w = Randn({2, 3, 3}, 7);
  const at::Tensor padding = Bools({0, 0, 1, 0, 1, 1}, {2, 3});
  const at::Tensor importance =
      at::tensor({1.0, 2.0, 0.0, 1.0, 0.0, 0.0}).reshape({2, 3});
  at::Tensor w2 = w.clone();
  w2[0][2] = w2[0][2] * -3.0 + 1.0;  // change padded slots only
  w2[1][1] = 5.0;
  MgcaLossConfig config;
  config.set_mask_padded_words(true);
  const LossOutput a = CtaLoss(p, w, padding, importance, {}, config);
  const LossOutput b = CtaLoss(p, w2, padding, importance, {}, config);
  EXPECT_NEAR(Value(a.total), Value(b.total), 1e-12);
  // Without masking, padded words are word-side negatives (the reference).
  config.set_mask_padded_words(false);
  const LossOutput c = CtaLoss(p, w, padding, importance, {}, config);
  const LossOutput d = CtaLoss(p, w2, padding, importance, {}, config);
  EXPECT_NEAR(Value(*c.Find("cta_patch")), Value(*d.Find("cta_patch")), 1e-12);
  EXPECT_GT(std::abs(Value(*c.Find("cta_word")) - Value(*d.Find("cta_word"))),
            1e-6);
}

TEST(CtaLossTest, RejectsAllPaddedCaptionsAndNegativeWeights) {
  const at::Tensor p = Randn({2, 4, 3}, 8), w = Randn({2, 3, 3}, 9);
  const at::Tensor importance = at::ones({2, 3}, at::kDouble);
  const at::Tensor all_padded = at::ones({2, 3}, at::kBool);
  EXPECT_THROW(CtaLoss(p, w, all_padded, importance, {}, MgcaLossConfig()),
               c10::ValueError);
  EXPECT_THROW(CtaLoss(p, w, {}, -importance, {}, MgcaLossConfig()),
               c10::ValueError);
  EXPECT_THROW(
      CtaLoss(p, Randn({2, 3, 4}, 10), {}, importance, {}, MgcaLossConfig()),
      c10::ValueError);
}

TEST(CpaLossTest, CodesGetNoGradientButPredictionsDo) {
  const at::Tensor v = Randn({4, 3}, 11).set_requires_grad(true);
  const at::Tensor t = Randn({4, 3}, 12).set_requires_grad(true);
  const at::Tensor protos =
      L2Normalize(Randn({5, 3}, 13)).set_requires_grad(true);
  const LossOutput out = CpaLoss(v, t, protos, MgcaLossConfig(), LocalBatch());
  out.total.backward();
  EXPECT_GT(protos.grad().abs().sum().item<double>(), 0);
  EXPECT_GT(v.grad().abs().sum().item<double>(), 0);
}

TEST(MgcaLossObjectTest, PrototypesAreUnitRowsAndFrozenInTheFirstEpoch) {
  LossConfig config;
  config.mutable_mgca()->set_num_prototypes(6);
  config.mutable_mgca()->set_embedding_dim(3);
  MVL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Loss> loss, BuildLoss(config));
  ASSERT_EQ(loss->parameters().size(), 1u);
  const at::Tensor protos = loss->parameters()[0].second;
  EXPECT_EQ(loss->parameters()[0].first, "prototype_layer.weight");
  EXPECT_THAT(protos.sizes(), ElementsAre(6, 3));

  LossInputs in;
  in.image = Randn({2, 3}, 14).to(at::kFloat);
  in.text = Randn({2, 3}, 15).to(at::kFloat);
  in.image_local = Randn({2, 4, 3}, 16).to(at::kFloat);
  in.text_local = Randn({2, 3, 3}, 17).to(at::kFloat);
  in.text_local_weights = at::ones({2, 3});
  for (int epoch : {0, 1}) {
    LossContext context;
    context.epoch = epoch;
    MVL_ASSERT_OK_AND_ASSIGN(LossOutput out, loss->Compute(in, context));
    EXPECT_TRUE(TensorsClose(protos.norm(2, {1}), at::ones({6}), 0, 1e-6));
    out.total.backward();
    ASSERT_TRUE(protos.grad().defined());
    loss->AfterBackward(context);
    EXPECT_EQ(protos.grad().defined(), epoch >= 1) << "epoch " << epoch;
  }
}

// --- SLA --------------------------------------------------------------------

TEST(SlaTest, ScoresOfOneCaptionAndImageByHand) {
  // Two patches, two sentences: A = P E^T.
  const at::Tensor p =
      at::tensor({1.0, 0.0, 0.0, 1.0}, at::kDouble).reshape({1, 2, 2});
  const at::Tensor e = L2Normalize(
      at::tensor({1.0, 1.0, 1.0, 0.0}, at::kDouble).reshape({1, 2, 2}));
  // A = [[0.7071, 1], [0.7071, 0]]; T2I = mean_s max_p = (0.7071 + 1) / 2;
  // I2T = mean_p max_s = (1 + 0.7071) / 2.
  const SlaScores s = ComputeSlaScores(e, {}, p);
  EXPECT_NEAR(Value(s.t2i[0][0]), (std::sqrt(0.5) + 1) / 2, 1e-12);
  EXPECT_NEAR(Value(s.i2t[0][0]), (1 + std::sqrt(0.5)) / 2, 1e-12);
  // Padding the second sentence leaves T2I = 0.7071 and I2T = 0.7071.
  const at::Tensor pad = Bools({0, 1}, {1, 2});
  const SlaScores m = ComputeSlaScores(e, pad, p);
  EXPECT_NEAR(Value(m.t2i[0][0]), std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(Value(m.i2t[0][0]), std::sqrt(0.5), 1e-12);
}

TEST(SlaTest, PaddedSentencesDoNotMatter) {
  const at::Tensor p = Randn({3, 5, 4}, 18), e = Randn({3, 3, 4}, 19);
  const at::Tensor pad = Bools({0, 1, 1, 0, 0, 1, 0, 0, 0}, {3, 3});
  at::Tensor e2 = e.clone();
  e2.masked_fill_(pad.unsqueeze(2), 9.0);
  const at::Tensor s = at::scalar_tensor(2.0, at::kDouble);
  const SlaLossConfig config;
  EXPECT_NEAR(Value(SlaLoss(p, e, pad, s, config, LocalBatch()).total),
              Value(SlaLoss(p, e2, pad, s, config, LocalBatch()).total), 1e-12);
}

TEST(SlaTest, CaptionWithoutSentencesIsAnError) {
  const at::Tensor pad = Bools({0, 1, 1, 1}, {2, 2});
  try {
    SlaLoss(Randn({2, 3, 4}, 20), Randn({2, 2, 4}, 21), pad,
            at::scalar_tensor(1.0), SlaLossConfig(), LocalBatch());
    FAIL() << "no error";
  } catch (const c10::ValueError& e) {
    EXPECT_THAT(e.what_without_backtrace(), HasSubstr("text_local_padding"));
  }
}

// --- MaMA gating ------------------------------------------------------------

LossInputs MamaInputs() {
  LossInputs in;
  in.image = Randn({4, 6}, 22);
  in.image_view = Randn({4, 6}, 23);
  in.text = Randn({4, 6}, 24);
  in.image_ssl = Randn({4, 5}, 25);
  in.image_view_ssl = Randn({4, 5}, 26);
  in.image_local = Randn({4, 3, 4}, 27);
  in.text_local = Randn({4, 2, 4}, 28);
  return in;
}

TEST(MamaLossTest, LateTermsStartAtTheGate) {
  const MamaLossConfig config;  // late_loss_step 8000
  const LossInputs in = MamaInputs();
  const at::Tensor gs =
      at::scalar_tensor(2.0, at::kDouble).set_requires_grad(true);
  const at::Tensor ls =
      at::scalar_tensor(2.5, at::kDouble).set_requires_grad(true);
  LossContext context;
  context.global_step = 7999;
  const LossOutput before = MamaLoss(in, gs, ls, config, context);
  EXPECT_THAT(TermNames(before), ElementsAre("it"));
  before.total.backward();
  EXPECT_FALSE(ls.grad().defined())
      << "local_scale must get no gradient before the gate";

  context.global_step = 8000;
  const LossOutput after = MamaLoss(in, gs, ls, config, context);
  EXPECT_THAT(TermNames(after), ElementsAre("it", "ii", "it_partner", "sla"));
  EXPECT_NEAR(Value(*after.Find("it")), Value(*before.Find("it")), 1e-12);
  EXPECT_NEAR(Value(after.total),
              Value(*after.Find("it")) + Value(*after.Find("ii")) +
                  Value(*after.Find("it_partner")) + Value(*after.Find("sla")),
              1e-12);
  after.total.backward();
  EXPECT_TRUE(ls.grad().defined());
}

TEST(MamaLossTest, ZeroWeightsSwitchTermsOffAndSkipTheirInputs) {
  MamaLossConfig config;
  config.set_late_loss_step(0);
  config.set_multiview_weight(0);
  config.set_sla_weight(0);
  LossInputs in = MamaInputs();
  in.image_ssl = in.image_view_ssl = in.image_local = in.text_local =
      at::Tensor();
  const LossOutput out =
      MamaLoss(in, at::scalar_tensor(2.0), at::scalar_tensor(2.0), config,
               LossContext());
  EXPECT_THAT(TermNames(out), ElementsAre("it", "it_partner"));
}

TEST(MamaLossTest, ItIsTheSumOfBothClipDirections) {
  const LossInputs in = MamaInputs();
  const at::Tensor s = at::scalar_tensor(1.7, at::kDouble);
  const LossOutput out = MamaLoss(in, s, s, MamaLossConfig(), LossContext());
  const at::Tensor sim =
      at::matmul(L2Normalize(in.image), L2Normalize(in.text).t()) *
      std::exp(1.7);
  const at::Tensor ce_rows = -at::log_softmax(sim, 1).diagonal().mean();
  const at::Tensor ce_cols = -at::log_softmax(sim, 0).diagonal().mean();
  EXPECT_NEAR(Value(out.total), Value(ce_rows + ce_cols), 1e-12);
}

}  // namespace
}  // namespace mammovl::losses
