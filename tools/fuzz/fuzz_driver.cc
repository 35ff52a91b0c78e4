// main() of every *_fuzzer target (see tools/fuzz/README.md).
//
//   <fuzzer> --smoke=N [--dict=FILE] [--max_len=BYTES] PATH...
//       Smoke run: every file under PATH (files or folders, recursively) once,
//       then N deterministic mutations of them (bit flips, byte values,
//       truncation, chunk copy/erase/insert, splicing two seeds, dictionary
//       words). The same inputs on every machine and build.
//   <fuzzer> PATH...   (gcc build)
//       Runs each file once: reproduces a finding without libFuzzer.
//   <fuzzer> [libFuzzer flags] [CORPUS_DIR...]   (--config=fuzz, no --smoke)
//       libFuzzer's own driver (LLVMFuzzerRunDriver).
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "tools/fuzz/fuzz_dictionary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv)
    __attribute__((weak));
#ifdef MAMMOVL_LIBFUZZER
extern "C" int LLVMFuzzerRunDriver(int* argc, char*** argv,
                                   int (*callback)(const uint8_t* data,
                                                   size_t size));
#endif

namespace mammovl::fuzz {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in),
              std::istreambuf_iterator<char>());
  return true;
}

// Appends the regular files under `path` (itself if a file), sorted.
bool ListFiles(const std::string& path, std::vector<std::string>* files) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return false;
  if (!S_ISDIR(st.st_mode)) {
    files->push_back(path);
    return true;
  }
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return false;
  std::vector<std::string> entries;
  while (dirent* e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") entries.push_back(path + "/" + name);
  }
  closedir(dir);
  std::sort(entries.begin(), entries.end());
  for (const std::string& entry : entries) {
    if (!ListFiles(entry, files)) return false;
  }
  return true;
}

void Run(const std::string& input) {
  // A copy in its own allocation, so that reads past the end are caught.
  std::vector<uint8_t> copy(input.begin(), input.end());
  LLVMFuzzerTestOneInput(copy.empty() ? nullptr : copy.data(), copy.size());
}

class Mutator {
 public:
  Mutator(const std::vector<std::string>* seeds,
          const std::vector<std::string>* words, size_t max_len)
      : seeds_(seeds),
        words_(words),
        max_len_(max_len),
        rng_(0x6d616d6d6f766cULL) {}

  std::string Next() {
    std::string s = (*seeds_)[Below(seeds_->size())];
    const int steps = 1 + static_cast<int>(Below(4));
    for (int i = 0; i < steps; ++i) Mutate(&s);
    if (s.size() > max_len_) s.resize(max_len_);
    return s;
  }

 private:
  size_t Below(size_t n) {
    return n == 0 ? 0 : static_cast<size_t>(rng_() % n);
  }

  void Mutate(std::string* s) {
    static const uint64_t kInteresting[] = {
        0,      1,      0x7f,       0x80,       0xff,       0x7fff,
        0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, ~uint64_t{0}};
    switch (Below(s->empty() ? 2 : 9)) {
      case 0: {  // insert a dictionary word (or a random byte)
        std::string word = words_->empty()
                               ? std::string(1, static_cast<char>(rng_()))
                               : (*words_)[Below(words_->size())];
        s->insert(Below(s->size() + 1), word);
        break;
      }
      case 1: {  // splice: this input's head, another seed's tail
        const std::string& other = (*seeds_)[Below(seeds_->size())];
        *s = s->substr(0, Below(s->size() + 1)) +
             other.substr(Below(other.size() + 1));
        break;
      }
      case 2:  // flip one bit
        (*s)[Below(s->size())] ^= static_cast<char>(1u << Below(8));
        break;
      case 3:  // random byte
        (*s)[Below(s->size())] = static_cast<char>(rng_());
        break;
      case 4: {  // interesting little- or big-endian integer of 1, 2, 4 or 8
                 // bytes
        const uint64_t v = kInteresting[Below(std::size(kInteresting))];
        const size_t width = size_t{1} << Below(4);
        const bool big = Below(2) == 1;
        const size_t at = Below(s->size());
        for (size_t b = 0; b < width && at + b < s->size(); ++b) {
          const size_t shift = 8 * (big ? width - 1 - b : b);
          (*s)[at + b] =
              static_cast<char>(shift < 64 ? (v >> shift) & 0xff : 0);
        }
        break;
      }
      case 5:  // truncate
        s->resize(Below(s->size()));
        break;
      case 6: {  // erase a chunk
        const size_t at = Below(s->size());
        s->erase(at, 1 + Below(std::min<size_t>(64, s->size() - at)));
        break;
      }
      case 7: {  // duplicate a chunk somewhere else
        const size_t at = Below(s->size());
        const std::string chunk = s->substr(at, 1 + Below(64));
        s->insert(Below(s->size() + 1), chunk);
        break;
      }
      default: {  // overwrite with a dictionary word
        if (words_->empty()) break;
        const std::string& word = (*words_)[Below(words_->size())];
        const size_t at = Below(s->size());
        s->replace(at, std::min(word.size(), s->size() - at), word);
        break;
      }
    }
  }

  const std::vector<std::string>* seeds_;
  const std::vector<std::string>* words_;
  size_t max_len_;
  std::mt19937_64 rng_;
};

int Smoke(long mutations, const std::string& dict_path, size_t max_len,
          const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    if (!ListFiles(path, &files)) {
      std::fprintf(stderr, "fuzz_driver: cannot read '%s'\n", path.c_str());
      return 2;
    }
  }
  std::vector<std::string> seeds;
  for (const std::string& file : files) {
    std::string bytes;
    if (!ReadFile(file, &bytes)) {
      std::fprintf(stderr, "fuzz_driver: cannot read '%s'\n", file.c_str());
      return 2;
    }
    Run(bytes);
    seeds.push_back(bytes.size() > max_len ? bytes.substr(0, max_len) : bytes);
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "fuzz_driver: no seed files under the given paths\n");
    return 2;
  }
  std::vector<std::string> words;
  if (!dict_path.empty()) {
    std::string text;
    if (!ReadFile(dict_path, &text)) {
      std::fprintf(stderr, "fuzz_driver: cannot read dictionary '%s'\n",
                   dict_path.c_str());
      return 2;
    }
    std::string error;
    if (!ParseDictionary(text, &words, &error)) {
      std::fprintf(stderr, "fuzz_driver: %s: %s\n", dict_path.c_str(),
                   error.c_str());
      return 2;
    }
  }
  Mutator mutator(&seeds, &words, max_len);
  for (long i = 0; i < mutations; ++i) Run(mutator.Next());
  std::fprintf(stderr,
               "fuzz_driver: %zu seeds, %zu dictionary words, %ld mutations: "
               "no finding\n",
               seeds.size(), words.size(), mutations);
  return 0;
}

#ifdef MAMMOVL_LIBFUZZER
bool HasSmokeFlag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--smoke=", 8) == 0) return true;
  }
  return false;
}
#endif

int Main(int argc, char** argv) {
#ifdef MAMMOVL_LIBFUZZER
  // libFuzzer calls LLVMFuzzerInitialize itself.
  if (!HasSmokeFlag(argc, argv)) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
  }
#endif
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  long smoke = -1;
  std::string dict;
  size_t max_len = 1 << 20;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--smoke=", 0) == 0) {
      smoke = std::strtol(arg.c_str() + 8, nullptr, 10);
    } else if (arg.rfind("--dict=", 0) == 0) {
      dict = arg.substr(7);
    } else if (arg.rfind("--max_len=", 0) == 0) {
      max_len = std::strtoul(arg.c_str() + 10, nullptr, 10);
    } else if (arg[0] == '-') {
      std::fprintf(stderr,
                   "fuzz_driver: unknown flag '%s' (libFuzzer flags need "
                   "--config=fuzz)\n",
                   arg.c_str());
      return 2;
    } else {
      paths.push_back(arg);
    }
  }
  if (smoke >= 0) return Smoke(smoke, dict, max_len, paths);
  if (paths.empty()) {
    std::fprintf(
        stderr,
        "usage: %s --smoke=N [--dict=FILE] [--max_len=N] PATH... | FILE...\n",
        argv[0]);
    return 2;
  }
  return Smoke(0, dict, max_len, paths);
}

}  // namespace
}  // namespace mammovl::fuzz

int main(int argc, char** argv) { return mammovl::fuzz::Main(argc, argv); }
