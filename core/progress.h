// Progress of long loops: count, rate, elapsed time and ETA. On a terminal it
// keeps one status line refreshed in place; otherwise (logs, CI) it writes a
// line through glog at a fixed interval. No LibTorch.
#ifndef MAMMOVL_CORE_PROGRESS_H_
#define MAMMOVL_CORE_PROGRESS_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace mammovl::core {

struct ProgressOptions {
  // Unit shown in the rate, e.g. "img" gives "12.3 img/s".
  std::string unit = "it";
  // Whether to refresh one line in place; unset means "if stderr is a TTY".
  enum class Mode { kAuto, kTerminal, kLog } mode = Mode::kAuto;
  // Minimum seconds between refreshes (terminal) and between log lines.
  double terminal_interval_s = 0.2;
  double log_interval_s = 30.0;
  // Where lines go; the default writes to stderr (terminal) or glog (log).
  // `final` is true for the line written by `Finish()`.
  std::function<void(const std::string& line, bool final)> sink;
  // Seconds on a monotonic clock; injectable for tests.
  std::function<double()> now_s;
};

// Thread-safe: workers may call `Add` concurrently.
class ProgressReporter {
 public:
  // `total` <= 0 means unknown (no percentage or ETA).
  ProgressReporter(std::string label, int64_t total, ProgressOptions options = {});
  ~ProgressReporter();  // calls Finish() if not called yet

  // Records `n` more finished items and refreshes the output when due.
  void Add(int64_t n = 1);
  // Writes the final line (count, rate, elapsed). Idempotent.
  void Finish();

  int64_t count() const;
  // Returns the current status line, e.g.
  // "preprocess 120/1000 (12.0%) 5.31 img/s elapsed 22s ETA 2m46s".
  std::string Line() const;

 private:
  std::string LineLocked(double now) const;
  void Emit(const std::string& line, bool final);

  const std::string label_;
  const int64_t total_;
  ProgressOptions options_;
  bool terminal_ = false;
  mutable std::mutex mu_;
  int64_t count_ = 0;
  double start_s_ = 0;
  double last_emit_s_ = 0;
  bool finished_ = false;
};

// Formats seconds as "45s", "2m46s", "1h05m".
std::string FormatDuration(double seconds);

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_PROGRESS_H_
