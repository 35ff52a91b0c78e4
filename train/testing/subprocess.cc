#include "train/testing/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/file_io.h"

extern char** environ;

namespace mammovl::train::testing {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<Child> Child::Start(
    const std::vector<std::string>& argv,
    const std::map<std::string, std::string>& env,
    const std::string& log_path) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  // Everything the child needs is prepared before fork().
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr)
      merged[std::string(*e, static_cast<size_t>(eq - *e))] = eq + 1;
  }
  for (const auto& [key, value] : env) merged[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : merged)
    env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (std::string& s : args) argp.push_back(s.data());
  argp.push_back(nullptr);

  const int fd =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return absl::InternalError(absl::StrCat("cannot open ", log_path));
  const double start = NowSeconds();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execve(argp[0], argp.data(), envp.data());
    _exit(127);
  }
  ::close(fd);
  return Child(pid, log_path, start);
}

Child::Child(Child&& other) noexcept
    : pid_(other.pid_),
      log_path_(std::move(other.log_path_)),
      start_s_(other.start_s_),
      reaped_(other.reaped_),
      wait_status_(other.wait_status_) {
  other.pid_ = -1;
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    Kill();
    ::waitpid(pid_, nullptr, 0);
  }
}

bool Child::Poll() {
  if (reaped_) return true;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    wait_status_ = status;
  }
  return reaped_;
}

void Child::Kill() {
  if (pid_ > 0 && !reaped_) ::kill(pid_, SIGKILL);
}

ChildResult Child::Wait(double timeout_s) {
  const double deadline = NowSeconds() + timeout_s;
  while (!Poll()) {
    if (NowSeconds() >= deadline) {
      Kill();
      int status = 0;
      ::waitpid(pid_, &status, 0);
      reaped_ = true;
      wait_status_ = status;
      return Finish(status, /*timed_out=*/true);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Finish(wait_status_, /*timed_out=*/false);
}

ChildResult Child::Finish(int wait_status, bool timed_out) {
  ChildResult result;
  result.timed_out = timed_out;
  result.seconds = NowSeconds() - start_s_;
  result.exited = WIFEXITED(wait_status);
  if (result.exited) result.exit_code = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) result.signal = WTERMSIG(wait_status);
  result.output = core::ReadFileToString(log_path_).value_or("");
  return result;
}

absl::StatusOr<int> PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return absl::InternalError("bind/getsockname failed");
  }
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

absl::StatusOr<std::map<std::string, std::string>> ParseWorkerFlags(
    int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos || eq == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected --name=value, got '", arg, "'"));
    }
    flags[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
  return flags;
}

absl::StatusOr<double> WorkerFlagNumber(
    const std::map<std::string, std::string>& flags, const std::string& name,
    double fallback) {
  auto it = flags.find(name);
  if (it == flags.end()) return fallback;
  double value = 0;
  if (!absl::SimpleAtod(it->second, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, "=", it->second, " is not a number"));
  }
  return value;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

}  // namespace mammovl::train::testing
