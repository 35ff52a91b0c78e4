#include "core/safetensors.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/core/ScalarType.h>

#include <cstring>
#include <exception>
#include <utility>

#include "absl/base/config.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mammovl::core {
namespace {

at::ScalarType ToScalarType(SafetensorsDtype dtype) {
  switch (dtype) {
    case SafetensorsDtype::kF64:
      return at::kDouble;
    case SafetensorsDtype::kF32:
      return at::kFloat;
    case SafetensorsDtype::kF16:
      return at::kHalf;
    case SafetensorsDtype::kBF16:
      return at::kBFloat16;
    case SafetensorsDtype::kI64:
      return at::kLong;
    case SafetensorsDtype::kI32:
      return at::kInt;
    case SafetensorsDtype::kI16:
      return at::kShort;
    case SafetensorsDtype::kI8:
      return at::kChar;
    case SafetensorsDtype::kU8:
      return at::kByte;
    case SafetensorsDtype::kBool:
      return at::kBool;
  }
  return at::kByte;
}

absl::optional<SafetensorsDtype> FromScalarType(at::ScalarType type) {
  switch (type) {
    case at::kDouble:
      return SafetensorsDtype::kF64;
    case at::kFloat:
      return SafetensorsDtype::kF32;
    case at::kHalf:
      return SafetensorsDtype::kF16;
    case at::kBFloat16:
      return SafetensorsDtype::kBF16;
    case at::kLong:
      return SafetensorsDtype::kI64;
    case at::kInt:
      return SafetensorsDtype::kI32;
    case at::kShort:
      return SafetensorsDtype::kI16;
    case at::kChar:
      return SafetensorsDtype::kI8;
    case at::kByte:
      return SafetensorsDtype::kU8;
    case at::kBool:
      return SafetensorsDtype::kBool;
    default:
      return absl::nullopt;
  }
}

#ifdef ABSL_IS_BIG_ENDIAN
absl::Status BigEndianHost(absl::string_view path) {
  return absl::UnimplementedError(absl::StrCat(
      "safetensors file '", path, "': big-endian hosts are not supported"));
}
#endif

}  // namespace

SafetensorsFile::SafetensorsFile(MappedFile file, SafetensorsHeader header)
    : file_(std::move(file)), header_(std::move(header)) {
  for (size_t i = 0; i < header_.tensors.size(); ++i) {
    index_.emplace(header_.tensors[i].name, i);
  }
}

absl::StatusOr<SafetensorsFile> SafetensorsFile::Open(absl::string_view path) {
#ifdef ABSL_IS_BIG_ENDIAN
  return BigEndianHost(path);
#endif
  MVL_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  MVL_ASSIGN_OR_RETURN(SafetensorsHeader header,
                       ParseSafetensorsHeader(file.data(), file.path()));
  return SafetensorsFile(std::move(file), std::move(header));
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  names.reserve(header_.tensors.size());
  for (const SafetensorsTensorInfo& info : header_.tensors) {
    names.push_back(info.name);
  }
  return names;
}

const SafetensorsTensorInfo* SafetensorsFile::info(
    absl::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

absl::StatusOr<at::Tensor> SafetensorsFile::Load(absl::string_view name) const {
  const SafetensorsTensorInfo* t = info(name);
  if (t == nullptr) {
    return absl::NotFoundError(absl::StrCat("safetensors file '", path(),
                                            "' has no tensor '", name, "'"));
  }
  // The header was validated against the file size when it was opened.
  const absl::string_view bytes =
      file_.data().substr(static_cast<size_t>(header_.data_start + t->begin),
                          static_cast<size_t>(t->end - t->begin));
  if (t->dtype == SafetensorsDtype::kBool) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (static_cast<uint8_t>(bytes[i]) > 1) {
        return absl::DataLossError(
            absl::StrCat("safetensors file '", path(), "', tensor '", name,
                         "': BOOL element ", i, " has the value ",
                         static_cast<int>(static_cast<uint8_t>(bytes[i]))));
      }
    }
  }
  try {
    at::Tensor tensor =
        at::empty(t->shape, at::TensorOptions().dtype(ToScalarType(t->dtype)));
    if (!bytes.empty())
      std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
    return tensor;
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("safetensors file '", path(), "', tensor '", name,
                     "': cannot allocate: ", e.what()));
  }
}

absl::Status WriteSafetensors(
    absl::string_view path,
    const std::vector<std::pair<std::string, at::Tensor>>& tensors,
    const std::map<std::string, std::string>& metadata) {
#ifdef ABSL_IS_BIG_ENDIAN
  return BigEndianHost(path);
#endif
  auto error = [&](absl::string_view name, absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write safetensors file '", path, "': tensor '",
                     name, "' ", what));
  };
  std::vector<SafetensorsTensorInfo> infos;
  absl::flat_hash_map<std::string, size_t> input_index;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, tensor] = tensors[i];
    if (name == "__metadata__") return error(name, "has a reserved name");
    if (!input_index.emplace(name, i).second) {
      return error(name, "appears twice");
    }
    if (!tensor.defined()) return error(name, "is undefined");
    if (tensor.layout() != at::kStrided) return error(name, "is not dense");
    const absl::optional<SafetensorsDtype> dtype =
        FromScalarType(tensor.scalar_type());
    if (!dtype.has_value()) {
      return error(
          name, absl::StrCat("has dtype ", c10::toString(tensor.scalar_type()),
                             ", which is not supported"));
    }
    SafetensorsTensorInfo info;
    info.name = name;
    info.dtype = *dtype;
    info.shape.assign(tensor.sizes().begin(), tensor.sizes().end());
    infos.push_back(std::move(info));
  }
  absl::StatusOr<uint64_t> data_size = LayOutSafetensors(&infos);
  if (!data_size.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write safetensors file '", path,
                     "': ", data_size.status().message()));
  }

  MVL_ASSIGN_OR_RETURN(AtomicFileWriter writer, AtomicFileWriter::Open(path));
  MVL_RETURN_IF_ERROR(
      writer.Append(SerializeSafetensorsHeader(infos, metadata)));
  for (const SafetensorsTensorInfo& info : infos) {
    const at::Tensor& tensor = tensors[input_index.at(info.name)].second;
    at::Tensor dense;
    try {
      dense = tensor.detach().cpu().contiguous();
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("cannot write safetensors file '",
                                              path, "': tensor '", info.name,
                                              "': ", e.what()));
    }
    const size_t nbytes = static_cast<size_t>(info.end - info.begin);
    if (nbytes > 0) {
      MVL_RETURN_IF_ERROR(writer.Append(absl::string_view(
          static_cast<const char*>(dense.data_ptr()), nbytes)));
    }
  }
  return writer.Commit();
}

}  // namespace mammovl::core
