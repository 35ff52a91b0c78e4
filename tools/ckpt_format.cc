#include "tools/ckpt_format.h"

#include <c10/core/ScalarType.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mammovl::tools {

std::string ShapeString(const at::Tensor& tensor) {
  return absl::StrCat("[", absl::StrJoin(tensor.sizes(), ", "), "]");
}

int64_t TensorBytes(const at::Tensor& tensor) {
  return tensor.numel() * static_cast<int64_t>(tensor.element_size());
}

std::string FormatTensorTable(const core::StateDict& state_dict) {
  size_t name_width = 4;
  size_t shape_width = 5;
  for (const auto& [name, tensor] : state_dict) {
    name_width = std::max(name_width, name.size());
    shape_width = std::max(shape_width, ShapeString(tensor).size());
  }
  auto pad = [](std::string s, size_t width) {
    s.resize(std::max(width, s.size()), ' ');
    return s;
  };
  std::string out = absl::StrCat(pad("name", name_width), "  ",
                                 pad("shape", shape_width), "  dtype\n");
  int64_t total = 0;
  for (const auto& [name, tensor] : state_dict) {
    absl::StrAppend(&out, pad(name, name_width), "  ",
                    pad(ShapeString(tensor), shape_width), "  ",
                    core::DtypeName(tensor), "\n");
    total += TensorBytes(tensor);
  }
  absl::StrAppend(&out, "total: ", state_dict.size(), " tensors, ", total,
                  " bytes\n");
  return out;
}

}  // namespace mammovl::tools
