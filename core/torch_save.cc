#include "core/torch_save.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/core/ScalarType.h>

#include <cstring>
#include <exception>
#include <utility>

#include "absl/base/config.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "core/zip_archive.h"

namespace mammovl::core {
namespace {

using Kind = PickleValue::Kind;

constexpr int kMaxDims = 64;

struct StorageClass {
  const char* name;
  at::ScalarType dtype;
};

// The storage classes of `torch` that persistent ids name.
constexpr StorageClass kStorageClasses[] = {
    {"DoubleStorage", at::kDouble}, {"FloatStorage", at::kFloat},
    {"HalfStorage", at::kHalf},     {"BFloat16Storage", at::kBFloat16},
    {"LongStorage", at::kLong},     {"IntStorage", at::kInt},
    {"ShortStorage", at::kShort},   {"CharStorage", at::kChar},
    {"ByteStorage", at::kByte},     {"BoolStorage", at::kBool},
    {"UntypedStorage", at::kByte},
};

struct StorageRecord {
  std::string key;
  at::ScalarType dtype;
  int64_t numel;
  at::Tensor data;  // 1-D, filled once a tensor needs it
};

struct TensorSpec {
  int64_t storage;
  int64_t offset;
  std::vector<int64_t> size;
  std::vector<int64_t> stride;
  bool requires_grad;
};

std::string Join(const std::vector<int64_t>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ", "), "]");
}

// Builds the tensors of one file while its pickle is read.
class Loader {
 public:
  Loader(const ZipArchive& zip, std::string folder)
      : zip_(zip), folder_(std::move(folder)) {}

  absl::StatusOr<PickleValue*> PersistentLoad(const PickleValue& pid,
                                              PickleTree* tree);
  absl::StatusOr<PickleValue*> Reduce(const PickleValue& callable,
                                      const PickleValue& args,
                                      PickleTree* tree);
  absl::StatusOr<std::vector<at::Tensor>> BuildTensors(
      const std::vector<std::string>& paths);
  size_t tensor_count() const { return specs_.size(); }

 private:
  absl::Status Error(absl::StatusCode code, absl::string_view what) const {
    return absl::Status(
        code, absl::StrCat("torch.save file '", zip_.path(), "': ", what));
  }
  absl::StatusOr<PickleValue*> RebuildTensor(const PickleValue& args,
                                             absl::string_view function,
                                             PickleTree* tree);
  absl::Status LoadStorage(StorageRecord* record);

  const ZipArchive& zip_;
  std::string folder_;
  std::vector<StorageRecord> storages_;
  absl::flat_hash_map<std::string, int64_t> storage_index_;
  std::vector<TensorSpec> specs_;
};

absl::StatusOr<PickleValue*> Loader::PersistentLoad(const PickleValue& pid,
                                                    PickleTree* tree) {
  const auto& f = pid.items();
  if (pid.kind() != Kind::kTuple || f.size() != 5 || !f[0]->is_string() ||
      f[0]->string_value() != "storage") {
    return Error(
        absl::StatusCode::kDataLoss,
        absl::StrCat("unexpected persistent id ", FormatPickleValue(pid)));
  }
  if (f[1]->kind() != Kind::kGlobal || !f[2]->is_string() || !f[4]->is_int() ||
      f[4]->int_value() < 0) {
    return Error(
        absl::StatusCode::kDataLoss,
        absl::StrCat("malformed storage reference ", FormatPickleValue(pid)));
  }
  const std::string& cls = f[1]->name();
  const StorageClass* storage_class = nullptr;
  for (const StorageClass& c : kStorageClasses) {
    if (cls == c.name) storage_class = &c;
  }
  if (f[1]->module() != "torch" || storage_class == nullptr) {
    return Error(
        absl::StatusCode::kUnimplemented,
        absl::StrCat("storage '", f[2]->string_value(), "' has type ",
                     f[1]->qualified_name(), ", which is not supported"));
  }
  const std::string& key = f[2]->string_value();
  const int64_t numel = f[4]->int_value();
  const auto [it, inserted] = storage_index_.emplace(key, storages_.size());
  if (inserted) {
    storages_.push_back({key, storage_class->dtype, numel, at::Tensor()});
  } else {
    const StorageRecord& seen = storages_[it->second];
    if (seen.dtype != storage_class->dtype || seen.numel != numel) {
      return Error(
          absl::StatusCode::kDataLoss,
          absl::StrCat("storage '", key,
                       "' is referenced with different types or "
                       "sizes (",
                       c10::toString(seen.dtype), "[", seen.numel, "] and ",
                       c10::toString(storage_class->dtype), "[", numel, "])"));
    }
  }
  return tree->NewStorage(it->second);
}

absl::StatusOr<PickleValue*> Loader::RebuildTensor(const PickleValue& args,
                                                   absl::string_view function,
                                                   PickleTree* tree) {
  const auto& a = args.items();
  auto ints = [](const PickleValue* v, std::vector<int64_t>* out) {
    if (!v->is_sequence() || v->items().size() > kMaxDims) return false;
    for (const PickleValue* d : v->items()) {
      if (!d->is_int()) return false;
      out->push_back(d->int_value());
    }
    return true;
  };
  TensorSpec spec{};
  if (a.size() < 4 || a[0]->kind() != Kind::kStorage || !a[1]->is_int() ||
      !ints(a[2], &spec.size) || !ints(a[3], &spec.stride) ||
      (a.size() > 4 && a[4]->kind() != Kind::kBool)) {
    return Error(absl::StatusCode::kDataLoss,
                 absl::StrCat("malformed arguments to ", function, ": ",
                              FormatPickleValue(args)));
  }
  spec.storage = a[0]->index();
  spec.offset = a[1]->int_value();
  spec.requires_grad = a.size() > 4 && a[4]->bool_value();
  specs_.push_back(std::move(spec));
  return tree->NewTensor(static_cast<int64_t>(specs_.size() - 1));
}

absl::StatusOr<PickleValue*> Loader::Reduce(const PickleValue& callable,
                                            const PickleValue& args,
                                            PickleTree* tree) {
  const std::string name = callable.qualified_name();
  if (name == "torch._utils._rebuild_tensor_v2" ||
      name == "torch._utils._rebuild_tensor") {
    return RebuildTensor(args, name, tree);
  }
  const auto& a = args.items();
  if (name == "torch._utils._rebuild_parameter" ||
      name == "torch._utils._rebuild_parameter_with_state") {
    if (a.size() < 2 || !a[0]->is_tensor() || a[1]->kind() != Kind::kBool) {
      return Error(absl::StatusCode::kDataLoss,
                   absl::StrCat("malformed arguments to ", name, ": ",
                                FormatPickleValue(args)));
    }
    if (static_cast<size_t>(a[0]->index()) < specs_.size()) {
      specs_[a[0]->index()].requires_grad = a[1]->bool_value();
    }
    return tree->NewTensor(a[0]->index());
  }
  // Tensors of subclasses, or with Python attributes:
  // _rebuild_from_type_v2(func, type, func_args, state).
  if (name == "torch._tensor._rebuild_from_type_v2" && a.size() >= 3 &&
      a[0]->kind() == Kind::kGlobal && a[2]->kind() == Kind::kTuple &&
      a[0]->qualified_name() != name) {
    return Reduce(*a[0], *a[2], tree);
  }
  return nullptr;
}

absl::Status Loader::LoadStorage(StorageRecord* record) {
  const std::string name = absl::StrCat(folder_, "/data/", record->key);
  const ZipEntry* entry = zip_.Find(name);
  if (entry == nullptr) {
    return Error(absl::StatusCode::kDataLoss,
                 absl::StrCat("storage record '", name, "' is missing"));
  }
  const uint64_t item = c10::elementSize(record->dtype);
  const uint64_t numel = static_cast<uint64_t>(record->numel);
  if (numel > entry->uncompressed_size / item ||
      numel * item != entry->uncompressed_size) {
    const std::string need = numel > UINT64_MAX / item
                                 ? std::string("more than 2^64")
                                 : absl::StrCat(numel * item);
    return Error(absl::StatusCode::kDataLoss,
                 absl::StrCat("storage record '", name, "' holds ",
                              entry->uncompressed_size, " bytes, but ",
                              record->numel, " elements of ",
                              c10::toString(record->dtype), " need ", need));
  }
  std::string buffer;
  MVL_ASSIGN_OR_RETURN(absl::string_view bytes, zip_.Read(*entry, &buffer));
  if (record->dtype == at::kBool) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (static_cast<uint8_t>(bytes[i]) > 1) {
        return Error(
            absl::StatusCode::kDataLoss,
            absl::StrCat("storage record '", name, "' holds a bool of value ",
                         static_cast<int>(static_cast<uint8_t>(bytes[i])),
                         " at element ", i));
      }
    }
  }
  record->data =
      at::empty({record->numel}, at::TensorOptions().dtype(record->dtype));
  if (!bytes.empty())
    std::memcpy(record->data.data_ptr(), bytes.data(), bytes.size());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<at::Tensor>> Loader::BuildTensors(
    const std::vector<std::string>& paths) {
  std::vector<at::Tensor> tensors;
  tensors.reserve(specs_.size());
  for (size_t i = 0; i < specs_.size(); ++i) {
    const TensorSpec& spec = specs_[i];
    StorageRecord& storage = storages_[spec.storage];
    const std::string what = paths[i].empty()
                                 ? absl::StrCat("tensor #", i)
                                 : absl::StrCat("tensor '", paths[i], "'");
    const std::string layout =
        absl::StrCat("offset ", spec.offset, ", size ", Join(spec.size),
                     ", stride ", Join(spec.stride));
    if (spec.size.size() != spec.stride.size() || spec.offset < 0) {
      return Error(absl::StatusCode::kDataLoss,
                   absl::StrCat(what, " has an invalid layout (", layout, ")"));
    }
    // Elements of storage the tensor reaches: offset + sum((size-1)*stride)
    // + 1, or none if it is empty.
    unsigned __int128 needed = static_cast<uint64_t>(spec.offset);
    bool empty = false;
    for (size_t d = 0; d < spec.size.size(); ++d) {
      if (spec.size[d] < 0 || spec.stride[d] < 0) {
        return Error(absl::StatusCode::kDataLoss,
                     absl::StrCat(what, " has a negative size or stride (",
                                  layout, ")"));
      }
      if (spec.size[d] == 0) empty = true;
    }
    if (!empty) {
      for (size_t d = 0; d < spec.size.size(); ++d) {
        needed += static_cast<unsigned __int128>(spec.size[d] - 1) *
                  static_cast<uint64_t>(spec.stride[d]);
        if (needed > static_cast<uint64_t>(INT64_MAX)) break;
      }
      needed += 1;
    }
    if (needed > static_cast<uint64_t>(storage.numel)) {
      const std::string count =
          needed > static_cast<uint64_t>(INT64_MAX)
              ? std::string("more than 2^63")
              : absl::StrCat(static_cast<uint64_t>(needed));
      return Error(
          absl::StatusCode::kDataLoss,
          absl::StrCat(what, " needs ", count, " elements of storage '",
                       storage.key, "' (", layout, "), but the storage holds ",
                       storage.numel));
    }
    if (!storage.data.defined()) MVL_RETURN_IF_ERROR(LoadStorage(&storage));
    try {
      at::Tensor t = at::empty({0}, storage.data.options());
      t.set_(storage.data.storage(), spec.offset, spec.size, spec.stride);
      if (spec.requires_grad && at::isFloatingType(t.scalar_type())) {
        t.set_requires_grad(true);
      }
      tensors.push_back(std::move(t));
    } catch (const std::exception& e) {
      return Error(absl::StatusCode::kInternal,
                   absl::StrCat("cannot build ", what, ": ", e.what()));
    }
  }
  return tensors;
}

// Finds the first key path of every tensor by a depth-first walk in
// document order. Shared and self-containing values are visited once.
std::vector<std::string> TensorPaths(const PickleValue& root, size_t count) {
  std::vector<std::string> paths(count);
  std::vector<bool> found(count, false);
  absl::flat_hash_set<const PickleValue*> visited;
  std::vector<std::pair<const PickleValue*, std::string>> stack;
  stack.emplace_back(&root, "");
  auto join = [](const std::string& path, const std::string& key) {
    return path.empty() ? key : absl::StrCat(path, "/", key);
  };
  while (!stack.empty()) {
    auto [value, path] = std::move(stack.back());
    stack.pop_back();
    if (!visited.insert(value).second) continue;
    if (value->is_tensor()) {
      const auto index = static_cast<size_t>(value->index());
      if (index < count && !found[index]) {
        found[index] = true;
        paths[index] = path;
      }
      continue;
    }
    // Children are pushed in reverse so that they pop in order.
    std::vector<std::pair<const PickleValue*, std::string>> children;
    for (size_t i = 0; i < value->items().size(); ++i) {
      children.emplace_back(value->items()[i], join(path, absl::StrCat(i)));
    }
    for (const auto& [k, v] : value->dict_items()) {
      std::string key;
      if (k->is_string()) {
        key = k->string_value();
      } else if (k->is_int()) {
        key = absl::StrCat(k->int_value());
      } else {
        key = FormatPickleValue(*k);
      }
      children.emplace_back(v, join(path, key));
    }
    if (value->state() != nullptr) children.emplace_back(value->state(), path);
    if (value->args() != nullptr) children.emplace_back(value->args(), path);
    for (auto it = children.rbegin(); it != children.rend(); ++it) {
      stack.push_back(std::move(*it));
    }
  }
  return paths;
}

}  // namespace

const at::Tensor& TorchSaveFile::tensor(const PickleValue& value) const {
  static const at::Tensor* const kUndefined = new at::Tensor();
  if (!value.is_tensor() || value.index() < 0 ||
      static_cast<size_t>(value.index()) >= tensors_.size()) {
    return *kUndefined;
  }
  return tensors_[value.index()];
}

absl::StatusOr<TorchSaveFile> ReadTorchSave(absl::string_view path) {
#ifdef ABSL_IS_BIG_ENDIAN
  return absl::UnimplementedError(
      absl::StrCat("torch.save file '", path,
                   "': reading on big-endian hosts is not "
                   "supported"));
#endif
  absl::StatusOr<ZipArchive> zip = ZipArchive::Open(path);
  if (!zip.ok()) {
    if (zip.status().code() == absl::StatusCode::kInvalidArgument) {
      // The pre-1.6 format is a bare pickle stream (PROTO opcode first).
      absl::StatusOr<MappedFile> file = MappedFile::Open(path);
      if (file.ok() && !file->data().empty() &&
          static_cast<uint8_t>(file->data()[0]) == 0x80) {
        return absl::UnimplementedError(absl::StrCat(
            "torch.save file '", path,
            "' uses the legacy format of PyTorch < 1.6 (or "
            "_use_new_zipfile_serialization=False), which is not supported; "
            "re-save it with a current torch.save"));
      }
    }
    return zip.status();
  }

  // The archive folder's name varies (the file's stem, or "archive").
  std::string folder;
  for (const ZipEntry& e : zip->entries()) {
    const size_t slash = e.name.find('/');
    if (slash != std::string::npos && slash > 0 &&
        e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      folder = e.name.substr(0, slash);
      break;
    }
  }
  if (folder.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "torch.save file '", path,
        "': no <folder>/data.pkl entry; not a file written by torch.save"));
  }
  if (const ZipEntry* order = zip->Find(folder + "/byteorder")) {
    std::string buffer;
    MVL_ASSIGN_OR_RETURN(absl::string_view text, zip->Read(*order, &buffer));
    if (text == "big") {
      return absl::UnimplementedError(absl::StrCat(
          "torch.save file '", path,
          "' was written on a big-endian machine; only little-endian files "
          "are supported"));
    }
    if (text != "little") {
      return absl::DataLossError(absl::StrCat("torch.save file '", path,
                                              "': unknown byte order '",
                                              text.substr(0, 20), "'"));
    }
  }

  const std::string pkl_name = folder + "/data.pkl";
  std::string pkl_buffer;
  MVL_ASSIGN_OR_RETURN(absl::string_view pkl,
                       zip->Read(*zip->Find(pkl_name), &pkl_buffer));
  Loader loader(*zip, folder);
  UnpickleOptions options;
  options.persistent_load = [&loader](const PickleValue& pid,
                                      PickleTree* tree) {
    return loader.PersistentLoad(pid, tree);
  };
  options.reduce = [&loader](const PickleValue& callable,
                             const PickleValue& args, PickleTree* tree) {
    return loader.Reduce(callable, args, tree);
  };
  MVL_ASSIGN_OR_RETURN(
      PickleTree tree,
      Unpickle(pkl, absl::StrCat(path, ":", pkl_name), options));

  TorchSaveFile file;
  file.path_ = std::string(path);
  file.archive_name_ = folder;
  file.paths_ = TensorPaths(tree.root(), loader.tensor_count());
  MVL_ASSIGN_OR_RETURN(file.tensors_, loader.BuildTensors(file.paths_));
  file.tree_ = std::move(tree);
  return file;
}

}  // namespace mammovl::core
