#include "train/distributed.h"

#include <ATen/ATen.h>
#include <glog/logging.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <thread>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "core/status_macros.h"
#include "core/torch_status.h"

namespace mammovl::train {
namespace {

using Millis = std::chrono::milliseconds;

Millis ToMillis(double seconds) {
  return Millis(static_cast<int64_t>(seconds * 1000.0));
}

// The first line of an exception message: c10 errors append a C++ backtrace.
std::string FirstLine(absl::string_view text) {
  const size_t end = text.find('\n');
  return std::string(end == absl::string_view::npos ? text
                                                    : text.substr(0, end));
}

const char* GetEnv(const char* name) {
  const char* value = std::getenv(name);
  return (value != nullptr && value[0] != '\0') ? value : nullptr;
}

absl::StatusOr<int> ParseIntVar(const char* name, const char* value, int min,
                                int max) {
  int parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < min || parsed > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable ", name, "='", value,
                     "' must be an integer in [", min, ", ", max, "]"));
  }
  return parsed;
}

bool IsLoopback(absl::string_view host) {
  return host == "localhost" || absl::StartsWith(host, "127.") || host == "::1";
}

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend_name() const override { return "local"; }
  absl::Status AllReduceSum(std::vector<at::Tensor>&) override {
    return absl::OkStatus();
  }
  absl::StatusOr<at::Tensor> AllGather(const at::Tensor& input) override {
    return input;
  }
  absl::Status Broadcast(std::vector<at::Tensor>&, int root) override {
    if (root != 0)
      return absl::InvalidArgumentError(
          absl::StrCat("broadcast root ", root, " >= 1"));
    return absl::OkStatus();
  }
  absl::Status Barrier() override { return absl::OkStatus(); }
  absl::Status Finalize() override { return absl::OkStatus(); }
  absl::Status health() const override { return absl::OkStatus(); }
};

class GlooCommunicator : public Communicator {
 public:
  GlooCommunicator(DistributedConfig config, DistributedEnv env,
                   c10::intrusive_ptr<c10d::Store> store,
                   c10::intrusive_ptr<c10d::ProcessGroupGloo> group)
      : config_(std::move(config)),
        env_(std::move(env)),
        store_(std::move(store)),
        group_(std::move(group)) {}

  ~GlooCommunicator() override {
    // The group's worker threads must stop before the store they talk to.
    group_.reset();
    store_.reset();
  }

  int rank() const override { return env_.rank; }
  int world_size() const override { return env_.world_size; }
  std::string backend_name() const override { return "gloo"; }

  absl::Status AllReduceSum(std::vector<at::Tensor>& tensors) override {
    for (at::Tensor& tensor : tensors) {
      if (!tensor.is_contiguous()) {
        return absl::InvalidArgumentError(
            "all_reduce: tensors must be contiguous");
      }
      std::vector<at::Tensor> one = {tensor};
      MVL_RETURN_IF_ERROR(
          Run("all_reduce", [&] { return group_->allreduce(one); }));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<at::Tensor> AllGather(const at::Tensor& input) override {
    MVL_RETURN_IF_ERROR(CheckSameShape(input));
    std::vector<at::Tensor> inputs = {input.contiguous()};
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < env_.world_size; ++r)
      outputs[0].push_back(at::empty_like(inputs[0]));
    MVL_RETURN_IF_ERROR(
        Run("all_gather", [&] { return group_->allgather(outputs, inputs); }));
    return at::cat(outputs[0], 0);
  }

  absl::Status Broadcast(std::vector<at::Tensor>& tensors, int root) override {
    if (root < 0 || root >= env_.world_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "broadcast root ", root, " outside [0, ", env_.world_size, ")"));
    }
    c10d::BroadcastOptions options;
    options.rootRank = root;
    for (at::Tensor& tensor : tensors) {
      if (!tensor.is_contiguous()) {
        return absl::InvalidArgumentError(
            "broadcast: tensors must be contiguous");
      }
      std::vector<at::Tensor> one = {tensor};
      MVL_RETURN_IF_ERROR(
          Run("broadcast", [&] { return group_->broadcast(one, options); }));
    }
    return absl::OkStatus();
  }

  absl::Status Barrier() override {
    return Run("barrier", [&] { return group_->barrier(); });
  }

  absl::Status Finalize() override {
    if (!failure_.ok()) return absl::OkStatus();
    return Barrier();
  }

  absl::Status health() const override { return failure_; }

 private:
  // Runs one collective and waits for it. After the first failure every
  // later call returns that failure at once: a Gloo group whose peer died
  // cannot be used again.
  template <typename F>
  absl::Status Run(const char* op, F&& start) {
    if (!failure_.ok()) return failure_;
    try {
      c10::intrusive_ptr<c10d::Work> work = start();
      work->wait();
      return absl::OkStatus();
    } catch (const std::exception& e) {
      failure_ = Diagnose(op, e.what());
      LOG(ERROR) << failure_.message();
      return failure_;
    }
  }

  // All ranks agree on the shape before an all-gather: mismatched shapes
  // would otherwise corrupt memory or hang inside Gloo.
  absl::Status CheckSameShape(const at::Tensor& input) {
    constexpr int kMaxDims = 8;
    if (input.dim() > kMaxDims) {
      return absl::InvalidArgumentError(
          absl::StrCat("all_gather: more than ", kMaxDims, " dims"));
    }
    at::Tensor shape = at::full({kMaxDims + 1}, -1, at::kLong);
    shape[0] = input.dim();
    for (int64_t d = 0; d < input.dim(); ++d) shape[d + 1] = input.size(d);
    at::Tensor mine = shape.clone();
    std::vector<at::Tensor> inputs = {shape};
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < env_.world_size; ++r)
      outputs[0].push_back(at::empty_like(shape));
    MVL_RETURN_IF_ERROR(Run("all_gather(shape)", [&] {
      return group_->allgather(outputs, inputs);
    }));
    for (int r = 0; r < env_.world_size; ++r) {
      if (!at::equal(outputs[0][r], mine)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "all_gather: rank ", env_.rank, " has shape ", ShapeString(mine),
            " but rank ", r, " has ", ShapeString(outputs[0][r]),
            "; every rank must pass the same shape (drop the "
            "last incomplete batch)"));
      }
    }
    return absl::OkStatus();
  }

  static std::string ShapeString(const at::Tensor& encoded) {
    std::vector<int64_t> dims;
    const int64_t n = encoded[0].item<int64_t>();
    for (int64_t d = 0; d < n; ++d)
      dims.push_back(encoded[d + 1].item<int64_t>());
    return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
  }

  // Builds the error for a failed collective. Every surviving rank marks
  // itself alive in the rendezvous store and waits a short while for the
  // others; ranks that never check in are named as dead or hung. If the store
  // itself is gone, rank 0 (which hosts it) is the one that died.
  absl::Status Diagnose(const char* op, absl::string_view what) {
    const std::string head =
        absl::StrCat("rank ", env_.rank, " of ", env_.world_size,
                     ": collective '", op, "' failed (", FirstLine(what), ")");
    const bool timed_out = absl::StrContains(what, "Timed out") ||
                           absl::StrContains(what, "timed out") ||
                           absl::StrContains(what, "Timeout");
    const auto code = timed_out ? absl::StatusCode::kDeadlineExceeded
                                : absl::StatusCode::kUnavailable;
    std::vector<int> silent;
    try {
      store_->set(absl::StrCat("mammovl/alive/", env_.rank),
                  std::vector<uint8_t>{1});
      std::map<int, bool> seen;
      for (int r = 0; r < env_.world_size; ++r) seen[r] = (r == env_.rank);
      const auto deadline =
          std::chrono::steady_clock::now() + ToMillis(config_.peer_probe_s());
      while (true) {
        bool all = true;
        for (auto& [r, ok] : seen) {
          if (!ok) ok = store_->check({absl::StrCat("mammovl/alive/", r)});
          all = all && ok;
        }
        if (all || std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(Millis(100));
      }
      for (const auto& [r, ok] : seen) {
        if (!ok) silent.push_back(r);
      }
    } catch (const std::exception& e) {
      return absl::Status(
          absl::StatusCode::kUnavailable,
          absl::StrCat(head, "; rank 0, which hosts the rendezvous store at ",
                       env_.master_addr, ":", env_.master_port,
                       ", is unreachable: it exited or crashed (store error: ",
                       FirstLine(e.what()), ")"));
    }
    if (silent.empty()) {
      return absl::Status(
          code,
          absl::StrCat(
              head, "; every rank is still alive, so a peer hit an error or ",
              "the operation timed out (timeout_s=", config_.timeout_s(), ")"));
    }
    return absl::Status(
        code,
        absl::StrCat(head, "; peer rank", silent.size() > 1 ? "s " : " ",
                     absl::StrJoin(silent, ", "), " did not check in within ",
                     config_.peer_probe_s(), "s: exited, crashed or hung"));
  }

  const DistributedConfig config_;
  const DistributedEnv env_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  absl::Status failure_;
};

absl::StatusOr<std::unique_ptr<Communicator>> CreateGloo(
    const DistributedConfig& config, const DistributedEnv& env) {
  const std::string where =
      absl::StrCat("rank ", env.rank, " of ", env.world_size,
                   ": rendezvous at ", env.master_addr, ":", env.master_port);
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = env.world_size;
    store_options.waitWorkers = true;
    store_options.timeout = ToMillis(config.timeout_s());
    store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);

    auto options =
        c10d::ProcessGroupGloo::Options::create(ToMillis(config.timeout_s()));
    // On one host (loopback rendezvous) the ranks talk over loopback only;
    // otherwise GLOO_SOCKET_IFNAME picks the interface, as in PyTorch.
    if (const char* ifname = GetEnv("GLOO_SOCKET_IFNAME")) {
      options->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else if (IsLoopback(env.master_addr)) {
      options->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    options->threads = 2;
    group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        store, env.rank, env.world_size, options);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    const bool timed_out = absl::StrContains(what, "imed out") ||
                           absl::StrContains(what, "imeout");
    return absl::Status(
        timed_out ? absl::StatusCode::kDeadlineExceeded
                  : absl::StatusCode::kUnavailable,
        absl::StrCat(where, " failed after at most ", config.timeout_s(),
                     "s: ", FirstLine(what)));
  }
  LOG_IF(INFO, env.rank == 0)
      << "distributed: gloo, " << env.world_size << " processes, rendezvous "
      << env.master_addr << ":" << env.master_port;
  return std::unique_ptr<Communicator>(
      new GlooCommunicator(config, env, std::move(store), std::move(group)));
}

// Differentiable all-gather (see AllGatherWithGrad).
class AllGatherFunction : public torch::autograd::Function<AllGatherFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx,
                            const at::Tensor& x, Communicator* comm) {
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(comm);
    ctx->saved_data["rows"] = x.dim() == 0 ? int64_t{1} : x.size(0);
    absl::StatusOr<at::Tensor> gathered = comm->AllGather(x);
    TORCH_CHECK(gathered.ok(), std::string(gathered.status().message()));
    return *std::move(gathered);
  }

  static torch::autograd::variable_list backward(
      torch::autograd::AutogradContext* ctx,
      torch::autograd::variable_list grads) {
    auto* comm =
        reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    const int64_t rows = ctx->saved_data["rows"].toInt();
    std::vector<at::Tensor> summed = {grads[0].contiguous().clone()};
    const absl::Status status = comm->AllReduceSum(summed);
    TORCH_CHECK(status.ok(), std::string(status.message()));
    return {summed[0].narrow(0, comm->rank() * rows, rows), at::Tensor()};
  }
};

// Indices of `tensors` grouped into buckets of one dtype and at most
// `bucket_bytes` each (a tensor larger than that gets its own bucket).
std::vector<std::vector<size_t>> MakeBuckets(
    const std::vector<at::Tensor>& tensors, int64_t bucket_bytes) {
  std::vector<std::vector<size_t>> buckets;
  std::map<at::ScalarType, std::pair<size_t, int64_t>>
      open;  // dtype -> (bucket, bytes)
  for (size_t i = 0; i < tensors.size(); ++i) {
    const at::ScalarType dtype = tensors[i].scalar_type();
    const int64_t bytes =
        tensors[i].numel() * static_cast<int64_t>(tensors[i].element_size());
    auto it = open.find(dtype);
    if (it == open.end() || it->second.second + bytes > bucket_bytes) {
      buckets.emplace_back();
      it = open.insert_or_assign(dtype,
                                 std::make_pair(buckets.size() - 1, int64_t{0}))
               .first;
    }
    buckets[it->second.first].push_back(i);
    it->second.second += bytes;
  }
  return buckets;
}

}  // namespace

absl::StatusOr<DistributedEnv> DistributedEnvFromEnvironment() {
  DistributedEnv env;
  const char* rank = GetEnv("RANK");
  const char* world = GetEnv("WORLD_SIZE");
  if (world == nullptr) {
    if (rank != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "environment variable RANK=", rank, " is set but WORLD_SIZE is not"));
    }
    return env;
  }
  MVL_ASSIGN_OR_RETURN(env.world_size,
                       ParseIntVar("WORLD_SIZE", world, 1, 1 << 20));
  if (rank == nullptr) {
    if (env.world_size > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("WORLD_SIZE=", env.world_size,
                       " but environment variable RANK is not set"));
    }
    return env;
  }
  MVL_ASSIGN_OR_RETURN(env.rank,
                       ParseIntVar("RANK", rank, 0, env.world_size - 1));
  if (const char* local = GetEnv("LOCAL_RANK")) {
    MVL_ASSIGN_OR_RETURN(env.local_rank,
                         ParseIntVar("LOCAL_RANK", local, 0, 1 << 20));
  } else {
    env.local_rank = env.rank;
  }
  if (env.world_size == 1) return env;
  const char* addr = GetEnv("MASTER_ADDR");
  if (addr == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("WORLD_SIZE=", env.world_size,
                     " but environment variable MASTER_ADDR is not set"));
  }
  env.master_addr = addr;
  const char* port = GetEnv("MASTER_PORT");
  if (port == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("WORLD_SIZE=", env.world_size,
                     " but environment variable MASTER_PORT is not set"));
  }
  MVL_ASSIGN_OR_RETURN(env.master_port,
                       ParseIntVar("MASTER_PORT", port, 1, 65535));
  return env;
}

absl::Status ValidateDistributedConfig(const DistributedConfig& config) {
  if (config.backend() == DistributedConfig::BACKEND_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "distributed.backend must be GLOO or NCCL");
  }
  if (!(config.timeout_s() > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "distributed.timeout_s must be > 0 (got ", config.timeout_s(), ")"));
  }
  if (!(config.bucket_mb() > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "distributed.bucket_mb must be > 0 (got ", config.bucket_mb(), ")"));
  }
  if (!(config.peer_probe_s() >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("distributed.peer_probe_s must be >= 0 (got ",
                     config.peer_probe_s(), ")"));
  }
  return absl::OkStatus();
}

std::unique_ptr<Communicator> CreateLocalCommunicator() {
  return std::make_unique<LocalCommunicator>();
}

absl::StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(
    const DistributedConfig& config, const DistributedEnv& env) {
  MVL_RETURN_IF_ERROR(ValidateDistributedConfig(config));
  if (env.world_size <= 1) return CreateLocalCommunicator();
  switch (config.backend()) {
    case DistributedConfig::GLOO:
      return CreateGloo(config, env);
    case DistributedConfig::NCCL:
      return absl::UnimplementedError(
          "distributed.backend NCCL needs a CUDA build of MammoVL; this build "
          "is CPU-only "
          "(use GLOO)");
    default:
      return absl::InvalidArgumentError(
          "distributed.backend must be GLOO or NCCL");
  }
}

absl::Status AllReduceGradients(Communicator& comm,
                                const std::vector<at::Tensor>& params,
                                int64_t bucket_bytes) {
  if (comm.world_size() <= 1 || params.empty()) return absl::OkStatus();
  if (bucket_bytes <= 0)
    return absl::InvalidArgumentError("bucket_bytes must be > 0");
  const double world = comm.world_size();
  return core::RunTorch("all-reducing gradients", [&]() -> absl::Status {
    // Which parameters have a gradient on some rank.
    at::Tensor used =
        at::zeros({static_cast<int64_t>(params.size())}, at::kFloat);
    auto used_acc = used.accessor<float, 1>();
    for (size_t i = 0; i < params.size(); ++i)
      used_acc[i] = params[i].grad().defined() ? 1 : 0;
    std::vector<at::Tensor> flags = {used};
    MVL_RETURN_IF_ERROR(comm.AllReduceSum(flags));
    used_acc = used.accessor<float, 1>();

    for (const std::vector<size_t>& bucket :
         MakeBuckets(params, bucket_bytes)) {
      int64_t total = 0;
      for (size_t i : bucket) total += params[i].numel();
      at::Tensor flat =
          at::empty({total}, params[bucket[0]].options().requires_grad(false));
      int64_t offset = 0;
      for (size_t i : bucket) {
        const int64_t n = params[i].numel();
        at::Tensor slot = flat.narrow(0, offset, n);
        const at::Tensor& grad = params[i].grad();
        if (grad.defined()) {
          slot.copy_(grad.reshape(-1));
        } else {
          slot.zero_();
        }
        offset += n;
      }
      std::vector<at::Tensor> one = {flat};
      MVL_RETURN_IF_ERROR(comm.AllReduceSum(one));
      flat.div_(world);
      offset = 0;
      for (size_t i : bucket) {
        const int64_t n = params[i].numel();
        if (used_acc[i] > 0) {
          at::Tensor param = params[i];
          if (!param.grad().defined())
            param.mutable_grad() = at::zeros_like(param);
          param.mutable_grad().copy_(flat.narrow(0, offset, n).view_as(param));
        }
        offset += n;
      }
    }
    return absl::OkStatus();
  });
}

absl::Status BroadcastParameters(Communicator& comm,
                                 const std::vector<at::Tensor>& tensors) {
  if (comm.world_size() <= 1 || tensors.empty()) return absl::OkStatus();
  return core::RunTorch(
      "broadcasting parameters from rank 0", [&]() -> absl::Status {
        at::NoGradGuard no_grad;
        for (const std::vector<size_t>& bucket :
             MakeBuckets(tensors, int64_t{64} << 20)) {
          std::vector<at::Tensor> parts;
          for (size_t i : bucket)
            parts.push_back(tensors[i].detach().reshape(-1));
          std::vector<at::Tensor> flat = {at::cat(parts)};
          MVL_RETURN_IF_ERROR(comm.Broadcast(flat, /*root=*/0));
          int64_t offset = 0;
          for (size_t i : bucket) {
            at::Tensor target = tensors[i].detach();
            const int64_t n = target.numel();
            target.copy_(flat[0].narrow(0, offset, n).view_as(target));
            offset += n;
          }
        }
        return absl::OkStatus();
      });
}

at::Tensor AllGatherWithGrad(Communicator& comm, const at::Tensor& x) {
  if (comm.world_size() <= 1) return x;
  return AllGatherFunction::apply(x, &comm);
}

void LogInfoOnlyOnMainRank(const Communicator& comm) {
  if (!comm.is_main())
    FLAGS_minloglevel = std::max(FLAGS_minloglevel, google::GLOG_WARNING);
}

absl::Status RunOnMainRank(Communicator& comm,
                           const std::function<absl::Status()>& fn) {
  absl::Status status = comm.is_main() ? fn() : absl::OkStatus();
  if (comm.world_size() <= 1) return status;
  return core::RunTorch("sharing rank 0's result", [&]() -> absl::Status {
    std::vector<at::Tensor> code = {
        at::full({1}, static_cast<int64_t>(status.code()), at::kLong)};
    MVL_RETURN_IF_ERROR(comm.Broadcast(code, /*root=*/0));
    if (comm.is_main()) return status;
    const auto main_code =
        static_cast<absl::StatusCode>(code[0].item<int64_t>());
    if (main_code == absl::StatusCode::kOk) return absl::OkStatus();
    return absl::Status(
        main_code,
        absl::StrCat("rank ", comm.rank(),
                     ": the operation failed on rank 0 (see its log)"));
  });
}

}  // namespace mammovl::train
