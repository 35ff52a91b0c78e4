#include "core/proto_config.h"

#include <cctype>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace mammovl::core {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Returns the dotted path of the message field that encloses (line, column)
// in a text-format document, e.g. "train.optimizer". Both are 0-based.
std::string EnclosingPath(absl::string_view text, int line, int column) {
  std::vector<std::string> stack;
  std::string pending;  // last field name seen
  int cur_line = 0, cur_col = 0;
  size_t i = 0;
  auto advance = [&](size_t n) {
    for (size_t k = 0; k < n && i < text.size(); ++k, ++i) {
      if (text[i] == '\n') {
        ++cur_line;
        cur_col = 0;
      } else {
        ++cur_col;
      }
    }
  };
  while (i < text.size()) {
    if (cur_line > line || (cur_line == line && cur_col >= column)) break;
    const char c = text[i];
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') advance(1);
    } else if (c == '"' || c == '\'') {
      advance(1);
      while (i < text.size() && text[i] != c && text[i] != '\n') advance(text[i] == '\\' ? 2 : 1);
      advance(1);
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = i;
      while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) ||
                                 text[i] == '_' || text[i] == '.')) {
        advance(1);
      }
      pending = std::string(text.substr(start, i - start));
    } else if (c == '{' || c == '<') {
      stack.push_back(pending.empty() ? "?" : pending);
      advance(1);
    } else if (c == '}' || c == '>') {
      if (!stack.empty()) {
        pending = stack.back();  // a next '{' in the same list has this name
        stack.pop_back();
      }
      advance(1);
    } else {
      advance(1);
    }
  }
  return absl::StrJoin(stack, ".");
}

class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit ErrorCollector(absl::string_view text) : text_(text) {}
  void AddError(int line, int column, const std::string& message) override {
    if (!first_.empty()) return;
    const std::string path = EnclosingPath(text_, line, column);
    first_ = absl::StrCat(line + 1, ":", column + 1, ": ",
                          path.empty() ? "" : absl::StrCat("in '", path, "': "), message);
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  absl::string_view text_;
  std::string first_;
};

absl::Status MergeText(absl::string_view text, absl::string_view source, Message* message) {
  ErrorCollector errors(text);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.MergeFromString(std::string(text), message)) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", errors.first()));
  }
  return absl::OkStatus();
}

std::string KnownFields(const Descriptor* d) {
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
  return absl::StrJoin(names, ", ");
}

bool IsDottedPath(absl::string_view s) {
  if (s.empty()) return false;
  for (absl::string_view part : absl::StrSplit(s, '.')) {
    if (part.empty() || std::isdigit(static_cast<unsigned char>(part[0]))) return false;
    for (char c : part) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    }
  }
  return true;
}

}  // namespace

absl::Status ParseTextProto(absl::string_view text, absl::string_view source, Message* message) {
  message->Clear();
  return MergeText(text, source, message);
}

absl::Status ApplyOverride(absl::string_view override_text, Message* message) {
  const std::string where = absl::StrCat("--set '", override_text, "'");
  const absl::string_view stripped = absl::StripAsciiWhitespace(override_text);
  const size_t colon = stripped.find(':');
  const size_t brace = stripped.find('{');
  const absl::string_view head =
      absl::StripAsciiWhitespace(stripped.substr(0, std::min(colon, brace)));
  if (!IsDottedPath(head) || (colon == absl::string_view::npos && brace == absl::string_view::npos)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": expected 'field.path: value' or a text-format fragment"));
  }
  const bool path_form = colon != absl::string_view::npos && colon < brace;
  absl::string_view value =
      absl::StripAsciiWhitespace(stripped.substr(std::min(colon, brace) + (path_form ? 1 : 0)));

  // Resolve the path first so that errors name the exact field.
  std::vector<std::string> parts = absl::StrSplit(head, '.');
  const Descriptor* descriptor = message->GetDescriptor();
  Message* target = message;
  std::string done;
  for (size_t k = 0; k < parts.size(); ++k) {
    const FieldDescriptor* field = descriptor->FindFieldByName(parts[k]);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": no field '", parts[k], "' in ", done.empty() ? "the config" : absl::StrCat("'", done, "'"),
          " (", descriptor->full_name(), "; fields: ", KnownFields(descriptor), ")"));
    }
    const bool last = k + 1 == parts.size();
    if (!last) {
      if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": '", absl::StrJoin(parts.begin(), parts.begin() + k + 1, "."),
            "' is not a single message, so it has no field '", parts[k + 1], "'"));
      }
      target = target->GetReflection()->MutableMessage(target, field);
      descriptor = field->message_type();
    } else if (path_form && field->is_repeated()) {
      // `x: [1, 2]` replaces the list instead of appending to it.
      target->GetReflection()->ClearField(target, field);
    }
    done = absl::StrJoin(parts.begin(), parts.begin() + k + 1, ".");
  }
  // Merge `last: value` into the innermost message.
  const std::string fragment =
      absl::StrCat(parts.back(), path_form ? ": " : " ", value);
  absl::Status status = MergeText(fragment, where, target);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": bad value for '", head, "': ", status.message().substr(where.size() + 1)));
  }
  return absl::OkStatus();
}

absl::Status LoadConfig(absl::string_view path, const std::vector<std::string>& overrides,
                        Message* message) {
  message->Clear();
  if (!path.empty()) {
    auto text = ReadFileToString(path);
    if (!text.ok()) {
      return absl::Status(text.status().code(),
                          absl::StrCat("config: ", text.status().message()));
    }
    if (absl::Status s = MergeText(*text, path, message); !s.ok()) return s;
  }
  for (const std::string& o : overrides) {
    if (absl::Status s = ApplyOverride(o, message); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string ToTextProto(const Message& message) {
  std::string out;
  google::protobuf::TextFormat::PrintToString(message, &out);
  return out;
}

}  // namespace mammovl::core
