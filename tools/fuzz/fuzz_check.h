// MVL_FUZZ_CHECK(condition): an invariant of a fuzz target. When it fails
// the condition and its place are printed and the process aborts, which
// libFuzzer (and the smoke run) report as a finding.
#ifndef MAMMOVL_TOOLS_FUZZ_FUZZ_CHECK_H_
#define MAMMOVL_TOOLS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define MVL_FUZZ_CHECK(condition)                                      \
  do {                                                                 \
    if (!(condition)) {                                                \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, \
                   __LINE__, #condition);                              \
      std::abort();                                                    \
    }                                                                  \
  } while (false)

#endif  // MAMMOVL_TOOLS_FUZZ_FUZZ_CHECK_H_
