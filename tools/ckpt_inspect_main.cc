// Lists the tensors of a checkpoint (torch.save or safetensors) with shapes,
// dtypes and totals; for torch.save files also the saved object's top-level
// structure, with Python objects shown as <opaque module.Name>.
//
//   bazel run //tools:ckpt_inspect -- --path=model.tar
//   [--prefix=image_encoder.]

#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/pickle.h"
#include "core/safetensors.h"
#include "core/state_dict.h"
#include "core/status_macros.h"
#include "core/torch_save.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/ckpt_format.h"

DEFINE_string(path, "", "Checkpoint to inspect (torch.save or safetensors).");
DEFINE_string(prefix, "",
              "List only tensors whose names start with this prefix "
              "(e.g. image_encoder.), without it.");

namespace mammovl::tools {
namespace {

std::string Structure(const core::TorchSaveFile& file) {
  core::PickleFormatOptions options;
  options.max_depth = 2;
  options.max_items = 6;
  options.format_external = [&file](const core::PickleValue& v) {
    if (!v.is_tensor()) return std::string("<storage>");
    const at::Tensor& t = file.tensor(v);
    return absl::StrCat("tensor(", core::DtypeName(t), ", ", ShapeString(t), ")");
  };
  const core::PickleValue& root = file.root();
  if (!root.is_dict())
    return absl::StrCat("  ", FormatPickleValue(root, options), "\n");
  std::string out;
  for (const auto& [key, value] : root.dict_items()) {
    absl::StrAppend(&out, "  ", FormatPickleValue(*key, options), ": ",
                    FormatPickleValue(*value, options), "\n");
  }
  return out;
}

absl::Status Inspect(const std::string& path, const std::string& prefix) {
  MVL_ASSIGN_OR_RETURN(const core::CheckpointFormat format,
                       core::DetectCheckpointFormat(path));
  core::StateDict state_dict;
  std::cout << "checkpoint: " << path << "\n";
  if (format == core::CheckpointFormat::kTorchSave) {
    MVL_ASSIGN_OR_RETURN(core::TorchSaveFile file, core::ReadTorchSave(path));
    std::cout << "format: torch.save (archive folder '" << file.archive_name()
              << "', " << file.tensors().size() << " tensors in all)\n"
              << "structure:\n"
              << Structure(file);
    MVL_ASSIGN_OR_RETURN(state_dict, core::ExtractStateDict(file, prefix));
  } else {
    MVL_ASSIGN_OR_RETURN(core::SafetensorsFile file,
                         core::SafetensorsFile::Open(path));
    std::cout << "format: safetensors\n";
    for (const auto& [key, value] : file.metadata()) {
      std::cout << "metadata: " << key << " = " << value << "\n";
    }
    MVL_ASSIGN_OR_RETURN(state_dict, core::LoadStateDict(path, prefix));
  }
  std::cout << "state dict"
            << (prefix.empty()
                    ? std::string()
                    : absl::StrCat(" (prefix '", prefix, "' removed)"))
            << ":\n"
            << FormatTensorTable(state_dict);
  return absl::OkStatus();
}

}  // namespace
}  // namespace mammovl::tools

int main(int argc, char** argv) {
  gflags::SetUsageMessage("--path=CHECKPOINT [--prefix=PREFIX]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  if (FLAGS_path.empty()) {
    LOG(ERROR) << "--path is required";
    return 1;
  }
  const absl::Status status = mammovl::tools::Inspect(FLAGS_path, FLAGS_prefix);
  if (!status.ok()) {
    LOG(ERROR) << status;
    return 1;
  }
  return 0;
}
