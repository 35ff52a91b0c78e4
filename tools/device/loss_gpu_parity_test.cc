// GPU parity of every loss: each golden case of losses/testdata (written by
// tools/fixtures/make_loss_fixtures.py) through `BuildLoss` on the CPU and on
// the first CUDA device in float32; totals, terms and the gradients of inputs
// and parameters agree within kRtol/kAtol, and both agree with the float64
// golden values within kGoldenTol. TF32 is off, so the GPU's float32 matmuls
// round like the CPU's and the tolerance covers only reduction order.
//
// Runs on the GPU machine (tag "gpu"; `ctest -L gpu` in the CMake build).
// Without a CUDA device every test fails saying so: this is not part of the
// CPU test suite, where //tools/device:gpu_tests_build_test checks that it
// compiles, links and lists every case.
#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status_matchers.h"
#include "gtest/gtest.h"
#include "losses/loss.h"
#include "losses/loss_builder.h"
#include "losses/loss_testing.h"
#include "tools/device/gpu_testing.h"

namespace mammovl::losses {
namespace {

constexpr double kRtol = 1e-4;
constexpr double kAtol = 1e-5;
constexpr double kGoldenTol = 1e-4;

struct DeviceRun {
  LossOutput out;
  std::map<std::string, at::Tensor> grads;  // "in_<field>" / "param_<name>"
};

// One forward/backward of case `f` on `device` in float32; results on CPU.
DeviceRun RunOn(const LossFixture& f, const at::Device& device) {
  DeviceRun run;
  auto built = BuildLoss(f.config);
  EXPECT_THAT(built, core::IsOk());
  if (!built.ok()) return run;
  std::unique_ptr<Loss> loss = *std::move(built);
  EXPECT_THAT(loss->To(at::TensorOptions().dtype(at::kFloat).device(device)),
              core::IsOk());
  std::map<std::string, at::Tensor> params;
  for (const auto& [name, value] : f.params) params[name] = value.to(device);
  SetParameters(*loss, params);

  LossInputs inputs;
  std::map<std::string, at::Tensor> leaves;
  for (const auto& [field, stored] : f.inputs) {
    at::Tensor* slot = MutableInput(inputs, field);
    EXPECT_NE(slot, nullptr) << f.name << ": unknown input field " << field;
    if (slot == nullptr) continue;
    at::Tensor t = stored.to(device);
    if (at::isFloatingType(stored.scalar_type())) t = t.to(at::kFloat);
    if (f.grads.count("in_" + field) > 0) {
      t = t.detach().clone().set_requires_grad(true);
      leaves[field] = t;
    }
    *slot = t;
  }
  LossContext context;
  context.global_step = f.global_step;
  context.epoch = f.epoch;
  context.training = f.training;
  auto out = loss->Compute(inputs, context);
  EXPECT_THAT(out, core::IsOk());
  if (!out.ok()) return run;
  run.out = *std::move(out);
  EXPECT_EQ(run.out.total.device(), device) << "total left the device";
  run.out.total.backward();
  for (const auto& [field, leaf] : leaves) {
    run.grads["in_" + field] =
        (leaf.grad().defined() ? leaf.grad() : at::zeros_like(leaf)).cpu();
  }
  for (const auto& [name, p] : loss->parameters()) {
    run.grads["param_" + name] =
        (p.grad().defined() ? p.grad() : at::zeros_like(p)).cpu();
  }
  run.out.total = run.out.total.detach().cpu();
  for (LossTerm& term : run.out.terms) term.value = term.value.detach().cpu();
  return run;
}

class LossGpuParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LossGpuParityTest, CpuAndGpuAgree) {
  ASSERT_TRUE(device::PrepareGpuForParity());
  MVL_ASSERT_OK_AND_ASSIGN(const LossFixture f, LoadLossFixture(GetParam()));
  const DeviceRun cpu = RunOn(f, at::Device(at::kCPU));
  const DeviceRun gpu = RunOn(f, at::Device(at::kCUDA, 0));
  ASSERT_TRUE(cpu.out.total.defined() && gpu.out.total.defined());
  EXPECT_TRUE(TensorsClose(gpu.out.total, cpu.out.total, kRtol, kAtol))
      << "total";
  EXPECT_TRUE(TensorsClose(gpu.out.total.to(at::kDouble), f.total, kGoldenTol,
                           kGoldenTol))
      << "total vs golden";
  ASSERT_EQ(gpu.out.terms.size(), cpu.out.terms.size());
  for (size_t i = 0; i < cpu.out.terms.size(); ++i) {
    EXPECT_EQ(gpu.out.terms[i].name, cpu.out.terms[i].name);
    EXPECT_TRUE(TensorsClose(gpu.out.terms[i].value, cpu.out.terms[i].value,
                             kRtol, kAtol))
        << "term " << cpu.out.terms[i].name;
  }
  ASSERT_EQ(gpu.grads.size(), cpu.grads.size());
  for (const auto& [name, grad] : cpu.grads) {
    ASSERT_TRUE(gpu.grads.count(name)) << name;
    EXPECT_TRUE(TensorsClose(gpu.grads.at(name), grad, kRtol, kAtol)) << name;
    if (f.grads.count(name)) {
      EXPECT_TRUE(TensorsClose(gpu.grads.at(name).to(at::kDouble),
                               f.grads.at(name), kGoldenTol, kGoldenTol))
          << name << " vs golden";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCases, LossGpuParityTest,
                         ::testing::ValuesIn(ListLossFixtures()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace mammovl::losses
