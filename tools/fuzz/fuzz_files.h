// For fuzz targets whose parser reads paths: a private temporary folder per
// process (under TEST_TMPDIR when set) that inputs are written into.
#ifndef MAMMOVL_TOOLS_FUZZ_FUZZ_FILES_H_
#define MAMMOVL_TOOLS_FUZZ_FUZZ_FILES_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace mammovl::fuzz {

// Writes `size` bytes at `data` to `<folder>/<name>` (replacing it) and
// returns the path. Aborts if the file cannot be written: a harness failure,
// not a finding in the parser.
std::string WriteFuzzFile(const std::string& name, const void* data,
                          size_t size);
std::string WriteFuzzFile(const std::string& name, const std::string& content);

// The folder itself (created on first use).
const std::string& FuzzFolder();

}  // namespace mammovl::fuzz

#endif  // MAMMOVL_TOOLS_FUZZ_FUZZ_FILES_H_
