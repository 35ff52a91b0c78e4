#include "data/datasets/py_literal.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace mammovl::data {
namespace {

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<PyValue> ParseAll() {
    SkipSpace();
    absl::StatusOr<PyValue> v = ParseValue(0);
    if (!v.ok()) return v;
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected trailing text");
    return v;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("bad literal at offset ", pos_, ": ", what,
                                                   " in '", text_, "'"));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }

  bool Consume(absl::string_view word) {
    if (text_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  absl::StatusOr<PyValue> ParseValue(int depth) {
    if (depth > 32) return Error("nesting too deep");
    SkipSpace();
    if (pos_ >= text_.size()) return Error("unexpected end");
    const char c = text_[pos_];
    if (c == '[' || c == '(') return ParseList(depth, c == '[' ? ']' : ')');
    if (c == '\'' || c == '"') return ParseString();
    PyValue v;
    if (Consume("None") || Consume("null")) return v;
    if (Consume("True") || Consume("true")) {
      v.kind = PyValue::Kind::kBool;
      v.boolean = true;
      return v;
    }
    if (Consume("False") || Consume("false")) {
      v.kind = PyValue::Kind::kBool;
      return v;
    }
    if (Consume("nan") || Consume("NaN")) {
      v.kind = PyValue::Kind::kNumber;
      v.number = std::nan("");
      return v;
    }
    return ParseNumber();
  }

  absl::StatusOr<PyValue> ParseList(int depth, char close) {
    ++pos_;
    PyValue list;
    list.kind = PyValue::Kind::kList;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == close) {
      ++pos_;
      return list;
    }
    while (true) {
      absl::StatusOr<PyValue> item = ParseValue(depth + 1);
      if (!item.ok()) return item;
      list.items.push_back(std::move(*item));
      SkipSpace();
      if (pos_ >= text_.size()) return Error("list is never closed");
      if (text_[pos_] == ',') {
        ++pos_;
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == close) {  // trailing comma
          ++pos_;
          return list;
        }
        continue;
      }
      if (text_[pos_] == close) {
        ++pos_;
        return list;
      }
      return Error("expected ',' or end of list");
    }
  }

  absl::StatusOr<PyValue> ParseString() {
    const char quote = text_[pos_++];
    PyValue v;
    v.kind = PyValue::Kind::kString;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == quote) return v;
      if (c != '\\') {
        v.str.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case 'n': v.str.push_back('\n'); break;
        case 't': v.str.push_back('\t'); break;
        case 'r': v.str.push_back('\r'); break;
        case '\\': v.str.push_back('\\'); break;
        case '\'': v.str.push_back('\''); break;
        case '"': v.str.push_back('"'); break;
        case '/': v.str.push_back('/'); break;
        case 'x':
        case 'u': {
          const int digits = e == 'x' ? 2 : 4;
          if (pos_ + digits > text_.size()) return Error("short escape");
          const std::string hex(text_.substr(pos_, digits));
          char* end = nullptr;
          const long code = std::strtol(hex.c_str(), &end, 16);
          if (end != hex.c_str() + digits) return Error("bad escape");
          pos_ += digits;
          AppendUtf8(static_cast<uint32_t>(code), &v.str);
          break;
        }
        default:
          v.str.push_back('\\');
          v.str.push_back(e);
      }
    }
    return Error("string is never closed");
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  absl::StatusOr<PyValue> ParseNumber() {
    const size_t start = pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' ||
          c == '.' || c == 'e' || c == 'E') {
        ++pos_;
      } else {
        break;
      }
    }
    if (pos_ == start) return Error("expected a value");
    const std::string num(text_.substr(start, pos_ - start));
    char* end = nullptr;
    const double d = std::strtod(num.c_str(), &end);
    if (end != num.c_str() + num.size()) {
      pos_ = start;
      return Error("bad number");
    }
    PyValue v;
    v.kind = PyValue::Kind::kNumber;
    v.number = d;
    return v;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<PyValue> ParsePyLiteral(absl::string_view text) {
  return Parser(text).ParseAll();
}

absl::StatusOr<std::vector<std::string>> ParsePyStringList(absl::string_view text,
                                                           bool allow_bare_value) {
  const absl::string_view stripped = absl::StripAsciiWhitespace(text);
  if (stripped.empty()) return std::vector<std::string>{};
  if (stripped.front() != '[' && stripped.front() != '(') {
    if (allow_bare_value) return std::vector<std::string>{std::string(stripped)};
    return absl::InvalidArgumentError(absl::StrCat("expected a list, got '", text, "'"));
  }
  absl::StatusOr<PyValue> v = ParsePyLiteral(stripped);
  if (!v.ok()) return v.status();
  std::vector<std::string> out;
  for (const PyValue& item : v->items) {
    if (item.kind != PyValue::Kind::kString) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected a list of strings, got '", text, "'"));
    }
    out.push_back(item.str);
  }
  return out;
}

absl::StatusOr<std::vector<double>> ParsePyNumberList(absl::string_view text) {
  absl::StatusOr<PyValue> v = ParsePyLiteral(text);
  if (!v.ok()) return v.status();
  if (v->kind == PyValue::Kind::kNumber) return std::vector<double>{v->number};
  if (v->kind != PyValue::Kind::kList) {
    return absl::InvalidArgumentError(absl::StrCat("expected a list of numbers, got '", text, "'"));
  }
  std::vector<double> out;
  for (const PyValue& item : v->items) {
    if (item.kind != PyValue::Kind::kNumber) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected a list of numbers, got '", text, "'"));
    }
    out.push_back(item.number);
  }
  return out;
}

std::string PyRepr(absl::string_view s) {
  const bool has_single = s.find('\'') != absl::string_view::npos;
  const bool has_double = s.find('"') != absl::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == quote) {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out.push_back(c);
    }
  }
  out.push_back(quote);
  return out;
}

std::string PyStringList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += PyRepr(items[i]);
  }
  out += "]";
  return out;
}

std::string JsonStringList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out.push_back('"');
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out.push_back(c);
    }
    out.push_back('"');
  }
  out += "]";
  return out;
}

std::string PyFloat(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  // Shortest round-tripping significand, then Python's repr layout: fixed
  // notation for decimal exponents in [-4, 16), scientific otherwise.
  char buf[48];
  int digits = 1;
  for (; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*e", digits - 1, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  const char* e = std::strchr(buf, 'e');
  const int exponent = std::atoi(e + 1);
  if (exponent >= -4 && exponent < 16) {
    const int decimals = std::max(digits - 1 - exponent, 1);
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
    return buf;
  }
  std::string mantissa(buf, static_cast<size_t>(e - buf));
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return mantissa + exp_buf;
}

std::string PyNumberList(const std::vector<double>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += PyFloat(values[i]);
  }
  out += "]";
  return out;
}

}  // namespace mammovl::data
