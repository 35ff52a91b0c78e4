// Test helpers that start MammoVL test binaries as child processes: fork/exec
// with extra environment variables and output captured to files, waiting with
// a deadline (the child is killed when it passes), and a free TCP port on
// the loopback interface. Test-only.
#ifndef MAMMOVL_TRAIN_TESTING_SUBPROCESS_H_
#define MAMMOVL_TRAIN_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mammovl::train::testing {

struct ChildResult {
  bool exited = false;     // exited normally (vs killed by a signal)
  int exit_code = -1;      // valid if `exited`
  int signal = 0;          // valid if !exited
  bool timed_out = false;  // we killed it because the deadline passed
  double seconds = 0;      // wall time from start to exit
  std::string output;      // stdout + stderr
};

class Child {
 public:
  // Starts `argv[0]` with `argv`, the current environment plus `env`
  // (overriding), and stdout+stderr written to `log_path`.
  static absl::StatusOr<Child> Start(
      const std::vector<std::string>& argv,
      const std::map<std::string, std::string>& env,
      const std::string& log_path);

  Child(Child&& other) noexcept;
  Child& operator=(Child&&) = delete;
  ~Child();  // kills the child if still running

  pid_t pid() const { return pid_; }
  // True once the child has exited (non-blocking).
  bool Poll();
  // Waits up to `timeout_s`; then kills it with SIGKILL and reports timed_out.
  ChildResult Wait(double timeout_s);
  // Sends SIGKILL.
  void Kill();

 private:
  Child(pid_t pid, std::string log_path, double start_s)
      : pid_(pid), log_path_(std::move(log_path)), start_s_(start_s) {}
  ChildResult Finish(int wait_status, bool timed_out);

  pid_t pid_ = -1;
  std::string log_path_;
  double start_s_ = 0;
  bool reaped_ = false;
  int wait_status_ = 0;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
absl::StatusOr<int> PickFreePort();

// Flags of a test worker binary: every argument after argv[0] must be
// "--name=value". InvalidArgument naming the first one that is not.
absl::StatusOr<std::map<std::string, std::string>> ParseWorkerFlags(
    int argc, char** argv);

// The number in flag `name`, or `fallback` if absent; InvalidArgument if it
// is not a number.
absl::StatusOr<double> WorkerFlagNumber(
    const std::map<std::string, std::string>& flags, const std::string& name,
    double fallback);

// $TEST_TMPDIR (or /tmp) joined with `name`.
std::string TempPath(const std::string& name);

}  // namespace mammovl::train::testing

#endif  // MAMMOVL_TRAIN_TESTING_SUBPROCESS_H_
