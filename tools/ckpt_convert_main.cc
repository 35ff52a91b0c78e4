// Converts a checkpoint (torch.save: plain, Mammo-CLIP .tar, Lightning .ckpt,
// DDP; or safetensors) to a safetensors file of its state dict, optionally
// only the tensors under a prefix (which is removed from their names).
//
//   bazel run //tools:ckpt_convert -- --input=model.tar
//       --output=image_encoder.safetensors --prefix=image_encoder.

#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "core/state_dict.h"
#include "core/status_macros.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/ckpt_format.h"

DEFINE_string(input, "", "Checkpoint to read (torch.save or safetensors).");
DEFINE_string(output, "", "safetensors file to write (replaced atomically).");
DEFINE_string(prefix, "",
              "Keep only tensors whose names start with this prefix "
              "(e.g. image_encoder.), without it.");

namespace mammovl::tools {
namespace {

absl::Status Convert(const std::string& input, const std::string& output,
                     const std::string& prefix) {
  MVL_ASSIGN_OR_RETURN(const core::StateDict state_dict,
                       core::LoadStateDict(input, prefix));
  MVL_RETURN_IF_ERROR(core::WriteStateDict(output, state_dict));
  int64_t bytes = 0;
  for (const auto& [name, tensor] : state_dict) bytes += TensorBytes(tensor);
  std::cout << "wrote " << state_dict.size() << " tensors (" << bytes
            << " bytes) to " << output << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace mammovl::tools

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "--input=CHECKPOINT --output=FILE.safetensors [--prefix=PREFIX]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  if (FLAGS_input.empty() || FLAGS_output.empty()) {
    LOG(ERROR) << "--input and --output are required";
    return 1;
  }
  const absl::Status status =
      mammovl::tools::Convert(FLAGS_input, FLAGS_output, FLAGS_prefix);
  if (!status.ok()) {
    LOG(ERROR) << status;
    return 1;
  }
  return 0;
}
