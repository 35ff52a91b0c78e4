// A small strict JSON (RFC 8259) reader for the files the text side loads:
// Hugging Face `tokenizer.json` and `vocab.json`, prompt tables. Objects keep
// their members in file order. Errors name the file, line and column. No
// LibTorch.
#ifndef MAMMOVL_TEXT_TOKENIZER_JSON_H_
#define MAMMOVL_TEXT_TOKENIZER_JSON_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::text {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Accessors; each returns a default (false, 0, empty) for another type.
  bool bool_value() const { return type_ == Type::kBool && bool_; }
  double number() const { return type_ == Type::kNumber ? number_ : 0; }
  // True for numbers written without fraction or exponent that fit int64;
  // stores the value in `*value`.
  bool AsInt64(int64_t* value) const;
  const std::string& string_value() const { return string_; }
  const std::vector<JsonValue>& array() const { return array_; }
  const std::vector<Member>& members() const { return members_; }

  // Returns the first member named `key` of an object, or nullptr.
  const JsonValue* Find(absl::string_view key) const;

  // Returns "null", "a boolean", "a number", "a string", "an array", "an
  // object".
  static const char* TypeName(Type type);

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  bool bool_ = false;
  bool integral_ = false;
  int64_t integer_ = 0;
  double number_ = 0;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<Member> members_;
};

// Parses `text` as one JSON document. `name` (usually the file path) starts
// every error message. InvalidArgument on malformed JSON, invalid UTF-8, lone
// surrogate escapes or nesting deeper than 512.
absl::StatusOr<JsonValue> ParseJson(absl::string_view text,
                                    absl::string_view name);

// Reads and parses a JSON file (NotFound if it does not exist).
absl::StatusOr<JsonValue> ReadJsonFile(absl::string_view path);

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_TOKENIZER_JSON_H_
