// NumPy `.npy` files (format versions 1.0–3.0): read and write arrays of any
// fixed-size dtype, C or Fortran order. Used for embeddings, cached features
// and golden tensors from Python. No LibTorch (core/npy_tensor.h converts to tensors).
#ifndef MAMMOVL_CORE_NPY_H_
#define MAMMOVL_CORE_NPY_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::core {

struct NpyArray {
  // NumPy type string with byte order, e.g. "<f4", "<i8", "|u1", "|b1".
  std::string descr;
  std::vector<int64_t> shape;
  bool fortran_order = false;
  // Raw element bytes, exactly NumElements() * ItemSize() of them.
  std::string data;

  int64_t NumElements() const;
  // Bytes per element, from `descr` (0 if `descr` is malformed).
  int ItemSize() const;
};

// Returns the `descr` NumPy uses for a C++ element type (little-endian).
template <typename T>
constexpr const char* NpyDescr();
template <> constexpr const char* NpyDescr<float>() { return "<f4"; }
template <> constexpr const char* NpyDescr<double>() { return "<f8"; }
template <> constexpr const char* NpyDescr<int64_t>() { return "<i8"; }
template <> constexpr const char* NpyDescr<int32_t>() { return "<i4"; }
template <> constexpr const char* NpyDescr<int16_t>() { return "<i2"; }
template <> constexpr const char* NpyDescr<int8_t>() { return "|i1"; }
template <> constexpr const char* NpyDescr<uint8_t>() { return "|u1"; }
template <> constexpr const char* NpyDescr<uint16_t>() { return "<u2"; }
template <> constexpr const char* NpyDescr<bool>() { return "|b1"; }

// Builds a C-order array from `values` with the given shape. The caller makes
// sure the shape's product equals values.size().
template <typename T>
NpyArray MakeNpyArray(const std::vector<T>& values, std::vector<int64_t> shape) {
  NpyArray array;
  array.descr = NpyDescr<T>();
  array.shape = std::move(shape);
  array.data.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(array.data.data(), values.data(), array.data.size());
  return array;
}

// Copies the elements out as `T`. InvalidArgument if `descr` is not T's
// little-endian descr.
template <typename T>
absl::StatusOr<std::vector<T>> NpyValues(const NpyArray& array) {
  if (array.descr != NpyDescr<T>()) {
    return absl::InvalidArgumentError("npy dtype is " + array.descr + ", expected " +
                                      NpyDescr<T>());
  }
  std::vector<T> values(array.data.size() / sizeof(T));
  if constexpr (std::is_same_v<T, bool>) {  // std::vector<bool> is bit-packed
    for (size_t i = 0; i < values.size(); ++i) values[i] = array.data[i] != 0;
  } else if (!values.empty()) {
    std::memcpy(values.data(), array.data.data(), array.data.size());
  }
  return values;
}

// Parses a `.npy` byte string; `name` is used in error messages.
absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes, absl::string_view name);
// Reads a `.npy` file. Errors name the file and the problem.
absl::StatusOr<NpyArray> ReadNpy(absl::string_view path);
// Serialises to `.npy` bytes (version 1.0, or 2.0 if the header needs it).
absl::StatusOr<std::string> SerializeNpy(const NpyArray& array);
// Writes a `.npy` file atomically.
absl::Status WriteNpy(absl::string_view path, const NpyArray& array);

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_NPY_H_
