// Model weights as an ordered list of named tensors, loaded from whatever
// checkpoint a reference system released: a torch.save file (plain state
// dict, Mammo-CLIP `.tar`, Lightning `.ckpt`, DataParallel/DDP wrappers) or a
// safetensors file, optionally narrowed to one sub-module by key prefix.
// Written back as safetensors.
#ifndef MAMMOVL_CORE_STATE_DICT_H_
#define MAMMOVL_CORE_STATE_DICT_H_

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/torch_save.h"

namespace mammovl::core {

// Parameter and buffer names with their tensors, in checkpoint order.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

// The NumPy-style name of a tensor's dtype as checkpoint tools print it
// ("float32", "bfloat16", "int64", "bool", ...); LibTorch's own name for
// dtypes NumPy has no name for.
std::string DtypeName(const at::Tensor& tensor);

enum class CheckpointFormat { kTorchSave, kSafetensors };

// Returns the format of the checkpoint at `path` from its first bytes: a zip
// archive (or the legacy torch pickle) is kTorchSave, anything else is taken
// for kSafetensors. InvalidArgument naming the file if it is empty; the
// errors of `MappedFile::Open`.
absl::StatusOr<CheckpointFormat> DetectCheckpointFormat(absl::string_view path);

// Returns the state dict in a torch.save file: the top-level dict if it maps
// names to tensors, otherwise the dict under the first of "state_dict"
// (Lightning), "model" (Mammo-CLIP), "model_state_dict" or "module" that
// does (up to a few wrapper levels). Entries that are not tensors are
// skipped. If every name starts with "module." (DataParallel/DDP) that is
// removed. Then only names starting with `prefix` are kept, with the prefix
// removed. NotFound naming the file if there is no state dict, or naming the
// file, the prefix and some names if no name starts with `prefix`.
absl::StatusOr<StateDict> ExtractStateDict(const TorchSaveFile& file,
                                           absl::string_view prefix = "");

// Loads the state dict of the checkpoint at `path`, detecting the format by
// its first bytes (zip magic: torch.save; otherwise safetensors, in data
// order), with the wrapper, "module." and prefix handling of
// `ExtractStateDict`. Errors name the file: InvalidArgument for an empty
// file or one in neither format; the errors of `ReadTorchSave`,
// `SafetensorsFile` and `ExtractStateDict`.
absl::StatusOr<StateDict> LoadStateDict(absl::string_view path,
                                        absl::string_view prefix = "");

// Writes `state_dict` to `path` as a safetensors file (atomically, with
// metadata {"format": "pt"} as Hugging Face tools expect); errors of
// `WriteSafetensors`.
absl::Status WriteStateDict(absl::string_view path,
                            const StateDict& state_dict);

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_STATE_DICT_H_
