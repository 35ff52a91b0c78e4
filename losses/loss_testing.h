// Test utilities of losses/: the golden cases written by
// tools/fixtures/make_loss_fixtures.py, tensor comparison, and a simulated
// multi-rank world whose gather function behaves like a differentiable
// all-gather. Internal to losses; test-only.
#ifndef MAMMOVL_LOSSES_LOSS_TESTING_H_
#define MAMMOVL_LOSSES_LOSS_TESTING_H_

#include <ATen/core/Tensor.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "losses/loss.h"
#include "losses/loss_config.pb.h"

namespace mammovl::losses {

// One golden case: losses/testdata/<name>/.
struct LossFixture {
  std::string name;
  LossConfig config;
  std::map<std::string, at::Tensor>
      inputs;  // `LossInputs` field -> stored tensor
  std::map<std::string, at::Tensor>
      params;  // parameter name -> value (float32)
  int64_t global_step = 0;
  int64_t epoch = 0;
  bool training = true;
  at::Tensor total;                         // 0-d float64
  std::map<std::string, at::Tensor> terms;  // term name -> 0-d float64
  std::map<std::string, at::Tensor>
      grads;  // "in_<field>" / "param_<name>" -> float64
};

// Directory of the golden cases, relative to the test's working directory.
std::string LossTestdataDir();

// Names of the case directories present (sorted), excluding "sinkhorn".
std::vector<std::string> ListLossFixtures();

// Loads one case. Errors name the file.
absl::StatusOr<LossFixture> LoadLossFixture(const std::string& name);

// Returns the field of `inputs` called `field`, or nullptr.
at::Tensor* MutableInput(LossInputs& inputs, const std::string& field);

// Copies `values` (by name) into the loss's parameters. Fails (gtest) for a
// name the loss does not have.
void SetParameters(const Loss& loss,
                   const std::map<std::string, at::Tensor>& values);

// gtest assertion: `actual` and `expected` have equal shapes and
// |actual - expected| <= atol + rtol |expected| everywhere.
::testing::AssertionResult TensorsClose(const at::Tensor& actual,
                                        const at::Tensor& expected, double rtol,
                                        double atol);

// Sets every gather flag of `config` (all contrastive terms use all ranks).
void EnableAllGathering(LossConfig& config);

// `world` ranks run in threads; `GatherFor(r)` is rank r's gather function:
// it waits until every rank has contributed its tensor to the same call and
// returns their concatenation (so autograd flows to every rank's tensor, as
// a differentiable all-gather followed by the gradient all-reduce). A rank
// waiting longer than 20 s throws c10::Error.
class SimulatedWorld {
 public:
  explicit SimulatedWorld(int world) : world_(world), next_call_(world, 0) {}
  GatherFn GatherFor(int rank);
  int world() const { return world_; }
  // Number of gather calls each rank made so far (equal on all ranks).
  int64_t calls(int rank) const;

 private:
  at::Tensor Gather(int rank, const at::Tensor& x);

  const int world_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> next_call_;
  std::map<int64_t, std::vector<at::Tensor>> slots_;
};

}  // namespace mammovl::losses

#endif  // MAMMOVL_LOSSES_LOSS_TESTING_H_
