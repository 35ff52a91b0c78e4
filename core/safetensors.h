// safetensors files as tensors: `SafetensorsFile` maps a file, validates its
// header (see safetensors_header.h) and loads tensors one at a time;
// `WriteSafetensors` writes a file atomically in the reference layout, so
// that Python's `safetensors` reads it.
#ifndef MAMMOVL_CORE_SAFETENSORS_H_
#define MAMMOVL_CORE_SAFETENSORS_H_

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/file_io.h"
#include "core/safetensors_header.h"

namespace mammovl::core {

// A validated safetensors file, mapped read-only. Movable, not copyable.
class SafetensorsFile {
 public:
  // Maps `path` and validates its header; errors as for
  // `ParseSafetensorsHeader`, plus NotFound if the file does not exist.
  static absl::StatusOr<SafetensorsFile> Open(absl::string_view path);

  SafetensorsFile(SafetensorsFile&&) = default;
  SafetensorsFile& operator=(SafetensorsFile&&) = default;

  // Returns the tensor names in the order of their data in the file.
  std::vector<std::string> names() const;
  // Returns the dtype, shape and offsets of `name`, or nullptr if absent.
  const SafetensorsTensorInfo* info(absl::string_view name) const;
  // Returns the `__metadata__` map (empty if the file has none).
  const std::map<std::string, std::string>& metadata() const {
    return header_.metadata;
  }
  const std::string& path() const { return file_.path(); }

  // Returns a CPU tensor holding a copy of the data of `name`. NotFound
  // naming the file and tensor if absent; DataLoss for a BOOL tensor with
  // bytes other than 0 and 1.
  absl::StatusOr<at::Tensor> Load(absl::string_view name) const;

 private:
  SafetensorsFile(MappedFile file, SafetensorsHeader header);

  MappedFile file_;
  SafetensorsHeader header_;
  absl::flat_hash_map<std::string, size_t> index_;
};

// Writes `tensors` (names must be unique, not "__metadata__"; any device and
// layout of strided tensors) and `metadata` to `path` through
// `AtomicFileWriter`: data contiguous and little-endian, ordered and padded
// as the reference writer does. InvalidArgument naming the tensor for
// undefined tensors, duplicate or reserved names and dtypes other than
// float64/32/16, bfloat16, int64/32/16/8, uint8 and bool; the errors of
// `AtomicFileWriter`.
absl::Status WriteSafetensors(
    absl::string_view path,
    const std::vector<std::pair<std::string, at::Tensor>>& tensors,
    const std::map<std::string, std::string>& metadata = {});

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_SAFETENSORS_H_
