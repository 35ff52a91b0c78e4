#include "tools/fuzz/fuzz_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace mammovl::fuzz {

const std::string& FuzzFolder() {
  static const std::string* folder = [] {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr ? tmp : "/tmp") + "/mammovl_fuzz.XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) {
      std::perror("fuzz_files: mkdtemp");
      std::abort();
    }
    return new std::string(buffer.data());
  }();
  return *folder;
}

std::string WriteFuzzFile(const std::string& name, const void* data,
                          size_t size) {
  const std::string path = FuzzFolder() + "/" + name;
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(("fuzz_files: " + path).c_str());
    std::abort();
  }
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n <= 0) {
      std::perror(("fuzz_files: " + path).c_str());
      std::abort();
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::close(fd);
  return path;
}

std::string WriteFuzzFile(const std::string& name, const std::string& content) {
  return WriteFuzzFile(name, content.data(), content.size());
}

}  // namespace mammovl::fuzz
