// The header of the safetensors format (8-byte little-endian length, JSON
// table of tensors, then one byte buffer): parsing with full validation of
// dtypes, shapes and data offsets, and serialisation byte-compatible with the
// reference `safetensors` writer. No LibTorch; see safetensors.h for tensors.
#ifndef MAMMOVL_CORE_SAFETENSORS_HEADER_H_
#define MAMMOVL_CORE_SAFETENSORS_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace mammovl::core {

// The element types MammoVL reads and writes.
enum class SafetensorsDtype {
  kF64,
  kF32,
  kF16,
  kBF16,
  kI64,
  kI32,
  kI16,
  kI8,
  kU8,
  kBool
};

// Returns the header name ("F32", "BOOL", ...).
absl::string_view SafetensorsDtypeName(SafetensorsDtype dtype);
// Returns the size of one element in bytes.
size_t SafetensorsDtypeSize(SafetensorsDtype dtype);
// Returns the dtype called `name`, or nullopt.
absl::optional<SafetensorsDtype> ParseSafetensorsDtype(absl::string_view name);

struct SafetensorsTensorInfo {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::kF32;
  std::vector<int64_t> shape;
  // Byte range [begin, end) within the data buffer.
  uint64_t begin = 0;
  uint64_t end = 0;
};

struct SafetensorsHeader {
  // Ordered by data offset.
  std::vector<SafetensorsTensorInfo> tensors;
  std::map<std::string, std::string> metadata;
  // Position of the data buffer in the file (8 + header length).
  uint64_t data_start = 0;
};

// Parses and validates the header of the complete file contents `file`
// (`path` names it in errors). Errors name the file and, where there is one,
// the tensor: InvalidArgument if the file is too short or its header length
// or first header byte cannot be those of a safetensors file; DataLoss if the
// header runs past the end of the file, is not a JSON object of well-formed
// entries, or the data offsets are out of range, overlap, leave gaps, do not
// start at 0, do not end at the end of the file, or disagree with
// shape x dtype; Unimplemented for dtypes other than those above.
absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(
    absl::string_view file, absl::string_view path);

// Orders `tensors` as the reference writer does (by dtype, widest first in
// its fixed order I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL, then by
// name) and assigns contiguous data offsets from their shapes. Returns the
// size of the data buffer. InvalidArgument if sizes overflow.
absl::StatusOr<uint64_t> LayOutSafetensors(
    std::vector<SafetensorsTensorInfo>* tensors);

// Returns the 8-byte length followed by the compact JSON header (metadata
// first if not empty, then the tensors in the given order), padded with
// spaces to a multiple of 8 bytes.
std::string SerializeSafetensorsHeader(
    const std::vector<SafetensorsTensorInfo>& tensors,
    const std::map<std::string, std::string>& metadata);

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_SAFETENSORS_HEADER_H_
