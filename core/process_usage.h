// Resource use of the current process, for benchmarks that report CPU time
// next to wall time (CPU seconds move less than wall time when other jobs
// load a shared machine) and peak memory.
#ifndef MAMMOVL_CORE_PROCESS_USAGE_H_
#define MAMMOVL_CORE_PROCESS_USAGE_H_

#include <sys/resource.h>

namespace mammovl::core {

// User + system CPU seconds of the whole process (all threads) so far.
inline double ProcessCpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
         1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Peak resident set size of the process so far, in MiB (Linux reports KiB).
inline double PeakRssMiB() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_PROCESS_USAGE_H_
