#include "core/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <utility>

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mammovl::core {
namespace {

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

ProgressReporter::ProgressReporter(std::string label, int64_t total, ProgressOptions options)
    : label_(std::move(label)), total_(total), options_(std::move(options)) {
  if (!options_.now_s) options_.now_s = SteadySeconds;
  switch (options_.mode) {
    case ProgressOptions::Mode::kTerminal:
      terminal_ = true;
      break;
    case ProgressOptions::Mode::kLog:
      terminal_ = false;
      break;
    case ProgressOptions::Mode::kAuto:
      terminal_ = ::isatty(STDERR_FILENO) == 1;
      break;
  }
  start_s_ = options_.now_s();
  last_emit_s_ = start_s_;
}

ProgressReporter::~ProgressReporter() { Finish(); }

void ProgressReporter::Add(int64_t n) {
  std::string line;
  {
    std::lock_guard<std::mutex> lock(mu_);
    count_ += n;
    const double now = options_.now_s();
    const double interval = terminal_ ? options_.terminal_interval_s : options_.log_interval_s;
    if (finished_ || now - last_emit_s_ < interval) return;
    last_emit_s_ = now;
    line = LineLocked(now);
  }
  Emit(line, /*final=*/false);
}

void ProgressReporter::Finish() {
  std::string line;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    line = LineLocked(options_.now_s());
  }
  Emit(line, /*final=*/true);
}

int64_t ProgressReporter::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

std::string ProgressReporter::Line() const {
  std::lock_guard<std::mutex> lock(mu_);
  return LineLocked(options_.now_s());
}

std::string ProgressReporter::LineLocked(double now) const {
  const double elapsed = std::max(0.0, now - start_s_);
  const double rate = elapsed > 0 ? count_ / elapsed : 0.0;
  std::string line = absl::StrCat(label_, " ", count_);
  if (total_ > 0) {
    absl::StrAppend(&line, "/", total_,
                    absl::StrFormat(" (%.1f%%)", 100.0 * count_ / total_));
  }
  absl::StrAppend(&line, absl::StrFormat(" %.3g %s/s", rate, options_.unit),
                  " elapsed ", FormatDuration(elapsed));
  if (total_ > 0 && count_ < total_ && rate > 0) {
    absl::StrAppend(&line, " ETA ", FormatDuration((total_ - count_) / rate));
  }
  return line;
}

void ProgressReporter::Emit(const std::string& line, bool final) {
  if (options_.sink) {
    options_.sink(line, final);
  } else if (terminal_) {
    // \r returns to the start of the line, \033[K clears what is left of it.
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final ? "\n" : "");
    std::fflush(stderr);
  } else {
    LOG(INFO) << line;
  }
}

}  // namespace mammovl::core
