// Reads files written by `torch.save` (the zip format of PyTorch >= 1.6)
// without Python: the pickled object tree, with every tensor rebuilt on the
// CPU from its storage record. Tensors that shared a storage in Python share
// one here (views, transposes, slices), and own their memory: they outlive
// the file. Other Python objects stay opaque `PickleValue`s.
#ifndef MAMMOVL_CORE_TORCH_SAVE_H_
#define MAMMOVL_CORE_TORCH_SAVE_H_

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/pickle.h"

namespace mammovl::core {

// The content of one torch.save file. Movable, not copyable.
class TorchSaveFile {
 public:
  TorchSaveFile(TorchSaveFile&&) = default;
  TorchSaveFile& operator=(TorchSaveFile&&) = default;

  // The saved object. Tensor leaves are kTensor nodes; see `tensor()`.
  const PickleValue& root() const { return tree_.root(); }

  // Returns the tensor of a kTensor node of this file; an undefined tensor
  // for any other value.
  const at::Tensor& tensor(const PickleValue& value) const;

  // All tensors, indexed by `PickleValue::index()` of their nodes.
  const std::vector<at::Tensor>& tensors() const { return tensors_; }

  // Where each tensor was first found in `root()`, as keys joined by '/'
  // (e.g. "model/image_encoder._conv_stem.weight"); same indexing.
  const std::vector<std::string>& tensor_paths() const { return paths_; }

  const std::string& path() const { return path_; }
  // The folder inside the zip that holds data.pkl (e.g. "archive").
  const std::string& archive_name() const { return archive_name_; }

 private:
  friend absl::StatusOr<TorchSaveFile> ReadTorchSave(absl::string_view path);
  TorchSaveFile() = default;

  std::string path_;
  std::string archive_name_;
  PickleTree tree_;
  std::vector<at::Tensor> tensors_;
  std::vector<std::string> paths_;
};

// Reads `path`. Errors name the file: NotFound if it is missing;
// InvalidArgument if it is not a zip archive or has no `<folder>/data.pkl`;
// Unimplemented for the pre-1.6 (non-zip) format, big-endian files and
// storage types other than float64/32/16, bfloat16, int64/32/16/8, uint8 and
// bool; DataLoss for truncated or inconsistent files, including a tensor
// whose size and strides reach past its storage (naming the tensor's key
// path and both sizes); the errors of `ZipArchive` and `Unpickle`.
absl::StatusOr<TorchSaveFile> ReadTorchSave(absl::string_view path);

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_TORCH_SAVE_H_
