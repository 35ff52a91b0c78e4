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

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "core/status_macros.h"
#include "core/torch_status.h"

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

// Every tensor of a safetensors file, in file order.
absl::StatusOr<NamedTensors> ReadTensors(const std::string& path) {
  MVL_ASSIGN_OR_RETURN(const core::SafetensorsFile file,
                       core::SafetensorsFile::Open(path));
  NamedTensors tensors;
  for (const std::string& name : file.names()) {
    MVL_ASSIGN_OR_RETURN(at::Tensor tensor, file.Load(name));
    tensors.emplace_back(name, std::move(tensor));
  }
  return tensors;
}

}  // namespace

std::string CheckpointFolderName(int64_t step) {
  return absl::StrFormat("%s%08d", kFolderPrefix, step);
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
  MVL_RETURN_IF_ERROR(core::WriteSafetensors(
      absl::StrCat(temp_dir, "/", kModelFile), contents.model, metadata));
  if (!contents.optimizer.empty()) {
    MVL_RETURN_IF_ERROR(
        core::WriteSafetensors(absl::StrCat(temp_dir, "/", kOptimizerFile),
                               contents.optimizer, metadata));
  }
  if (!contents.ema.empty()) {
    MVL_RETURN_IF_ERROR(core::WriteSafetensors(
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
  MVL_ASSIGN_OR_RETURN(contents.model,
                       ReadTensors(absl::StrCat(dir, "/", kModelFile)));
  const std::string optimizer = absl::StrCat(dir, "/", kOptimizerFile);
  if (with_optimizer && core::PathExists(optimizer)) {
    MVL_ASSIGN_OR_RETURN(contents.optimizer, ReadTensors(optimizer));
  }
  const std::string ema = absl::StrCat(dir, "/", kEmaFile);
  if (core::PathExists(ema)) {
    MVL_ASSIGN_OR_RETURN(contents.ema, ReadTensors(ema));
  }
  return contents;
}

}  // namespace mammovl::train
