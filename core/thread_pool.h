// A fixed-size pool of worker threads for CPU work (decoding, resizing,
// augmentation), and `ParallelFor` over an index range. No LibTorch.
#ifndef MAMMOVL_CORE_THREAD_POOL_H_
#define MAMMOVL_CORE_THREAD_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mammovl::core {

// Runs scheduled tasks on `num_threads` workers in FIFO order. Thread-safe.
// The destructor finishes every scheduled task, then joins the workers.
class ThreadPool {
 public:
  // `num_threads` <= 0 means one per hardware thread.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`. Tasks must not throw.
  void Schedule(std::function<void()> task);

  // Blocks until every task scheduled so far has finished.
  void Wait();

  int num_threads() const { return static_cast<int>(workers_.size()); }

  // Returns the number of hardware threads (at least 1).
  static int HardwareThreads();

 private:
  void WorkerLoop();

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> queue_;
  int64_t active_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// Calls `fn(i)` for every i in [0, n) on the pool's threads, in chunks, and
// returns when all calls have finished. With `pool == nullptr` runs inline.
void ParallelFor(ThreadPool* pool, int64_t n, const std::function<void(int64_t)>& fn);

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_THREAD_POOL_H_
