// Every golden case of tools/fixtures/make_loss_fixtures.py through
// `BuildLoss`: values, terms and gradients (inputs and parameters) in float32
// within 1e-5 and in float64 within 1e-9; then the gathered form with two
// simulated ranks against one process on the combined batch.
#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "core/status_matchers.h"
#include "gtest/gtest.h"
#include "losses/loss.h"
#include "losses/loss_builder.h"
#include "losses/loss_testing.h"

namespace mammovl::losses {
namespace {

// Every case the generator writes; a new one must be added here (checked by
// `EveryCaseIsListed`).
const std::vector<std::string>& AllCases() {
  static const auto* cases = new std::vector<std::string>{
      "clip_asymmetric_fixed",
      "clip_group_ids",
      "clip_mean",
      "focal_detector",
      "focal_no_alpha_sum",
      "focal_torchvision",
      "mama_step7999",
      "mama_step8000",
      "mammo_clip",
      "mammo_clip_eval_no_smoothing",
      "mammo_clip_image_label",
      "mgca_masked_words",
      "mgca_resnet",
      "mgca_vit",
      "simclr",
      "sla",
      "slip",
      "unweighted_ce",
      "weighted_bce_known",
      "weighted_bce_per_class",
      "weighted_ce",
  };
  return *cases;
}

// The cases whose losses compare samples across the batch: all but the
// classification losses.
std::vector<std::string> ContrastiveCases() {
  std::vector<std::string> cases;
  for (const std::string& name : AllCases()) {
    const bool classification = absl::StartsWith(name, "focal_") ||
                                absl::StrContains(name, "weighted_") ||
                                absl::EndsWith(name, "_ce");
    if (!classification) cases.push_back(name);
  }
  return cases;
}

TEST(LossParityCoverage, EveryCaseIsListed) {
  const std::vector<std::string> present = ListLossFixtures();
  EXPECT_EQ(present, AllCases())
      << "losses/testdata and the case list disagree";
}

// Inputs of `f` as leaves in `dtype` (float inputs with a gradient file
// require grad; others keep their stored dtype).
struct Leaves {
  LossInputs inputs;
  std::map<std::string, at::Tensor> float_leaves;  // field -> leaf
};

Leaves MakeLeaves(const LossFixture& f, at::ScalarType dtype) {
  Leaves leaves;
  for (const auto& [field, stored] : f.inputs) {
    at::Tensor* slot = MutableInput(leaves.inputs, field);
    EXPECT_NE(slot, nullptr) << f.name << ": unknown input field " << field;
    if (slot == nullptr) continue;
    at::Tensor t = stored;
    if (at::isFloatingType(stored.scalar_type())) t = stored.to(dtype);
    if (f.grads.count("in_" + field) > 0) {
      t = t.detach().clone().set_requires_grad(true);
      leaves.float_leaves[field] = t;
    }
    *slot = t;
  }
  return leaves;
}

LossContext ContextOf(const LossFixture& f) {
  LossContext context;
  context.global_step = f.global_step;
  context.epoch = f.epoch;
  context.training = f.training;
  return context;
}

std::unique_ptr<Loss> BuildWithParams(const LossConfig& config,
                                      const LossFixture& f,
                                      at::ScalarType dtype) {
  auto loss = BuildLoss(config);
  EXPECT_THAT(loss, core::IsOk());
  if (!loss.ok()) return nullptr;
  std::unique_ptr<Loss> out = *std::move(loss);
  EXPECT_THAT(out->To(at::TensorOptions().dtype(dtype)), core::IsOk());
  SetParameters(*out, f.params);
  return out;
}

class LossParityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void CheckCase(at::ScalarType dtype, double tol) {
    MVL_ASSERT_OK_AND_ASSIGN(const LossFixture f, LoadLossFixture(GetParam()));
    std::unique_ptr<Loss> loss = BuildWithParams(f.config, f, dtype);
    ASSERT_NE(loss, nullptr);
    // Every learnable parameter has a golden value and gradient.
    std::set<std::string> names;
    for (const auto& [name, p] : loss->parameters()) {
      names.insert(name);
      EXPECT_EQ(p.scalar_type(), dtype);
    }
    std::set<std::string> golden;
    for (const auto& [name, v] : f.params) golden.insert(name);
    EXPECT_EQ(names, golden);

    Leaves leaves = MakeLeaves(f, dtype);
    MVL_ASSERT_OK_AND_ASSIGN(LossOutput out,
                             loss->Compute(leaves.inputs, ContextOf(f)));
    ASSERT_EQ(out.total.dim(), 0);
    EXPECT_EQ(out.total.scalar_type(), dtype);
    EXPECT_TRUE(TensorsClose(out.total, f.total, tol, tol)) << "total";
    std::set<std::string> term_names;
    for (const LossTerm& term : out.terms) {
      term_names.insert(term.name);
      auto it = f.terms.find(term.name);
      if (it == f.terms.end()) {
        ADD_FAILURE() << "term " << term.name << " is not in the golden case";
        continue;
      }
      EXPECT_TRUE(TensorsClose(term.value, it->second, tol, tol))
          << "term " << term.name;
    }
    EXPECT_EQ(term_names.size(), f.terms.size())
        << "golden terms missing from the output";

    out.total.backward();
    for (const auto& [field, leaf] : leaves.float_leaves) {
      const at::Tensor grad =
          leaf.grad().defined() ? leaf.grad() : at::zeros_like(leaf);
      EXPECT_TRUE(TensorsClose(grad, f.grads.at("in_" + field), tol, tol))
          << "d/d " << field;
    }
    for (const auto& [name, p] : loss->parameters()) {
      ASSERT_TRUE(f.grads.count("param_" + name)) << name;
      const at::Tensor grad = p.grad().defined() ? p.grad() : at::zeros_like(p);
      EXPECT_TRUE(TensorsClose(grad, f.grads.at("param_" + name), tol, tol))
          << "d/d " << name;
    }
  }
};

TEST_P(LossParityTest, MatchesGoldenInFloat32) { CheckCase(at::kFloat, 1e-5); }

TEST_P(LossParityTest, MatchesGoldenInFloat64) { CheckCase(at::kDouble, 1e-9); }

INSTANTIATE_TEST_SUITE_P(Golden, LossParityTest,
                         ::testing::ValuesIn(AllCases()),
                         [](const auto& info) { return info.param; });

// With W ranks, each scoring its B rows against the gathered W*B and the
// gradients averaged over ranks (DDP), value and gradients equal one process
// on the combined batch.
class GatheredLossTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GatheredLossTest, TwoRanksEqualOneProcessOnTheCombinedBatch) {
  constexpr int kWorld = 2;
  MVL_ASSERT_OK_AND_ASSIGN(LossFixture f, LoadLossFixture(GetParam()));
  EnableAllGathering(f.config);
  const at::ScalarType dtype = at::kDouble;

  // One process, whole batch.
  std::unique_ptr<Loss> single = BuildWithParams(f.config, f, dtype);
  ASSERT_NE(single, nullptr);
  Leaves whole = MakeLeaves(f, dtype);
  MVL_ASSERT_OK_AND_ASSIGN(LossOutput expected,
                           single->Compute(whole.inputs, ContextOf(f)));
  expected.total.backward();

  // Two ranks: each has its own replica of the loss (its own parameters) and
  // a slice of the same leaves.
  Leaves combined = MakeLeaves(f, dtype);
  const int64_t batch = f.inputs.begin()->second.size(0);
  ASSERT_EQ(batch % kWorld, 0);
  const int64_t local = batch / kWorld;
  SimulatedWorld world(kWorld);
  std::vector<std::unique_ptr<Loss>> replicas;
  std::vector<LossInputs> rank_inputs(kWorld);
  for (int r = 0; r < kWorld; ++r) {
    replicas.push_back(BuildWithParams(f.config, f, dtype));
    ASSERT_NE(replicas.back(), nullptr);
    for (const auto& [field, unused] : f.inputs) {
      const at::Tensor* whole_input = MutableInput(combined.inputs, field);
      *MutableInput(rank_inputs[r], field) =
          whole_input->narrow(0, r * local, local);
    }
  }
  std::vector<absl::StatusOr<LossOutput>> results(
      kWorld, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int r = 0; r < kWorld; ++r) {
    threads.emplace_back([&, r] {
      LossContext context = ContextOf(f);
      context.batch = GlobalBatch{world.GatherFor(r), r, kWorld};
      results[r] = replicas[r]->Compute(rank_inputs[r], context);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int r = 0; r < kWorld; ++r)
    ASSERT_THAT(results[r], core::IsOk()) << "rank " << r;
  EXPECT_EQ(world.calls(0), world.calls(1));
  EXPECT_GT(world.calls(0), 0) << "no gather happened";

  // DDP averages gradients over ranks: the mean of the rank losses.
  at::Tensor mean_total = (results[0]->total + results[1]->total) / kWorld;
  EXPECT_TRUE(TensorsClose(mean_total, expected.total, 1e-10, 1e-10))
      << "total";
  for (const LossTerm& term : expected.terms) {
    const at::Tensor* t0 = results[0]->Find(term.name);
    const at::Tensor* t1 = results[1]->Find(term.name);
    ASSERT_TRUE(t0 != nullptr && t1 != nullptr) << term.name;
    EXPECT_TRUE(TensorsClose((*t0 + *t1) / kWorld, term.value, 1e-10, 1e-10))
        << term.name;
  }
  mean_total.backward();
  for (const auto& [field, leaf] : combined.float_leaves) {
    const at::Tensor want = whole.float_leaves.at(field).grad();
    const at::Tensor got =
        leaf.grad().defined() ? leaf.grad() : at::zeros_like(leaf);
    EXPECT_TRUE(TensorsClose(got, want.defined() ? want : at::zeros_like(leaf),
                             1e-10, 1e-10))
        << "d/d " << field;
  }
  // Each replica's gradient is that of (its loss / W); their sum is DDP's
  // average of the per-rank gradients.
  for (size_t i = 0; i < single->parameters().size(); ++i) {
    const auto& [name, p] = single->parameters()[i];
    at::Tensor sum = at::zeros_like(p);
    for (const auto& replica : replicas) {
      const at::Tensor& g = replica->parameters()[i].second.grad();
      if (g.defined()) sum = sum + g;
    }
    const at::Tensor want = p.grad().defined() ? p.grad() : at::zeros_like(p);
    EXPECT_TRUE(TensorsClose(sum, want, 1e-10, 1e-10)) << "d/d " << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Contrastive, GatheredLossTest,
                         ::testing::ValuesIn(ContrastiveCases()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace mammovl::losses
