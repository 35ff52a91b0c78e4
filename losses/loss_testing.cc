#include "losses/loss_testing.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/file_io.h"
#include "core/npy_tensor.h"
#include "core/proto_config.h"
#include "core/status_macros.h"

namespace mammovl::losses {
namespace {

namespace fs = std::filesystem;

}  // namespace

std::string LossTestdataDir() { return "losses/testdata"; }

std::vector<std::string> ListLossFixtures() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(LossTestdataDir(), error)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    if (name != "sinkhorn") names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<LossFixture> LoadLossFixture(const std::string& name) {
  LossFixture f;
  f.name = name;
  const std::string dir = absl::StrCat(LossTestdataDir(), "/", name);
  MVL_RETURN_IF_ERROR(core::LoadConfig(dir + "/config.pbtxt", {}, &f.config));
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string file = entry.path().filename().string();
    absl::string_view stem = file;
    if (!absl::ConsumeSuffix(&stem, ".npy")) continue;
    MVL_ASSIGN_OR_RETURN(at::Tensor t, core::ReadNpyTensor(entry.path().string()));
    if (absl::ConsumePrefix(&stem, "in_")) {
      f.inputs[std::string(stem)] = t;
    } else if (absl::ConsumePrefix(&stem, "param_")) {
      f.params[std::string(stem)] = t;
    } else if (absl::ConsumePrefix(&stem, "grad_")) {
      f.grads[std::string(stem)] = t;
    } else if (stem == "out_total") {
      f.total = t;
    } else if (absl::ConsumePrefix(&stem, "out_")) {
      f.terms[std::string(stem)] = t;
    } else if (stem == "ctx_global_step") {
      f.global_step = t.item<int64_t>();
    } else if (stem == "ctx_epoch") {
      f.epoch = t.item<int64_t>();
    } else if (stem == "ctx_training") {
      f.training = t.item<int64_t>() != 0;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(dir, ": unexpected file ", file));
    }
  }
  if (error)
    return absl::NotFoundError(absl::StrCat(dir, ": ", error.message()));
  if (!f.total.defined())
    return absl::NotFoundError(dir + "/out_total.npy is missing");
  return f;
}

at::Tensor* MutableInput(LossInputs& in, const std::string& field) {
  const std::map<std::string, at::Tensor*> fields = {
      {"image", &in.image},
      {"image_view", &in.image_view},
      {"text", &in.text},
      {"text_view", &in.text_view},
      {"image_ssl", &in.image_ssl},
      {"image_view_ssl", &in.image_view_ssl},
      {"image_local", &in.image_local},
      {"image_local_weights", &in.image_local_weights},
      {"text_local", &in.text_local},
      {"text_local_padding", &in.text_local_padding},
      {"text_local_weights", &in.text_local_weights},
      {"group_ids", &in.group_ids},
      {"logits", &in.logits},
      {"targets", &in.targets},
  };
  auto it = fields.find(field);
  return it == fields.end() ? nullptr : it->second;
}

void SetParameters(const Loss& loss,
                   const std::map<std::string, at::Tensor>& values) {
  at::NoGradGuard no_grad;
  for (const auto& [name, value] : values) {
    bool found = false;
    for (const auto& [pname, param] : loss.parameters()) {
      if (pname != name) continue;
      found = true;
      ASSERT_EQ(param.numel(), value.numel()) << name;
      at::Tensor target = param;  // shares storage with the loss's parameter
      target.copy_(value.reshape(param.sizes()));
    }
    EXPECT_TRUE(found) << "loss '" << loss.name() << "' has no parameter "
                       << name;
  }
}

::testing::AssertionResult TensorsClose(const at::Tensor& actual,
                                        const at::Tensor& expected, double rtol,
                                        double atol) {
  if (!actual.defined())
    return ::testing::AssertionFailure() << "actual is undefined";
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure()
           << "shape " << actual.sizes() << " vs expected " << expected.sizes();
  }
  const at::Tensor a = actual.detach().to(at::kDouble);
  const at::Tensor e = expected.detach().to(at::kDouble);
  const at::Tensor excess = (a - e).abs() - (atol + rtol * e.abs());
  const double worst = excess.numel() == 0 ? -1 : excess.max().item<double>();
  if (!(worst <= 0)) {
    const int64_t at_index = excess.flatten().argmax().item<int64_t>();
    return ::testing::AssertionFailure()
           << "max |diff| " << (a - e).abs().max().item<double>()
           << " (element " << at_index << ": "
           << a.flatten()[at_index].item<double>() << " vs expected "
           << e.flatten()[at_index].item<double>() << "), rtol " << rtol
           << ", atol " << atol;
  }
  return ::testing::AssertionSuccess();
}

void EnableAllGathering(LossConfig& config) {
  switch (config.loss_case()) {
    case LossConfig::kClip:
      config.mutable_clip()->set_gather_negatives(true);
      break;
    case LossConfig::kMammoClip:
      config.mutable_mammo_clip()->set_gather_negatives(true);
      break;
    case LossConfig::kSimclr:
      config.mutable_simclr()->set_gather_negatives(true);
      break;
    case LossConfig::kSla:
      config.mutable_sla()->set_gather_negatives(true);
      break;
    case LossConfig::kMgca:
      config.mutable_mgca()->set_gather_negatives(true);
      break;
    case LossConfig::kMama:
      config.mutable_mama()->set_gather_global_negatives(true);
      config.mutable_mama()->set_gather_local_negatives(true);
      break;
    case LossConfig::kSlip:
      config.mutable_slip()->mutable_clip()->set_gather_negatives(true);
      config.mutable_slip()->mutable_simclr()->set_gather_negatives(true);
      break;
    default:
      break;
  }
}

GatherFn SimulatedWorld::GatherFor(int rank) {
  return [this, rank](const at::Tensor& x) { return Gather(rank, x); };
}

int64_t SimulatedWorld::calls(int rank) const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_call_[rank];
}

at::Tensor SimulatedWorld::Gather(int rank, const at::Tensor& x) {
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t call = next_call_[rank]++;
  std::vector<at::Tensor>& slot = slots_[call];
  if (slot.empty()) slot.resize(world_);
  slot[rank] = x;
  cv_.notify_all();
  const bool complete = cv_.wait_for(lock, std::chrono::seconds(20), [&] {
    return std::all_of(slot.begin(), slot.end(),
                       [](const at::Tensor& t) { return t.defined(); });
  });
  TORCH_CHECK(complete, "simulated gather: rank ", rank,
              " waited in vain at call ", call);
  return at::cat(slot, 0);
}

}  // namespace mammovl::losses
