// Training checkpoints: one folder per saved step under the run's checkpoint
// folder,
//   checkpoints/step-00001000/
//     model.safetensors      weights and buffers, by state-dict name
//     optimizer.safetensors  optimiser state, "<param>/<slot>" (if saved)
//     ema.safetensors        EMA weights (if EMA is on)
//     state.pbtxt            CheckpointState: step, counters, per-rank RNG
//                            state and data position
//     config.pbtxt           the effective experiment config
// The safetensors files are written by core/safetensors and load in Python
// (`safetensors.torch.load_file`).
//
// Saving is atomic: everything is written and fsynced into
// `step-N.tmp-<pid>`, which is then renamed to `step-N` (and the parent folder
// fsynced). A crash at any point leaves either the complete folder or a
// `.tmp-` folder that is ignored and removed on the next start, so the newest
// `step-N` folder is always a complete checkpoint. After a save, only the
// newest `keep_last` checkpoints are kept.
#ifndef MAMMOVL_TRAIN_CHECKPOINT_H_
#define MAMMOVL_TRAIN_CHECKPOINT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "train/checkpoint.pb.h"
#include "train/named_tensors.h"

namespace mammovl::train {

struct CheckpointContents {
  NamedTensors model;
  // Empty if not saved.
  NamedTensors optimizer;
  NamedTensors ema;
  CheckpointState state;
  std::string config_text;
};

struct CheckpointOptions {
  // The folder holding the step-N folders (created if missing).
  std::string dir;
  // Checkpoints kept after a save; 0 keeps all.
  int keep_last = 3;
  // Called at named points of `Save` ("written": all files are in the
  // temporary folder; "committed": it was renamed). Lets tests crash a save
  // half-way; nullptr in normal use.
  std::function<void(absl::string_view stage)> on_stage;
};

class CheckpointManager {
 public:
  explicit CheckpointManager(CheckpointOptions options)
      : options_(std::move(options)) {}

  // Deletes temporary folders left by interrupted saves.
  absl::Status RemoveIncomplete();

  // Writes `contents` as the checkpoint of step `contents.state.step()` and
  // applies the retention. Returns the folder. AlreadyExists if that step's
  // folder exists.
  absl::StatusOr<std::string> Save(const CheckpointContents& contents);

  // Complete checkpoints, oldest first: (step, folder).
  absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> List() const;
  // The newest complete checkpoint, or nullopt if there is none.
  absl::StatusOr<std::optional<std::string>> Latest() const;

  const std::string& dir() const { return options_.dir; }

 private:
  CheckpointOptions options_;
};

// Reads a checkpoint folder. `with_optimizer` false skips the optimiser file.
// NotFound for a missing folder or file, DataLoss for a corrupt file,
// InvalidArgument for a state of another format.
absl::StatusOr<CheckpointContents> LoadCheckpoint(absl::string_view dir,
                                                  bool with_optimizer = true);

// "step-00001000".
std::string CheckpointFolderName(int64_t step);

// Copies `saved` into the live tensors `target` by name (no autograd), e.g.
// weights into a model. Every target must be present in `saved` with the same
// shape; InvalidArgument naming the first mismatch (`what` names the source in
// the message). Extra saved tensors are an error unless `allow_extra`.
absl::Status CopyNamedTensors(const NamedTensors& saved,
                              const NamedTensors& target,
                              absl::string_view what, bool allow_extra = false);

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_CHECKPOINT_H_
