#include "data/preprocess/worker_pool.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "core/thread_pool.h"
#include "data/dicom/monotonic_clock.h"

namespace mammovl::data {
namespace {

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool ReadAll(int fd, char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Message from a worker: int64 index, uint32 payload size, payload.
constexpr size_t kHeaderSize = sizeof(int64_t) + sizeof(uint32_t);

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return absl::StrCat("worker killed by signal ", sig, " (", strsignal(sig),
                        ")");
  }
  if (WIFEXITED(status))
    return absl::StrCat("worker exited with status ", WEXITSTATUS(status));
  return "worker stopped";
}

class ProcessPool : public WorkerPool {
 public:
  ProcessPool(const WorkerPoolOptions& options, TaskFn fn)
      : options_(options), fn_(std::move(fn)) {}

  ~ProcessPool() override {
    for (Worker& w : workers_) {
      if (w.fd >= 0) ::close(w.fd);  // the child reads EOF and exits
    }
    for (Worker& w : workers_) {
      if (w.pid <= 0) continue;
      if (w.task >= 0)
        ::kill(w.pid, SIGKILL);  // still busy: do not wait for it
      int status = 0;
      while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  absl::Status Start() {
    workers_.resize(options_.num_workers);
    for (size_t i = 0; i < workers_.size(); ++i) {
      absl::Status s = Spawn(i);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  int capacity() const override { return static_cast<int>(workers_.size()); }
  int in_flight() const override {
    int n = 0;
    for (const Worker& w : workers_) n += w.task >= 0;
    return n;
  }

  absl::Status Submit(int64_t index) override {
    for (size_t i = 0; i < workers_.size(); ++i) {
      Worker& w = workers_[i];
      if (w.task >= 0) continue;
      w.task = index;
      w.started = MonotonicSeconds();
      if (!WriteAll(w.fd, reinterpret_cast<const char*>(&index),
                    sizeof(index))) {
        // The worker is gone; the next Wait reports the task as crashed.
        w.dead = true;
      }
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError("no idle worker");
  }

  absl::StatusOr<std::vector<TaskResult>> Wait(double timeout_s) override {
    std::vector<TaskResult> results;
    const double deadline = MonotonicSeconds() + timeout_s;
    while (results.empty() && in_flight() > 0) {
      // Workers whose socket already failed.
      for (size_t i = 0; i < workers_.size(); ++i) {
        if (workers_[i].task >= 0 && workers_[i].dead) Reap(i, "", &results);
      }
      if (!results.empty()) break;
      std::vector<pollfd> fds;
      std::vector<size_t> which;
      double wake = deadline;
      for (size_t i = 0; i < workers_.size(); ++i) {
        const Worker& w = workers_[i];
        if (w.task < 0) continue;
        fds.push_back({w.fd, POLLIN, 0});
        which.push_back(i);
        if (options_.task_timeout_s > 0)
          wake = std::min(wake, w.started + options_.task_timeout_s);
      }
      const double now = MonotonicSeconds();
      const int wait_ms =
          static_cast<int>(std::max(0.0, wake - now) * 1000) + 1;
      const int n = ::poll(fds.data(), fds.size(), wait_ms);
      if (n < 0 && errno != EINTR) {
        return absl::InternalError(
            absl::StrCat("poll failed: ", std::strerror(errno)));
      }
      for (size_t k = 0; n > 0 && k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        const size_t i = which[k];
        Worker& w = workers_[i];
        TaskResult result;
        if ((fds[k].revents & POLLIN) && ReadMessage(w, &result)) {
          w.task = -1;
          results.push_back(std::move(result));
        } else {
          Reap(i, "", &results);
        }
      }
      if (options_.task_timeout_s > 0) {
        for (size_t i = 0; i < workers_.size(); ++i) {
          Worker& w = workers_[i];
          if (w.task >= 0 &&
              MonotonicSeconds() - w.started > options_.task_timeout_s) {
            ::kill(w.pid, SIGKILL);
            Reap(
                i,
                absl::StrCat("timed out after ", options_.task_timeout_s, " s"),
                &results);
          }
        }
      }
      if (MonotonicSeconds() >= deadline) break;
    }
    return results;
  }

 private:
  struct Worker {
    pid_t pid = -1;
    int fd = -1;
    int64_t task = -1;
    double started = 0;
    bool dead = false;
  };

  absl::Status Spawn(size_t slot) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return absl::InternalError(
          absl::StrCat("socketpair failed: ", std::strerror(errno)));
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(sv[0]);
      ::close(sv[1]);
      return absl::ResourceExhaustedError(
          absl::StrCat("fork failed: ", std::strerror(errno)));
    }
    if (pid == 0) {
      ::close(sv[0]);
      for (size_t i = 0; i < workers_.size(); ++i) {
        if (i != slot && workers_[i].fd >= 0) ::close(workers_[i].fd);
      }
      // Die with the parent (e.g. when it is killed), never outlive it.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(0);
      if (options_.child_init) options_.child_init();
      ChildLoop(sv[1]);
      ::_exit(0);
    }
    ::close(sv[1]);
    Worker& w = workers_[slot];
    w.pid = pid;
    w.fd = sv[0];
    w.task = -1;
    w.dead = false;
    return absl::OkStatus();
  }

  void ChildLoop(int fd) {
    while (true) {
      int64_t index = 0;
      if (!ReadAll(fd, reinterpret_cast<char*>(&index), sizeof(index))) return;
      const std::string payload = fn_(index);
      char header[kHeaderSize];
      const uint32_t size = static_cast<uint32_t>(payload.size());
      std::memcpy(header, &index, sizeof(index));
      std::memcpy(header + sizeof(index), &size, sizeof(size));
      if (!WriteAll(fd, header, kHeaderSize) ||
          !WriteAll(fd, payload.data(), payload.size())) {
        return;
      }
    }
  }

  bool ReadMessage(Worker& w, TaskResult* result) {
    char header[kHeaderSize];
    if (!ReadAll(w.fd, header, kHeaderSize)) return false;
    uint32_t size = 0;
    std::memcpy(&result->index, header, sizeof(result->index));
    std::memcpy(&size, header + sizeof(result->index), sizeof(size));
    result->payload.resize(size);
    if (size > 0 && !ReadAll(w.fd, result->payload.data(), size)) return false;
    result->completed = true;
    return result->index == w.task;
  }

  // Collects a dead (or killed) worker, reports its task and starts a new one.
  void Reap(size_t slot, const std::string& reason,
            std::vector<TaskResult>* results) {
    Worker& w = workers_[slot];
    ::close(w.fd);
    w.fd = -1;
    int status = 0;
    while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
    TaskResult r;
    r.index = w.task;
    r.completed = false;
    r.crash_reason = reason.empty() ? DescribeExit(status) : reason;
    results->push_back(std::move(r));
    w.task = -1;
    w.pid = -1;
    if (!Spawn(slot).ok()) w.dead = true;
  }

  WorkerPoolOptions options_;
  TaskFn fn_;
  std::vector<Worker> workers_;
};

class ThreadWorkerPool : public WorkerPool {
 public:
  ThreadWorkerPool(const WorkerPoolOptions& options, TaskFn fn)
      : fn_(std::move(fn)),
        capacity_(options.num_workers),
        pool_(options.num_workers) {}
  ~ThreadWorkerPool() override { pool_.Wait(); }

  int capacity() const override { return capacity_; }
  int in_flight() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return in_flight_;
  }

  absl::Status Submit(int64_t index) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (in_flight_ >= capacity_)
        return absl::FailedPreconditionError("no idle worker");
      ++in_flight_;
    }
    pool_.Schedule([this, index] {
      TaskResult r;
      r.index = index;
      r.payload = fn_(index);
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(std::move(r));
      cv_.notify_all();
    });
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<TaskResult>> Wait(double timeout_s) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::duration<double>(timeout_s),
                 [this] { return !done_.empty() || in_flight_ == 0; });
    std::vector<TaskResult> results(std::make_move_iterator(done_.begin()),
                                    std::make_move_iterator(done_.end()));
    in_flight_ -= static_cast<int>(done_.size());
    done_.clear();
    return results;
  }

 private:
  TaskFn fn_;
  const int capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<TaskResult> done_;
  int in_flight_ = 0;
  core::ThreadPool pool_;  // last: its destructor joins before the rest goes
};

}  // namespace

absl::StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::Create(
    const WorkerPoolOptions& options, TaskFn fn) {
  if (options.num_workers < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "num_workers must be >= 1 (got ", options.num_workers, ")"));
  }
  if (!options.isolate)
    return std::unique_ptr<WorkerPool>(
        new ThreadWorkerPool(options, std::move(fn)));
  auto pool = std::make_unique<ProcessPool>(options, std::move(fn));
  absl::Status s = pool->Start();
  if (!s.ok()) return s;
  return std::unique_ptr<WorkerPool>(std::move(pool));
}

}  // namespace mammovl::data
