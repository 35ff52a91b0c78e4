// Runs a task function over task indices on several workers and returns
// the results as they complete. Two implementations: child processes, where
// a worker that crashes or hangs costs only its current task (reported as
// crashed, the worker is replaced), and threads of the calling process.
// No LibTorch.
#ifndef MAMMOVL_DATA_PREPROCESS_WORKER_POOL_H_
#define MAMMOVL_DATA_PREPROCESS_WORKER_POOL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mammovl::data {

struct TaskResult {
  int64_t index = 0;
  // False when the worker died or timed out before returning.
  bool completed = true;
  std::string payload;  // the task function's return value
  std::string
      crash_reason;  // when !completed, e.g. "worker killed by signal 11 (...)"
};

struct WorkerPoolOptions {
  int num_workers = 1;
  // Child processes (true) or threads (false).
  bool isolate = true;
  // Seconds a task may run before its process is killed; <= 0: no limit.
  // Only enforced for isolated workers.
  double task_timeout_s = 0;
  // Runs once in every worker process after fork (isolated workers only).
  std::function<void()> child_init;
};

class WorkerPool {
 public:
  // The task function. It must not throw; with isolated workers it runs in a
  // child process, so it can only report back through its return value.
  using TaskFn = std::function<std::string(int64_t index)>;

  // Starts the workers. With isolation the calling process must not run
  // other threads (workers are forked).
  static absl::StatusOr<std::unique_ptr<WorkerPool>> Create(
      const WorkerPoolOptions& options, TaskFn fn);
  virtual ~WorkerPool() = default;

  // Number of tasks that may be in flight at once.
  virtual int capacity() const = 0;
  virtual int in_flight() const = 0;
  // Starts `index` on an idle worker. FailedPrecondition when none is idle.
  virtual absl::Status Submit(int64_t index) = 0;
  // Waits up to `timeout_s` for at least one result and returns every result
  // available (empty on timeout or when nothing is in flight).
  virtual absl::StatusOr<std::vector<TaskResult>> Wait(double timeout_s) = 0;
};

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_PREPROCESS_WORKER_POOL_H_
