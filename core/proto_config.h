// Text-format protobuf configs: load a `.pbtxt` file, apply `--set` overrides
// (`train.optimizer.lr: 1e-4`, `data { batch_size: 8 }`) merged in text
// format, and print the effective config. Unknown fields and bad values are
// InvalidArgument naming the file, line, column and the field path.
#ifndef MAMMOVL_CORE_PROTO_CONFIG_H_
#define MAMMOVL_CORE_PROTO_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace mammovl::core {

// Parses `text` into `message` (cleared first). `source` names the text in
// errors, e.g. the file path.
absl::Status ParseTextProto(absl::string_view text, absl::string_view source,
                            google::protobuf::Message* message);

// Applies one override to `message`. Two forms:
//   "a.b.c: value"   sets the field at the dotted path; `value` is any text
//                    format value (number, "string", ENUM, [list], { msg }).
//                    A repeated field is replaced, not appended to.
//   "a { b: 1 }"     a text-format fragment merged into `message`.
absl::Status ApplyOverride(absl::string_view override_text, google::protobuf::Message* message);

// Reads `path` (if not empty) into `message`, then applies `overrides` in
// order. Errors name the file or the override.
absl::Status LoadConfig(absl::string_view path, const std::vector<std::string>& overrides,
                        google::protobuf::Message* message);

// Returns `message` in text format, as saved next to checkpoints.
std::string ToTextProto(const google::protobuf::Message& message);

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_PROTO_CONFIG_H_
