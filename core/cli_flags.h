// Command-line helpers shared by the binaries (*_main).
#ifndef MAMMOVL_CORE_CLI_FLAGS_H_
#define MAMMOVL_CORE_CLI_FLAGS_H_

#include <string>
#include <vector>

namespace mammovl::core {

// Returns the values of every `--set=X` / `--set X` in argv, in order
// (gflags keeps only the last value of a repeated flag).
inline std::vector<std::string> SetOverrides(int argc, char** argv) {
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--set=", 0) == 0) {
      overrides.push_back(arg.substr(6));
    } else if (arg == "--set" && i + 1 < argc) {
      overrides.push_back(argv[i + 1]);
    }
  }
  return overrides;
}

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_CLI_FLAGS_H_
