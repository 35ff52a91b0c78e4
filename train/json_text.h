// JSON string literals for the JSON MammoVL's training code writes
// (metrics.jsonl, safetensors headers). No LibTorch.
#ifndef MAMMOVL_TRAIN_JSON_TEXT_H_
#define MAMMOVL_TRAIN_JSON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace mammovl::train {

// Returns `s` as a quoted JSON string: `"` and `\` are escaped, control
// characters become \u00XX, other bytes (UTF-8) are copied.
std::string JsonQuote(absl::string_view s);

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_JSON_TEXT_H_
