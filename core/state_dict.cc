#include "core/state_dict.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "core/status_macros.h"

namespace mammovl::core {

std::string DtypeName(const at::Tensor& tensor) {
  switch (tensor.scalar_type()) {
    case at::kDouble:
      return "float64";
    case at::kFloat:
      return "float32";
    case at::kHalf:
      return "float16";
    case at::kBFloat16:
      return "bfloat16";
    case at::kLong:
      return "int64";
    case at::kInt:
      return "int32";
    case at::kShort:
      return "int16";
    case at::kChar:
      return "int8";
    case at::kByte:
      return "uint8";
    case at::kBool:
      return "bool";
    default:
      return c10::toString(tensor.scalar_type());
  }
}

namespace {

// Keys under which training code nests the state dict, in order of trust.
constexpr const char* kWrapperKeys[] = {"state_dict", "model",
                                        "model_state_dict", "module"};
constexpr int kMaxWrapperDepth = 4;
constexpr absl::string_view kDataParallelPrefix = "module.";
constexpr size_t kKeysInErrors = 5;

// Dicts, and opaque dict subclasses holding items.
bool IsMapping(const PickleValue& v) {
  return v.is_dict() ||
         (v.kind() == PickleValue::Kind::kObject && !v.dict_items().empty());
}

bool HasTensorValues(const PickleValue& v) {
  for (const auto& [key, value] : v.dict_items()) {
    if (key->is_string() && value->is_tensor()) return true;
  }
  return false;
}

const PickleValue* FindItem(const PickleValue& mapping, absl::string_view key) {
  for (const auto& [k, v] : mapping.dict_items()) {
    if (k->is_string() && k->string_value() == key) return v;
  }
  return nullptr;
}

std::string SomeNames(const std::vector<std::string>& names) {
  std::vector<absl::string_view> shown;
  for (size_t i = 0; i < names.size() && i < kKeysInErrors; ++i) {
    shown.push_back(names[i]);
  }
  return absl::StrCat("'", absl::StrJoin(shown, "', '"), "'",
                      names.size() > kKeysInErrors
                          ? absl::StrCat(", ... (", names.size(), " in all)")
                          : "");
}

// Drops a DataParallel "module." prefix from `names`, then keeps those under
// `prefix`, without it. Returns (index into `names`, new name) pairs.
absl::StatusOr<std::vector<std::pair<size_t, std::string>>> SelectNames(
    std::vector<std::string> names, absl::string_view path,
    absl::string_view prefix) {
  bool data_parallel = !names.empty();
  for (const std::string& name : names) {
    data_parallel =
        data_parallel && absl::StartsWith(name, kDataParallelPrefix);
  }
  if (data_parallel) {
    for (std::string& name : names) name.erase(0, kDataParallelPrefix.size());
  }
  std::vector<std::pair<size_t, std::string>> selected;
  for (size_t i = 0; i < names.size(); ++i) {
    if (absl::StartsWith(names[i], prefix)) {
      selected.emplace_back(i, names[i].substr(prefix.size()));
    }
  }
  if (selected.empty()) {
    return absl::NotFoundError(
        absl::StrCat("checkpoint '", path, "': no tensor name starts with '",
                     prefix, "'; names are ", SomeNames(names)));
  }
  return selected;
}

}  // namespace

absl::StatusOr<StateDict> ExtractStateDict(const TorchSaveFile& file,
                                           absl::string_view prefix) {
  const PickleValue* dict = &file.root();
  for (int depth = 0;
       depth < kMaxWrapperDepth && IsMapping(*dict) && !HasTensorValues(*dict);
       ++depth) {
    const PickleValue* inner = nullptr;
    for (const char* key : kWrapperKeys) {
      const PickleValue* v = FindItem(*dict, key);
      if (v != nullptr && IsMapping(*v)) {
        inner = v;
        break;
      }
    }
    if (inner == nullptr) break;
    dict = inner;
  }
  if (!IsMapping(*dict) || !HasTensorValues(*dict)) {
    std::string found = absl::StrCat("a ", file.root().TypeName());
    if (IsMapping(file.root())) {
      std::vector<std::string> keys;
      for (const auto& [k, v] : file.root().dict_items()) {
        if (keys.size() == kKeysInErrors) {
          keys.push_back("...");
          break;
        }
        keys.push_back(FormatPickleValue(*k));
      }
      found = absl::StrCat("a dict with keys ", absl::StrJoin(keys, ", "));
    }
    return absl::NotFoundError(absl::StrCat(
        "checkpoint '", file.path(),
        "': no state dict (a dict of tensors, "
        "possibly under 'state_dict', 'model', 'model_state_dict' or "
        "'module'); the file holds ",
        found));
  }
  std::vector<std::string> names;
  std::vector<const at::Tensor*> tensors;
  for (const auto& [key, value] : dict->dict_items()) {
    if (key->is_string() && value->is_tensor()) {
      names.push_back(key->string_value());
      tensors.push_back(&file.tensor(*value));
    }
  }
  MVL_ASSIGN_OR_RETURN(auto selected,
                       SelectNames(std::move(names), file.path(), prefix));
  StateDict state_dict;
  for (auto& [index, name] : selected) {
    state_dict.emplace_back(std::move(name), *tensors[index]);
  }
  return state_dict;
}

absl::StatusOr<CheckpointFormat> DetectCheckpointFormat(
    absl::string_view path) {
  MVL_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  if (file.data().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint '", path, "' is empty (0 bytes)"));
  }
  const absl::string_view magic = file.data().substr(0, 4);
  // A zip archive (possibly empty), or the legacy format's pickle, which
  // ReadTorchSave reports as such.
  if (magic == "PK\x03\x04" || magic == "PK\x05\x06" ||
      static_cast<uint8_t>(magic[0]) == 0x80) {
    return CheckpointFormat::kTorchSave;
  }
  return CheckpointFormat::kSafetensors;
}

absl::StatusOr<StateDict> LoadStateDict(absl::string_view path,
                                        absl::string_view prefix) {
  MVL_ASSIGN_OR_RETURN(const CheckpointFormat format,
                       DetectCheckpointFormat(path));
  if (format == CheckpointFormat::kTorchSave) {
    MVL_ASSIGN_OR_RETURN(TorchSaveFile file, ReadTorchSave(path));
    return ExtractStateDict(file, prefix);
  }
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path);
  if (!file.ok()) {
    if (file.status().code() == absl::StatusCode::kInvalidArgument) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint '", path,
                       "' is neither a torch.save zip archive nor a "
                       "safetensors file (",
                       file.status().message(), ")"));
    }
    return file.status();
  }
  const std::vector<std::string> names = file->names();
  MVL_ASSIGN_OR_RETURN(auto selected, SelectNames(names, path, prefix));
  StateDict state_dict;
  for (auto& [index, name] : selected) {
    MVL_ASSIGN_OR_RETURN(at::Tensor tensor, file->Load(names[index]));
    state_dict.emplace_back(std::move(name), std::move(tensor));
  }
  return state_dict;
}

absl::Status WriteStateDict(absl::string_view path,
                            const StateDict& state_dict) {
  return WriteSafetensors(path, state_dict, {{"format", "pt"}});
}

}  // namespace mammovl::core
