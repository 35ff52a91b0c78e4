// Writes a synthetic mammography corpus: DICOM files (dicom/{patient}/{image}.dcm),
// the 8-bit PNG release of the same images (png/{patient}/{image}.png), every
// dataset table and the ground truth (tables/, see tables.h), and the
// effective config (synth_config.pbtxt). Deterministic: the same config gives
// byte-identical files, whatever the number of threads. Entry point of
// //tools:synth_main. No LibTorch.
#ifndef MAMMOVL_DATA_SYNTH_SYNTH_H_
#define MAMMOVL_DATA_SYNTH_SYNTH_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/synth/synth_config.pb.h"

namespace mammovl::data {

struct SynthSummary {
  int patients = 0;
  int images = 0;
  int64_t dicom_bytes = 0;
  int64_t png_bytes = 0;
  double seconds = 0;
};

// Generates the corpus described by `config` (after `ResolveSynthConfig`)
// under `out_dir`, which is created if missing; files already there are
// replaced atomically. InvalidArgument for a bad config (before any file is
// written); the first I/O or encoding error otherwise.
absl::StatusOr<SynthSummary> GenerateCorpus(const SynthConfig& config, absl::string_view out_dir);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_SYNTH_SYNTH_H_
