#include "core/npy_tensor.h"

#include <ATen/ATen.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/torch_status.h"

namespace mammovl::core {
namespace {

struct DtypeEntry {
  const char* descr;
  at::ScalarType type;
};

constexpr DtypeEntry kDtypes[] = {
    {"<f2", at::kHalf}, {"<f4", at::kFloat}, {"<f8", at::kDouble}, {"|i1", at::kChar},
    {"<i2", at::kShort}, {"<i4", at::kInt},  {"<i8", at::kLong},   {"|u1", at::kByte},
    {"|b1", at::kBool},
};

}  // namespace

absl::StatusOr<at::Tensor> NpyToTensor(const NpyArray& array, absl::string_view name) {
  const DtypeEntry* entry = nullptr;
  for (const DtypeEntry& e : kDtypes) {
    if (array.descr == e.descr) entry = &e;
  }
  if (entry == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat(name, ": npy dtype '", array.descr, "' has no tensor equivalent here"));
  }
  return RunTorch(absl::StrCat("reading ", name), [&]() -> absl::StatusOr<at::Tensor> {
    // Fortran order is C order of the reversed shape, transposed back.
    std::vector<int64_t> shape = array.shape;
    if (array.fortran_order) std::reverse(shape.begin(), shape.end());
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(entry->type));
    if (static_cast<size_t>(t.nbytes()) != array.data.size()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": npy data has ", array.data.size(),
                                                     " bytes, tensor needs ", t.nbytes()));
    }
    if (!array.data.empty()) std::memcpy(t.data_ptr(), array.data.data(), array.data.size());
    if (array.fortran_order && t.dim() > 1) {
      std::vector<int64_t> perm(t.dim());
      for (int64_t i = 0; i < t.dim(); ++i) perm[i] = t.dim() - 1 - i;
      t = t.permute(perm).contiguous();
    }
    return t;
  });
}

absl::StatusOr<NpyArray> TensorToNpy(const at::Tensor& tensor) {
  const DtypeEntry* entry = nullptr;
  for (const DtypeEntry& e : kDtypes) {
    if (tensor.scalar_type() == e.type) entry = &e;
  }
  if (entry == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("tensor dtype ", c10::toString(tensor.scalar_type()), " has no npy equivalent"));
  }
  return RunTorch("converting tensor to npy", [&] {
    const at::Tensor c = tensor.detach().to(at::kCPU).contiguous();
    NpyArray array;
    array.descr = entry->descr;
    array.shape.assign(c.sizes().begin(), c.sizes().end());
    array.data.assign(static_cast<const char*>(c.data_ptr()), c.nbytes());
    return array;
  });
}

absl::StatusOr<at::Tensor> ReadNpyTensor(absl::string_view path) {
  MVL_ASSIGN_OR_RETURN(NpyArray array, ReadNpy(path));
  return NpyToTensor(array, path);
}

absl::Status WriteNpyTensor(absl::string_view path, const at::Tensor& tensor) {
  MVL_ASSIGN_OR_RETURN(NpyArray array, TensorToNpy(tensor));
  return WriteNpy(path, array);
}

}  // namespace mammovl::core
