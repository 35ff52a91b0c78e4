// libFuzzer target: a safetensors file of arbitrary bytes: the header parser
// on the bytes, then SafetensorsFile::Open on the file and Load of every
// tensor, whose size must match its header entry.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "core/safetensors.h"
#include "core/safetensors_header.h"
#include "tools/fuzz/fuzz_check.h"
#include "tools/fuzz/fuzz_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mammovl::core;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto header = ParseSafetensorsHeader(bytes, "fuzz.safetensors");
  const std::string path =
      mammovl::fuzz::WriteFuzzFile("fuzz.safetensors", data, size);
  const auto file = SafetensorsFile::Open(path);
  MVL_FUZZ_CHECK(header.ok() == file.ok());
  if (!file.ok()) {
    MVL_FUZZ_CHECK(!file.status().message().empty());
    return 0;
  }
  for (const std::string& name : file->names()) {
    const SafetensorsTensorInfo* info = file->info(name);
    MVL_FUZZ_CHECK(info != nullptr && info->end <= size - header->data_start);
    const auto tensor = file->Load(name);
    if (!tensor.ok()) continue;  // e.g. BOOL bytes other than 0/1
    MVL_FUZZ_CHECK(static_cast<uint64_t>(tensor->numel()) *
                       tensor->element_size() ==
                   info->end - info->begin);
    MVL_FUZZ_CHECK(static_cast<size_t>(tensor->dim()) == info->shape.size());
  }
  return 0;
}
