// Resolving and checking a `SynthConfig`: the preset supplies the starting
// values, fields set by the user override them, and every range is checked
// before any file is written. No LibTorch, no OpenCV.
#ifndef MAMMOVL_DATA_SYNTH_CONFIG_H_
#define MAMMOVL_DATA_SYNTH_CONFIG_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/synth/synth_config.pb.h"

namespace mammovl::data {

// Returns the values `preset` starts from (only the fields it changes are set).
SynthConfig PresetConfig(SynthConfig::Preset preset);

// Returns the effective config: preset values, then every field set in
// `config`, then the defaults of repeated fields; validated.
absl::StatusOr<SynthConfig> ResolveSynthConfig(const SynthConfig& config);

// InvalidArgument naming the first bad field and its value.
absl::Status ValidateSynthConfig(const SynthConfig& config);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_SYNTH_CONFIG_H_
