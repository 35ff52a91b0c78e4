#include "text/tokenizer/json.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "text/tokenizer/unicode.h"

namespace mammovl::text {

bool JsonValue::AsInt64(int64_t* value) const {
  if (type_ != Type::kNumber || !integral_) return false;
  *value = integer_;
  return true;
}

const JsonValue* JsonValue::Find(absl::string_view key) const {
  for (const Member& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

const char* JsonValue::TypeName(Type type) {
  switch (type) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "a boolean";
    case Type::kNumber:
      return "a number";
    case Type::kString:
      return "a string";
    case Type::kArray:
      return "an array";
    case Type::kObject:
      return "an object";
  }
  return "?";
}

class JsonParser {
 public:
  JsonParser(absl::string_view text, absl::string_view name)
      : text_(text), name_(name) {}

  absl::StatusOr<JsonValue> ParseDocument() {
    JsonValue value;
    SkipSpace();
    MVL_RETURN_IF_ERROR(ParseValue(&value, 0));
    SkipSpace();
    if (pos_ != text_.size())
      return Error("unexpected data after the JSON value");
    return value;
  }

 private:
  static constexpr int kMaxDepth = 512;

  absl::Status Error(absl::string_view what) const {
    int line = 1, column = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) {
        ++column;
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": line ", line, ", column ", column, ": ", what));
  }

  void SkipSpace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  bool Consume(absl::string_view literal) {
    if (text_.substr(pos_, literal.size()) != literal) return false;
    pos_ += literal.size();
    return true;
  }

  absl::Status ParseValue(JsonValue* out, int depth) {
    if (depth > kMaxDepth) return Error("nesting deeper than 512 levels");
    if (pos_ >= text_.size())
      return Error("unexpected end of input, expected a value");
    const char c = text_[pos_];
    switch (c) {
      case '{':
        return ParseObject(out, depth);
      case '[':
        return ParseArray(out, depth);
      case '"':
        out->type_ = JsonValue::Type::kString;
        return ParseString(&out->string_);
      case 't':
        if (!Consume("true")) return Error("invalid literal");
        out->type_ = JsonValue::Type::kBool;
        out->bool_ = true;
        return absl::OkStatus();
      case 'f':
        if (!Consume("false")) return Error("invalid literal");
        out->type_ = JsonValue::Type::kBool;
        out->bool_ = false;
        return absl::OkStatus();
      case 'n':
        if (!Consume("null")) return Error("invalid literal");
        out->type_ = JsonValue::Type::kNull;
        return absl::OkStatus();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
        return Error(absl::StrCat("unexpected character '",
                                  absl::CEscape(text_.substr(pos_, 1)),
                                  "', expected a value"));
    }
  }

  absl::Status ParseObject(JsonValue* out, int depth) {
    out->type_ = JsonValue::Type::kObject;
    ++pos_;  // '{'
    SkipSpace();
    if (Consume("}")) return absl::OkStatus();
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"')
        return Error("expected a member name");
      std::string key;
      MVL_RETURN_IF_ERROR(ParseString(&key));
      SkipSpace();
      if (!Consume(":")) return Error("expected ':' after a member name");
      SkipSpace();
      out->members_.emplace_back(std::move(key), JsonValue());
      MVL_RETURN_IF_ERROR(ParseValue(&out->members_.back().second, depth + 1));
      SkipSpace();
      if (Consume("}")) return absl::OkStatus();
      if (!Consume(",")) return Error("expected ',' or '}' in an object");
    }
  }

  absl::Status ParseArray(JsonValue* out, int depth) {
    out->type_ = JsonValue::Type::kArray;
    ++pos_;  // '['
    SkipSpace();
    if (Consume("]")) return absl::OkStatus();
    while (true) {
      SkipSpace();
      out->array_.emplace_back();
      MVL_RETURN_IF_ERROR(ParseValue(&out->array_.back(), depth + 1));
      SkipSpace();
      if (Consume("]")) return absl::OkStatus();
      if (!Consume(",")) return Error("expected ',' or ']' in an array");
    }
  }

  absl::Status ParseHex4(uint32_t* value) {
    if (pos_ + 4 > text_.size()) return Error("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_ + i];
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= h - '0';
      else if (h >= 'a' && h <= 'f')
        v |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F')
        v |= h - 'A' + 10;
      else
        return Error("invalid \\u escape");
    }
    pos_ += 4;
    *value = v;
    return absl::OkStatus();
  }

  absl::Status ParseString(std::string* out) {
    ++pos_;  // '"'
    out->clear();
    while (true) {
      // Copy the run up to the next quote, backslash or control character.
      const size_t start = pos_;
      while (pos_ < text_.size()) {
        const unsigned char c = text_[pos_];
        if (c == '"' || c == '\\' || c < 0x20) break;
        ++pos_;
      }
      const absl::string_view run = text_.substr(start, pos_ - start);
      if (absl::Status s = ValidateUtf8(run); !s.ok()) {
        pos_ = start;
        return Error(s.message());
      }
      out->append(run.data(), run.size());
      if (pos_ >= text_.size()) return Error("unterminated string");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (c != '\\') return Error("unescaped control character in a string");
      ++pos_;
      if (pos_ >= text_.size()) return Error("unterminated string");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          MVL_RETURN_IF_ERROR(ParseHex4(&cp));
          if (cp >= 0xDC00 && cp <= 0xDFFF)
            return Error("lone trailing surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (!Consume("\\u"))
              return Error("lone leading surrogate in \\u escape");
            MVL_RETURN_IF_ERROR(ParseHex4(&low));
            if (low < 0xDC00 || low > 0xDFFF)
              return Error("lone leading surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          --pos_;
          return Error("invalid escape sequence");
      }
    }
  }

  absl::Status ParseNumber(JsonValue* out) {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t s = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
        ++pos_;
      return pos_ - s;
    };
    Consume("-");
    if (Consume("0")) {
      if (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        return Error("leading zero in a number");
      }
    } else if (digits() == 0) {
      return Error("invalid number");
    }
    bool integral = true;
    if (Consume(".")) {
      integral = false;
      if (digits() == 0) return Error("invalid number: no digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (!Consume("+")) Consume("-");
      if (digits() == 0)
        return Error("invalid number: no digits in the exponent");
    }
    const std::string literal(text_.substr(start, pos_ - start));
    out->type_ = JsonValue::Type::kNumber;
    errno = 0;
    out->number_ = std::strtod(literal.c_str(), nullptr);
    if (integral && absl::SimpleAtoi(literal, &out->integer_))
      out->integral_ = true;
    return absl::OkStatus();
  }

  absl::string_view text_;
  absl::string_view name_;
  size_t pos_ = 0;
};

absl::StatusOr<JsonValue> ParseJson(absl::string_view text,
                                    absl::string_view name) {
  return JsonParser(text, name).ParseDocument();
}

absl::StatusOr<JsonValue> ReadJsonFile(absl::string_view path) {
  MVL_ASSIGN_OR_RETURN(std::string text, core::ReadFileToString(path));
  return ParseJson(text, path);
}

}  // namespace mammovl::text
