#include "train/checkpoint.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "train/json_text.h"

namespace mammovl::train {
namespace {

namespace fs = std::filesystem;

constexpr char kModelFile[] = "model.safetensors";
constexpr char kOptimizerFile[] = "optimizer.safetensors";
constexpr char kEmaFile[] = "ema.safetensors";
constexpr char kStateFile[] = "state.pbtxt";
constexpr char kConfigFile[] = "config.pbtxt";
constexpr char kFolderPrefix[] = "step-";
constexpr char kTempMarker[] = ".tmp-";

// ---------------------------------------------------------------------------
// Safetensors.

struct DtypeName {
  at::ScalarType type;
  const char* name;
};
constexpr DtypeName kDtypes[] = {
    {at::kFloat, "F32"},     {at::kDouble, "F64"}, {at::kHalf, "F16"},
    {at::kBFloat16, "BF16"}, {at::kLong, "I64"},   {at::kInt, "I32"},
    {at::kShort, "I16"},     {at::kChar, "I8"},    {at::kByte, "U8"},
    {at::kBool, "BOOL"},
};

// A non-negative integer below 2^53 (exact in a double), or nullopt.
std::optional<int64_t> AsIndex(const JsonValue& value) {
  if (value.kind != JsonValue::Kind::kNumber || !(value.number >= 0) ||
      value.number >= 9007199254740992.0 ||
      value.number != std::floor(value.number)) {
    return std::nullopt;
  }
  return static_cast<int64_t>(value.number);
}

// ---------------------------------------------------------------------------
// Folders.

absl::Status FsyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("cannot fsync ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Parses "step-00001000" (complete folders only).
std::optional<int64_t> StepOfFolder(const std::string& name) {
  if (!absl::StartsWith(name, kFolderPrefix) ||
      absl::StrContains(name, kTempMarker)) {
    return std::nullopt;
  }
  int64_t step = 0;
  if (!absl::SimpleAtoi(
          absl::string_view(name).substr(std::strlen(kFolderPrefix)), &step) ||
      step < 0) {
    return std::nullopt;
  }
  return step;
}

absl::Status WriteTextFile(const std::string& path, absl::string_view text) {
  return core::WriteFileAtomically(path, text);
}

}  // namespace

std::string CheckpointFolderName(int64_t step) {
  return absl::StrFormat("%s%08d", kFolderPrefix, step);
}

absl::Status WriteSafetensorsFile(
    absl::string_view path, const NamedTensors& tensors,
    const std::map<std::string, std::string>& metadata) {
  return core::RunTorch(absl::StrCat("writing ", path), [&]() -> absl::Status {
    std::vector<at::Tensor> data;
    data.reserve(tensors.size());
    std::string header = "{\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      absl::StrAppend(&header, first ? "" : ",", JsonQuote(key), ":",
                      JsonQuote(value));
      first = false;
    }
    header += "}";
    std::set<std::string> names;
    int64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
      if (!names.insert(name).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor name '", name, "' appears twice"));
      }
      const DtypeName* dtype = nullptr;
      for (const DtypeName& d : kDtypes) {
        if (d.type == tensor.scalar_type()) dtype = &d;
      }
      if (dtype == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor '", name, "' has unsupported dtype ",
                         std::string(tensor.dtype().name())));
      }
      if (!tensor.device().is_cpu()) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor '", name, "' is not on the CPU"));
      }
      at::Tensor contiguous = tensor.detach().contiguous();
      const int64_t bytes =
          contiguous.numel() * static_cast<int64_t>(contiguous.element_size());
      std::string shape;
      for (int64_t d = 0; d < contiguous.dim(); ++d) {
        absl::StrAppend(&shape, d == 0 ? "" : ",", contiguous.size(d));
      }
      absl::StrAppend(&header, ",", JsonQuote(name), ":{\"dtype\":\"",
                      dtype->name, "\",\"shape\":[", shape,
                      "],\"data_offsets\":[", offset, ",", offset + bytes,
                      "]}");
      offset += bytes;
      data.push_back(std::move(contiguous));
    }
    header += "}";
    header.append((8 - header.size() % 8) % 8, ' ');
    MVL_ASSIGN_OR_RETURN(core::AtomicFileWriter writer,
                         core::AtomicFileWriter::Open(path));
    std::string length(8, '\0');
    for (int i = 0; i < 8; ++i)
      length[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    MVL_RETURN_IF_ERROR(writer.Append(length));
    MVL_RETURN_IF_ERROR(writer.Append(header));
    for (const at::Tensor& t : data) {
      MVL_RETURN_IF_ERROR(writer.Append(
          absl::string_view(static_cast<const char*>(t.data_ptr()),
                            t.numel() * t.element_size())));
    }
    return writer.Commit();
  });
}

absl::StatusOr<NamedTensors> ReadSafetensorsFile(
    absl::string_view path, std::map<std::string, std::string>* metadata) {
  MVL_ASSIGN_OR_RETURN(core::MappedFile file, core::MappedFile::Open(path));
  const absl::string_view bytes = file.data();
  auto corrupt = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(path, ": ", what));
  };
  if (bytes.size() < 8) return corrupt("shorter than the 8-byte header length");
  uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) {
    header_size |= uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  }
  if (header_size > bytes.size() - 8)
    return corrupt("header length exceeds the file");
  absl::StatusOr<JsonValue> parsed = ParseJson(bytes.substr(8, header_size));
  if (!parsed.ok()) return corrupt(parsed.status().message());
  if (parsed->kind != JsonValue::Kind::kObject)
    return corrupt("header is not a JSON object");
  const absl::string_view data = bytes.substr(8 + header_size);
  NamedTensors tensors;
  for (const auto& [name, entry] : parsed->object) {
    if (name == "__metadata__") {
      if (metadata != nullptr) {
        for (const auto& [k, v] : entry.object) {
          if (v.kind == JsonValue::Kind::kString) (*metadata)[k] = v.string;
        }
      }
      continue;
    }
    const JsonValue* dtype = entry.Find("dtype");
    const JsonValue* shape = entry.Find("shape");
    const JsonValue* offsets = entry.Find("data_offsets");
    if (dtype == nullptr || dtype->kind != JsonValue::Kind::kString ||
        shape == nullptr || shape->kind != JsonValue::Kind::kArray ||
        offsets == nullptr || offsets->kind != JsonValue::Kind::kArray ||
        offsets->array.size() != 2) {
      return corrupt(absl::StrCat("entry '", name,
                                  "' lacks dtype, shape or data_offsets"));
    }
    const DtypeName* type = nullptr;
    for (const DtypeName& d : kDtypes) {
      if (dtype->string == d.name) type = &d;
    }
    if (type == nullptr) {
      return corrupt(absl::StrCat("entry '", name, "' has unsupported dtype ",
                                  dtype->string));
    }
    std::vector<int64_t> sizes;
    int64_t numel = 1;
    for (const JsonValue& d : shape->array) {
      const std::optional<int64_t> size = AsIndex(d);
      if (!size.has_value() || *size > (int64_t{1} << 40) ||
          (*size > 0 && numel > (int64_t{1} << 50) / *size)) {
        return corrupt(absl::StrCat("entry '", name, "' has a bad shape"));
      }
      sizes.push_back(*size);
      numel *= *size;
    }
    const std::optional<int64_t> first = AsIndex(offsets->array[0]);
    const std::optional<int64_t> last = AsIndex(offsets->array[1]);
    if (!first.has_value() || !last.has_value()) {
      return corrupt(absl::StrCat("entry '", name, "' has bad data offsets"));
    }
    const int64_t begin = *first;
    const int64_t end = *last;
    const int64_t item = static_cast<int64_t>(c10::elementSize(type->type));
    if (begin < 0 || end < begin || static_cast<uint64_t>(end) > data.size() ||
        end - begin != numel * item) {
      return corrupt(absl::StrCat("entry '", name, "' has data offsets [",
                                  begin, ", ", end,
                                  "] that do not fit its shape or the file"));
    }
    MVL_ASSIGN_OR_RETURN(at::Tensor tensor, core::RunTorch("allocating", [&] {
                           return at::empty(
                               sizes, at::TensorOptions().dtype(type->type));
                         }));
    if (numel > 0)
      std::memcpy(tensor.data_ptr(), data.data() + begin, end - begin);
    tensors.emplace_back(name, std::move(tensor));
  }
  return tensors;
}

absl::Status CopyNamedTensors(const NamedTensors& saved,
                              const NamedTensors& target,
                              absl::string_view what, bool allow_extra) {
  std::map<std::string, const at::Tensor*> by_name;
  for (const auto& [name, tensor] : saved) by_name[name] = &tensor;
  for (const auto& [name, tensor] : target) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " has no tensor '", name, "'"));
    }
    if (it->second->sizes() != tensor.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": '", name, "' has shape ", c10::str(it->second->sizes()),
          " but the model's has ", c10::str(tensor.sizes())));
    }
  }
  if (!allow_extra && saved.size() > target.size()) {
    std::set<std::string> wanted;
    for (const auto& [name, tensor] : target) wanted.insert(name);
    for (const auto& [name, tensor] : saved) {
      if (wanted.count(name) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, " has '", name, "', which the model does not"));
      }
    }
  }
  return core::RunTorch(absl::StrCat("copying ", what), [&] {
    at::NoGradGuard no_grad;
    for (const auto& [name, tensor] : target) {
      at::Tensor live = tensor;
      live.detach().copy_(*by_name[name]);
    }
  });
}

absl::Status CheckpointManager::RemoveIncomplete() {
  std::error_code error;
  if (!fs::exists(options_.dir, error)) return absl::OkStatus();
  for (const fs::directory_entry& entry :
       fs::directory_iterator(options_.dir, error)) {
    const std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, kFolderPrefix) &&
        absl::StrContains(name, kTempMarker)) {
      LOG(WARNING) << "removing incomplete checkpoint "
                   << entry.path().string();
      fs::remove_all(entry.path(), error);
      if (error) {
        return absl::InternalError(absl::StrCat(
            "cannot remove ", entry.path().string(), ": ", error.message()));
      }
    }
  }
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot list ", options_.dir, ": ", error.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<int64_t, std::string>>>
CheckpointManager::List() const {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code error;
  if (!fs::exists(options_.dir, error)) return found;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(options_.dir, error)) {
    const std::optional<int64_t> step =
        StepOfFolder(entry.path().filename().string());
    if (step.has_value() &&
        core::PathExists(entry.path().string() + "/" + kStateFile)) {
      found.emplace_back(*step, entry.path().string());
    }
  }
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot list ", options_.dir, ": ", error.message()));
  }
  std::sort(found.begin(), found.end());
  return found;
}

absl::StatusOr<std::optional<std::string>> CheckpointManager::Latest() const {
  MVL_ASSIGN_OR_RETURN(auto all, List());
  if (all.empty()) return std::optional<std::string>();
  return std::optional<std::string>(all.back().second);
}

absl::StatusOr<std::string> CheckpointManager::Save(
    const CheckpointContents& contents) {
  MVL_RETURN_IF_ERROR(core::MakeDirectories(options_.dir));
  const std::string final_dir = absl::StrCat(
      options_.dir, "/", CheckpointFolderName(contents.state.step()));
  if (core::PathExists(final_dir)) {
    return absl::AlreadyExistsError(
        absl::StrCat("checkpoint ", final_dir, " exists"));
  }
  const std::string temp_dir = absl::StrCat(final_dir, kTempMarker, ::getpid());
  std::error_code error;
  fs::remove_all(temp_dir, error);
  MVL_RETURN_IF_ERROR(core::MakeDirectories(temp_dir));

  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"step", absl::StrCat(contents.state.step())}};
  MVL_RETURN_IF_ERROR(WriteSafetensorsFile(
      absl::StrCat(temp_dir, "/", kModelFile), contents.model, metadata));
  if (!contents.optimizer.empty()) {
    MVL_RETURN_IF_ERROR(
        WriteSafetensorsFile(absl::StrCat(temp_dir, "/", kOptimizerFile),
                             contents.optimizer, metadata));
  }
  if (!contents.ema.empty()) {
    MVL_RETURN_IF_ERROR(WriteSafetensorsFile(
        absl::StrCat(temp_dir, "/", kEmaFile), contents.ema, metadata));
  }
  MVL_RETURN_IF_ERROR(WriteTextFile(absl::StrCat(temp_dir, "/", kConfigFile),
                                    contents.config_text));
  std::string state_text;
  google::protobuf::TextFormat::PrintToString(contents.state, &state_text);
  // The state file goes last: a folder is a checkpoint only if it has one.
  MVL_RETURN_IF_ERROR(
      WriteTextFile(absl::StrCat(temp_dir, "/", kStateFile), state_text));
  MVL_RETURN_IF_ERROR(FsyncPath(temp_dir));
  if (options_.on_stage) options_.on_stage("written");

  if (::rename(temp_dir.c_str(), final_dir.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", temp_dir, " to ",
                                            final_dir, ": ",
                                            std::strerror(errno)));
  }
  MVL_RETURN_IF_ERROR(FsyncPath(options_.dir));
  if (options_.on_stage) options_.on_stage("committed");

  if (options_.keep_last > 0) {
    MVL_ASSIGN_OR_RETURN(auto all, List());
    const int excess = static_cast<int>(all.size()) - options_.keep_last;
    for (int i = 0; i < excess; ++i) {
      if (all[i].second == final_dir) continue;
      fs::remove_all(all[i].second, error);
      if (error) {
        LOG(WARNING) << "cannot delete old checkpoint " << all[i].second << ": "
                     << error.message();
      }
    }
  }
  return final_dir;
}

absl::StatusOr<CheckpointContents> LoadCheckpoint(absl::string_view dir,
                                                  bool with_optimizer) {
  CheckpointContents contents;
  MVL_ASSIGN_OR_RETURN(
      const std::string state_text,
      core::ReadFileToString(absl::StrCat(dir, "/", kStateFile)));
  if (!google::protobuf::TextFormat::ParseFromString(state_text,
                                                     &contents.state)) {
    return absl::DataLossError(
        absl::StrCat(dir, "/", kStateFile, " does not parse"));
  }
  if (contents.state.format() != CheckpointState().format()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, " has format '", contents.state.format(),
                     "', expected '", CheckpointState().format(), "'"));
  }
  MVL_ASSIGN_OR_RETURN(
      contents.config_text,
      core::ReadFileToString(absl::StrCat(dir, "/", kConfigFile)));
  MVL_ASSIGN_OR_RETURN(
      contents.model,
      ReadSafetensorsFile(absl::StrCat(dir, "/", kModelFile), nullptr));
  const std::string optimizer = absl::StrCat(dir, "/", kOptimizerFile);
  if (with_optimizer && core::PathExists(optimizer)) {
    MVL_ASSIGN_OR_RETURN(contents.optimizer,
                         ReadSafetensorsFile(optimizer, nullptr));
  }
  const std::string ema = absl::StrCat(dir, "/", kEmaFile);
  if (core::PathExists(ema)) {
    MVL_ASSIGN_OR_RETURN(contents.ema, ReadSafetensorsFile(ema, nullptr));
  }
  return contents;
}

}  // namespace mammovl::train
