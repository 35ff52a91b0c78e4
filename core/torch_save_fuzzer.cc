// libFuzzer target: a torch.save file of arbitrary bytes (zip container,
// pickled object tree, tensor records) through ReadTorchSave; every tensor
// it returns must lie inside its storage and be readable.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/pickle.h"
#include "core/torch_save.h"
#include "tools/fuzz/fuzz_check.h"
#include "tools/fuzz/fuzz_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mammovl::fuzz::WriteFuzzFile("fuzz.pt", data, size);
  const auto file = mammovl::core::ReadTorchSave(path);
  if (!file.ok()) {
    MVL_FUZZ_CHECK(!file.status().message().empty());
    return 0;
  }
  MVL_FUZZ_CHECK(file->tensors().size() == file->tensor_paths().size());
  for (const at::Tensor& tensor : file->tensors()) {
    if (!tensor.defined()) continue;
    // Reads every element through its sizes and strides.
    const at::Tensor copy = tensor.contiguous();
    const auto* bytes = static_cast<const volatile uint8_t*>(copy.data_ptr());
    uint8_t x = 0;
    for (size_t i = 0; i < copy.nbytes(); ++i) x ^= bytes[i];
    (void)x;
  }
  MVL_FUZZ_CHECK(!mammovl::core::FormatPickleValue(file->root()).empty());
  return 0;
}
