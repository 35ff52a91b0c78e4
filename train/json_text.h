// The small JSON MammoVL's training code writes and reads back
// (metrics.jsonl rows, safetensors headers): string quoting and a strict
// parser of complete documents. No LibTorch.
#ifndef MAMMOVL_TRAIN_JSON_TEXT_H_
#define MAMMOVL_TRAIN_JSON_TEXT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::train {

// Returns `s` as a quoted JSON string: `"` and `\` are escaped, control
// characters become \u00XX, other bytes (UTF-8) are copied.
std::string JsonQuote(absl::string_view s);

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  // Members in document order.
  std::vector<std::pair<std::string, JsonValue>> object;

  // The member named `key` of an object, or nullptr.
  const JsonValue* Find(absl::string_view key) const;
};

// Parses one JSON document (nesting at most 16 deep). InvalidArgument
// naming the byte offset of the first error.
absl::StatusOr<JsonValue> ParseJson(absl::string_view text);

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_JSON_TEXT_H_
