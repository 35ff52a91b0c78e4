// One rank of the data-parallel test in distributed_test.cc. It trains a tiny
// CLIP-style dual encoder (two linear maps and a learnable logit scale) with
// plain SGD for --steps steps. Every step draws the same global batch on every
// rank (seeded by the step) and trains on its own rows; embeddings are
// all-gathered with gradient, so the contrastive logits span the global batch.
// Started without torchrun's variables it is the single-process reference
// that trains on the whole batch.
//
// Flags: --out=FILE (parameters and logit widths as text), --steps=K,
// --local_batch=B, --die_rank=R --die_step=S (that rank SIGKILLs itself
// before step S's collectives), --timeout_s, --probe_s.
// Exit codes: 0 ok, 2 bad flags, 3 a library call failed (message on stderr).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "train/distributed.h"
#include "train/testing/subprocess.h"

namespace mammovl::train {
namespace {

struct Flags {
  std::string out;
  int steps = 3;
  int local_batch = 4;
  int die_rank = -1;
  int die_step = -1;
  double timeout_s = 60;
  double probe_s = 2;
};

constexpr int kImageDim = 8;
constexpr int kTextDim = 6;
constexpr int kEmbedDim = 4;
constexpr double kLr = 0.5;

// The test's own CLIP loss: symmetric cross-entropy over logits between this
// rank's rows and the gathered global batch; the targets are the rows' global
// indices. Returns the loss and records the logits' width.
at::Tensor ClipLoss(Communicator& comm, const at::Tensor& img,
                    const at::Tensor& txt, const at::Tensor& logit_scale,
                    int64_t* logits_width) {
  const at::Tensor all_img = AllGatherWithGrad(comm, img);
  const at::Tensor all_txt = AllGatherWithGrad(comm, txt);
  const at::Tensor scale = logit_scale.exp();
  const at::Tensor logits_i2t = scale * at::matmul(img, all_txt.t());
  const at::Tensor logits_t2i = scale * at::matmul(txt, all_img.t());
  *logits_width = logits_i2t.size(1);
  const int64_t rows = img.size(0);
  const at::Tensor labels = at::arange(rows, at::kLong) + comm.rank() * rows;
  const at::Tensor l1 = at::nll_loss(at::log_softmax(logits_i2t, 1), labels);
  const at::Tensor l2 = at::nll_loss(at::log_softmax(logits_t2i, 1), labels);
  return (l1 + l2) / 2;
}

at::Tensor Normalize(const at::Tensor& x) {
  return x / x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
}

absl::Status Run(const Flags& flags) {
  MVL_ASSIGN_OR_RETURN(const DistributedEnv env,
                       DistributedEnvFromEnvironment());
  DistributedConfig config;
  config.set_timeout_s(flags.timeout_s);
  config.set_peer_probe_s(flags.probe_s);
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> comm,
                       CreateCommunicator(config, env));
  at::set_num_threads(1);

  // Different initial weights per rank: the broadcast must make them equal.
  at::manual_seed(1000 + comm->rank());
  at::Tensor w_img = at::randn({kImageDim, kEmbedDim}).set_requires_grad(true);
  at::Tensor w_txt = at::randn({kTextDim, kEmbedDim}).set_requires_grad(true);
  at::Tensor logit_scale =
      at::full({}, std::log(1 / 0.07), at::kFloat).set_requires_grad(true);
  std::vector<at::Tensor> params = {w_img, w_txt, logit_scale};
  MVL_RETURN_IF_ERROR(BroadcastParameters(*comm, params));

  std::vector<int64_t> widths;
  for (int step = 0; step < flags.steps; ++step) {
    if (step == flags.die_step && comm->rank() == flags.die_rank) {
      std::fprintf(stderr, "rank %d: killing myself at step %d\n", comm->rank(),
                   step);
      std::fflush(stderr);
      ::raise(SIGKILL);
    }
    const int64_t global_batch =
        int64_t{flags.local_batch} * comm->world_size();
    at::manual_seed(step);
    const at::Tensor x_img = at::randn({global_batch, kImageDim});
    const at::Tensor x_txt = at::randn({global_batch, kTextDim});
    const int64_t first = int64_t{comm->rank()} * flags.local_batch;
    int64_t width = 0;
    const absl::Status step_status = core::RunTorch("training step", [&] {
      const at::Tensor img = Normalize(
          at::matmul(x_img.narrow(0, first, flags.local_batch), w_img));
      const at::Tensor txt = Normalize(
          at::matmul(x_txt.narrow(0, first, flags.local_batch), w_txt));
      ClipLoss(*comm, img, txt, logit_scale, &width).backward();
    });
    // A failed collective inside the loss surfaces as a torch error; the
    // communicator keeps the precise status.
    if (!step_status.ok())
      return comm->health().ok() ? step_status : comm->health();
    widths.push_back(width);
    MVL_RETURN_IF_ERROR(AllReduceGradients(*comm, params, /*bucket_bytes=*/64));
    at::NoGradGuard no_grad;
    for (at::Tensor& p : params) {
      p.sub_(p.grad() * kLr);
      p.mutable_grad().zero_();
    }
  }

  std::string text =
      absl::StrCat("rank ", comm->rank(), " world ", comm->world_size(), "\n");
  absl::StrAppend(&text, "widths");
  for (int64_t w : widths) absl::StrAppend(&text, " ", w);
  absl::StrAppend(&text, "\n");
  for (size_t i = 0; i < params.size(); ++i) {
    const at::Tensor flat = params[i].detach().reshape(-1).contiguous();
    absl::StrAppend(&text, "param", i);
    for (int64_t j = 0; j < flat.numel(); ++j) {
      absl::StrAppend(&text, absl::StrFormat(" %.9g", flat[j].item<float>()));
    }
    absl::StrAppend(&text, "\n");
  }
  MVL_RETURN_IF_ERROR(core::WriteFileAtomically(flags.out, text));
  return comm->Finalize();
}

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  MVL_ASSIGN_OR_RETURN(const auto named, testing::ParseWorkerFlags(argc, argv));
  Flags flags;
  auto it = named.find("out");
  if (it == named.end()) return absl::InvalidArgumentError("--out is required");
  flags.out = it->second;
  MVL_ASSIGN_OR_RETURN(const double steps,
                       testing::WorkerFlagNumber(named, "steps", flags.steps));
  MVL_ASSIGN_OR_RETURN(
      const double batch,
      testing::WorkerFlagNumber(named, "local_batch", flags.local_batch));
  MVL_ASSIGN_OR_RETURN(
      const double die_rank,
      testing::WorkerFlagNumber(named, "die_rank", flags.die_rank));
  MVL_ASSIGN_OR_RETURN(
      const double die_step,
      testing::WorkerFlagNumber(named, "die_step", flags.die_step));
  MVL_ASSIGN_OR_RETURN(
      flags.timeout_s,
      testing::WorkerFlagNumber(named, "timeout_s", flags.timeout_s));
  MVL_ASSIGN_OR_RETURN(flags.probe_s, testing::WorkerFlagNumber(
                                          named, "probe_s", flags.probe_s));
  flags.steps = static_cast<int>(steps);
  flags.local_batch = static_cast<int>(batch);
  flags.die_rank = static_cast<int>(die_rank);
  flags.die_step = static_cast<int>(die_step);
  return flags;
}

}  // namespace
}  // namespace mammovl::train

int main(int argc, char** argv) {
  const auto flags = mammovl::train::ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr,
                 "%s\nusage: %s --out=FILE [--steps=K --local_batch=B ...]\n",
                 flags.status().ToString().c_str(), argv[0]);
    return 2;
  }
  const absl::Status status = mammovl::train::Run(*flags);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
    return 3;
  }
  return 0;
}
