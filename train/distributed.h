// Data-parallel training across processes with LibTorch's c10d.
//
// A process learns its place from torchrun's environment contract (RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), so `torchrun`, Slurm
// (`srun` with those variables exported) and Kubernetes jobs start it
// unchanged. Without those variables the world has one process and nothing
// touches the network.
//
// The collective backend sits behind `Communicator`: Gloo (CPU) today, NCCL
// for CUDA builds later. Every operation returns a Status; when a peer dies or
// hangs past the configured timeout the surviving ranks get an Unavailable /
// DeadlineExceeded error that names the operation and the ranks that stopped
// answering, instead of blocking forever.
//
// Example:
//   MVL_ASSIGN_OR_RETURN(DistributedEnv env, DistributedEnvFromEnvironment());
//   MVL_ASSIGN_OR_RETURN(auto comm, CreateCommunicator(config.distributed(),
//   env)); MVL_RETURN_IF_ERROR(BroadcastParameters(*comm, params));
//   ... loss.backward(); MVL_RETURN_IF_ERROR(AllReduceGradients(*comm, params,
//   bytes)); LOG_IF(INFO, comm->is_main()) << "only once per job";
//   MVL_RETURN_IF_ERROR(comm->Finalize());  // barrier before exit
#ifndef MAMMOVL_TRAIN_DISTRIBUTED_H_
#define MAMMOVL_TRAIN_DISTRIBUTED_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "train/train_config.pb.h"

namespace mammovl::train {

// Where this process sits in the job, as torchrun describes it.
struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  // Rendezvous (c10d TCPStore) address, hosted by rank 0; unused when
  // world_size == 1.
  std::string master_addr;
  int master_port = 0;
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. With none
// of them set (or WORLD_SIZE=1 and no RANK) the result is a world of one.
// Returns InvalidArgument naming the variable if a value is malformed, out of
// range, or if WORLD_SIZE > 1 and a variable needed for the rendezvous is
// missing.
absl::StatusOr<DistributedEnv> DistributedEnvFromEnvironment();

// Collective operations over the processes of one job. All ranks must call the
// same operations in the same order with tensors of the same shapes and
// dtypes. Implementations are not thread-safe.
class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // True on rank 0, the rank that writes logs and checkpoints.
  bool is_main() const { return rank() == 0; }
  // "local", "gloo", ...
  virtual std::string backend_name() const = 0;

  // Sums each tensor element-wise over all ranks, in place. Tensors must be
  // contiguous.
  virtual absl::Status AllReduceSum(std::vector<at::Tensor>& tensors) = 0;
  // Concatenates every rank's `input` along dimension 0, in rank order.
  // Inputs must have the same shape on every rank.
  virtual absl::StatusOr<at::Tensor> AllGather(const at::Tensor& input) = 0;
  // Copies rank `root`'s tensors into the other ranks' tensors, in place.
  virtual absl::Status Broadcast(std::vector<at::Tensor>& tensors,
                                 int root) = 0;
  // Returns once every rank has called it.
  virtual absl::Status Barrier() = 0;
  // A barrier before exit, skipped (with OK) after a failure made the group
  // unusable. Call once, at the end of a successful run.
  virtual absl::Status Finalize() = 0;
  // OK, or the first collective failure (the group is unusable after it).
  // Lets callers recover the precise error when a failure surfaced through
  // a torch exception, e.g. from `AllGatherWithGrad` inside a loss.
  virtual absl::Status health() const = 0;
};

// A world of one process: every collective is a no-op (AllGather returns its
// input). Never fails.
std::unique_ptr<Communicator> CreateLocalCommunicator();

// Returns the communicator for `env`: the local one for a world of one,
// otherwise a process group of the configured backend, after the rendezvous
// with every rank (bounded by `config.timeout_s()`). InvalidArgument for a bad
// config, Unimplemented for NCCL in a CPU build, DeadlineExceeded /
// Unavailable if the rendezvous fails.
absl::StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(
    const DistributedConfig& config, const DistributedEnv& env);

// Checks ranges (timeout, bucket size, probe window) and the backend.
absl::Status ValidateDistributedConfig(const DistributedConfig& config);

// Averages the gradients of `params` over all ranks, in flat buckets of at
// most `bucket_bytes` per dtype (one collective per bucket). Parameters whose
// gradient is undefined contribute zeros; a gradient stays undefined only if
// it was undefined on every rank (as DDP with find_unused_parameters). Every
// rank must pass the same parameter list. No-op in a world of one.
absl::Status AllReduceGradients(Communicator& comm,
                                const std::vector<at::Tensor>& params,
                                int64_t bucket_bytes);

// Copies rank 0's values of `tensors` (parameters and buffers) to all ranks.
absl::Status BroadcastParameters(Communicator& comm,
                                 const std::vector<at::Tensor>& tensors);

// All-gather that is differentiable: the forward pass concatenates every
// rank's `x` along dimension 0; the backward pass sums the incoming gradient
// over ranks and hands each rank the slice that belongs to its own `x` (as
// torch.distributed.nn.functional.all_gather). Use it on embeddings so that
// contrastive negatives span the global batch. Throws c10::Error (with the
// communicator's message) if the collective fails, so call it inside a
// `core::RunTorch` boundary, as the trainer does for its step function.
at::Tensor AllGatherWithGrad(Communicator& comm, const at::Tensor& x);

// Rank-0-only logging for a job's main: on ranks other than 0, glog's INFO
// messages are suppressed (progress lines, milestones appear once per job);
// warnings and errors still come from every rank, so a failing rank can be
// told apart. Libraries themselves use `LOG_IF(INFO, comm.is_main())`.
void LogInfoOnlyOnMainRank(const Communicator& comm);

// Runs `fn` on rank 0 only (writing a checkpoint, a report), then shares its
// outcome: every rank returns the same Status, so a failed write on rank 0
// stops all ranks together.
absl::Status RunOnMainRank(Communicator& comm,
                           const std::function<absl::Status()>& fn);

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_DISTRIBUTED_H_
