#include "core/pickle.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"

namespace mammovl::core {
namespace {

using Kind = PickleValue::Kind;

// Integers wider than this many bytes (about 2,500 decimal digits) are not
// converted: checkpoints have no use for them, and conversion is quadratic.
constexpr size_t kMaxBigIntBytes = 1024;

// Returns the decimal text of a little-endian two's-complement integer.
std::string DecimalFromTwosComplement(absl::string_view le) {
  std::vector<uint8_t> mag(le.begin(), le.end());
  const bool negative = !mag.empty() && (mag.back() & 0x80);
  if (negative) {  // magnitude = ~x + 1
    unsigned carry = 1;
    for (uint8_t& b : mag) {
      const unsigned v = static_cast<uint8_t>(~b) + carry;
      b = static_cast<uint8_t>(v);
      carry = v >> 8;
    }
  }
  std::string digits;
  size_t top = mag.size();
  while (top > 0 && mag[top - 1] == 0) --top;
  while (top > 0) {
    unsigned rem = 0;
    for (size_t i = top; i-- > 0;) {
      const unsigned cur = (rem << 8) | mag[i];
      mag[i] = static_cast<uint8_t>(cur / 10);
      rem = cur % 10;
    }
    digits.push_back(static_cast<char>('0' + rem));
    while (top > 0 && mag[top - 1] == 0) --top;
  }
  if (digits.empty()) digits = "0";
  if (negative) digits.push_back('-');
  return std::string(digits.rbegin(), digits.rend());
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Encodes UTF-8 `s` as Latin-1; false if a code point is above U+00FF or the
// UTF-8 is malformed.
bool Utf8ToLatin1(absl::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      ++i;
    } else if ((c & 0xe0) == 0xc0 && i + 1 < s.size() &&
               (static_cast<unsigned char>(s[i + 1]) & 0xc0) == 0x80) {
      const unsigned cp =
          ((c & 0x1f) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3f);
      if (cp > 0xff || cp < 0x80) return false;
      out->push_back(static_cast<char>(cp));
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the quoted, escaped text of a protocol-0 STRING opcode.
bool DecodeStringRepr(absl::string_view line, std::string* out) {
  if (line.size() < 2 || (line.front() != '\'' && line.front() != '"') ||
      line.back() != line.front()) {
    return false;
  }
  line = line.substr(1, line.size() - 2);
  out->clear();
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\\' || i + 1 == line.size()) {
      out->push_back(line[i]);
      continue;
    }
    const char e = line[++i];
    switch (e) {
      case '\\':
        out->push_back('\\');
        break;
      case '\'':
        out->push_back('\'');
        break;
      case '"':
        out->push_back('"');
        break;
      case 'a':
        out->push_back('\a');
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
      case 'v':
        out->push_back('\v');
        break;
      case 'x': {
        if (i + 2 >= line.size() + 0 || HexDigit(line[i + 1]) < 0 ||
            HexDigit(line[i + 2]) < 0) {
          return false;
        }
        out->push_back(static_cast<char>(HexDigit(line[i + 1]) * 16 +
                                         HexDigit(line[i + 2])));
        i += 2;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0';
          for (int k = 0; k < 2 && i + 1 < line.size() && line[i + 1] >= '0' &&
                          line[i + 1] <= '7';
               ++k) {
            v = v * 8 + (line[++i] - '0');
          }
          out->push_back(static_cast<char>(v & 0xff));
        } else {
          out->push_back('\\');
          out->push_back(e);
        }
    }
  }
  return true;
}

// Decodes "raw-unicode-escape" text (protocol-0 UNICODE) to UTF-8.
bool DecodeRawUnicodeEscape(absl::string_view line, std::string* out) {
  out->clear();
  for (size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c == '\\' && i + 1 < line.size() &&
        (line[i + 1] == 'u' || line[i + 1] == 'U')) {
      const size_t n = line[i + 1] == 'u' ? 4 : 8;
      if (i + 2 + n > line.size()) return false;
      uint32_t cp = 0;
      for (size_t k = 0; k < n; ++k) {
        const int d = HexDigit(line[i + 2 + k]);
        if (d < 0) return false;
        cp = cp * 16 + static_cast<uint32_t>(d);
      }
      if (cp > 0x10ffff) return false;
      AppendUtf8(cp, out);
      i += 1 + n;
    } else {
      AppendUtf8(c, out);
    }
  }
  return true;
}

const char* OpcodeName(uint8_t op) {
  switch (op) {
    case 0x80:
      return "PROTO";
    case 0x95:
      return "FRAME";
    case '.':
      return "STOP";
    case '(':
      return "MARK";
    case '0':
      return "POP";
    case '1':
      return "POP_MARK";
    case '2':
      return "DUP";
    case 'I':
      return "INT";
    case 'J':
      return "BININT";
    case 'K':
      return "BININT1";
    case 'M':
      return "BININT2";
    case 'L':
      return "LONG";
    case 0x8a:
      return "LONG1";
    case 0x8b:
      return "LONG4";
    case 'N':
      return "NONE";
    case 0x88:
      return "NEWTRUE";
    case 0x89:
      return "NEWFALSE";
    case 'F':
      return "FLOAT";
    case 'G':
      return "BINFLOAT";
    case 'S':
      return "STRING";
    case 'T':
      return "BINSTRING";
    case 'U':
      return "SHORT_BINSTRING";
    case 'V':
      return "UNICODE";
    case 'X':
      return "BINUNICODE";
    case 0x8c:
      return "SHORT_BINUNICODE";
    case 0x8d:
      return "BINUNICODE8";
    case 'B':
      return "BINBYTES";
    case 'C':
      return "SHORT_BINBYTES";
    case 0x8e:
      return "BINBYTES8";
    case 0x96:
      return "BYTEARRAY8";
    case ']':
      return "EMPTY_LIST";
    case 'a':
      return "APPEND";
    case 'e':
      return "APPENDS";
    case 'l':
      return "LIST";
    case ')':
      return "EMPTY_TUPLE";
    case 't':
      return "TUPLE";
    case 0x85:
      return "TUPLE1";
    case 0x86:
      return "TUPLE2";
    case 0x87:
      return "TUPLE3";
    case '}':
      return "EMPTY_DICT";
    case 'd':
      return "DICT";
    case 's':
      return "SETITEM";
    case 'u':
      return "SETITEMS";
    case 0x8f:
      return "EMPTY_SET";
    case 0x90:
      return "ADDITEMS";
    case 0x91:
      return "FROZENSET";
    case 'c':
      return "GLOBAL";
    case 0x93:
      return "STACK_GLOBAL";
    case 'R':
      return "REDUCE";
    case 'b':
      return "BUILD";
    case 0x81:
      return "NEWOBJ";
    case 0x92:
      return "NEWOBJ_EX";
    case 'i':
      return "INST";
    case 'o':
      return "OBJ";
    case 'p':
      return "PUT";
    case 'q':
      return "BINPUT";
    case 'r':
      return "LONG_BINPUT";
    case 0x94:
      return "MEMOIZE";
    case 'g':
      return "GET";
    case 'h':
      return "BINGET";
    case 'j':
      return "LONG_BINGET";
    case 'P':
      return "PERSID";
    case 'Q':
      return "BINPERSID";
    case 0x82:
      return "EXT1";
    case 0x83:
      return "EXT2";
    case 0x84:
      return "EXT4";
    case 0x97:
      return "NEXT_BUFFER";
    case 0x98:
      return "READONLY_BUFFER";
    default:
      return nullptr;
  }
}

// A key under which Python would consider two dict keys equal, or "" when
// the key is not compared by value here (tuples, NaN).
std::string KeyFingerprint(const PickleValue& key) {
  switch (key.kind()) {
    case Kind::kNone:
      return "N";
    case Kind::kBool:
    case Kind::kInt:
      return absl::StrCat("I", key.int_value());
    case Kind::kBigInt:
      return absl::StrCat("I", key.string_value());
    case Kind::kFloat: {
      const double f = key.float_value();
      if (std::isnan(f)) return "";
      if (f == std::trunc(f) && std::fabs(f) < 9.2e18) {
        return absl::StrCat("I", static_cast<int64_t>(f));
      }
      uint64_t bits;
      std::memcpy(&bits, &f, sizeof(bits));
      return absl::StrCat("F", bits);
    }
    case Kind::kString:
      return absl::StrCat("S", key.string_value());
    case Kind::kBytes:
      return absl::StrCat("B", key.string_value());
    case Kind::kTuple:
      return "";
    default:  // identity, as for Python objects without __eq__
      return absl::StrCat("P", reinterpret_cast<uintptr_t>(&key));
  }
}

}  // namespace

void PickleValue::SetItem(const PickleValue* key, const PickleValue* value) {
  const std::string fingerprint = KeyFingerprint(*key);
  if (fingerprint.empty()) {
    dict_items_.emplace_back(key, value);
    return;
  }
  if (key_index_ == nullptr) {
    key_index_ = std::make_unique<absl::flat_hash_map<std::string, size_t>>();
  }
  const auto [it, inserted] =
      key_index_->emplace(fingerprint, dict_items_.size());
  if (inserted) {
    dict_items_.emplace_back(key, value);
  } else {
    dict_items_[it->second].second = value;
  }
}

const PickleValue* PickleValue::Find(absl::string_view key) const {
  if (kind_ != Kind::kDict) return nullptr;
  if (key_index_ != nullptr) {
    const auto it = key_index_->find(absl::StrCat("S", key));
    return it == key_index_->end() ? nullptr : dict_items_[it->second].second;
  }
  for (const auto& [k, v] : dict_items_) {
    if (k->is_string() && k->string_value() == key) return v;
  }
  return nullptr;
}

std::string PickleValue::TypeName() const {
  switch (kind_) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
    case Kind::kBigInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kList:
      return "list";
    case Kind::kTuple:
      return "tuple";
    case Kind::kDict:
      return "dict";
    case Kind::kGlobal:
    case Kind::kObject:
      return qualified_name();
    case Kind::kStorage:
      return "storage";
    case Kind::kTensor:
      return "tensor";
  }
  return "?";
}

const PickleValue& PickleTree::root() const {
  static const PickleValue* const kNone = new PickleValue(Kind::kNone);
  return root_ != nullptr ? *root_ : *kNone;
}

PickleValue* PickleTree::New(PickleValue::Kind kind) {
  nodes_.push_back(std::unique_ptr<PickleValue>(new PickleValue(kind)));
  return nodes_.back().get();
}

PickleValue* PickleTree::NewBool(bool value) {
  PickleValue* v = New(Kind::kBool);
  v->int_ = value ? 1 : 0;
  return v;
}

PickleValue* PickleTree::NewInt(int64_t value) {
  PickleValue* v = New(Kind::kInt);
  v->int_ = value;
  return v;
}

PickleValue* PickleTree::NewString(std::string value) {
  PickleValue* v = New(Kind::kString);
  v->text_ = std::move(value);
  return v;
}

PickleValue* PickleTree::NewStorage(int64_t index) {
  PickleValue* v = New(Kind::kStorage);
  v->int_ = index;
  return v;
}

PickleValue* PickleTree::NewTensor(int64_t index) {
  PickleValue* v = New(Kind::kTensor);
  v->int_ = index;
  return v;
}

// The pickle virtual machine. One instance per Unpickle() call.
class Unpickler {
 public:
  Unpickler(absl::string_view data, absl::string_view source,
            const UnpickleOptions& options)
      : data_(data), source_(source), options_(options) {}

  absl::StatusOr<PickleTree> Run();

 private:
  // Errors, all naming the source, the opcode and its offset.
  std::string Where() const {
    const char* name = OpcodeName(op_);
    return absl::StrCat("pickle '", source_, "': opcode 0x",
                        absl::Hex(op_, absl::kZeroPad2),
                        name != nullptr ? absl::StrCat(" (", name, ")") : "",
                        " at offset ", op_offset_);
  }
  absl::Status Corrupt(absl::string_view what) const {
    return absl::DataLossError(absl::StrCat(Where(), ": ", what));
  }
  absl::Status Unsupported(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(Where(), ": ", what));
  }
  absl::Status TooLarge(absl::string_view what) const {
    return absl::ResourceExhaustedError(absl::StrCat(Where(), ": ", what));
  }

  // Input.
  absl::StatusOr<absl::string_view> Read(uint64_t n) {
    if (n > data_.size() - pos_) {
      return Corrupt(absl::StrCat("truncated data: needs ", n, " bytes, only ",
                                  data_.size() - pos_, " left"));
    }
    absl::string_view out = data_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return out;
  }
  absl::StatusOr<uint64_t> ReadLe(int bytes) {
    MVL_ASSIGN_OR_RETURN(absl::string_view b, Read(bytes));
    uint64_t v = 0;
    for (int i = bytes; i-- > 0;) v = (v << 8) | static_cast<uint8_t>(b[i]);
    return v;
  }
  absl::StatusOr<absl::string_view> ReadLine() {
    const size_t nl = data_.find('\n', pos_);
    if (nl == absl::string_view::npos) {
      return Corrupt("truncated data: no end of line");
    }
    absl::string_view line = data_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }

  // Stack. Values above the innermost mark are the only ones reachable.
  size_t Floor() const { return marks_.empty() ? 0 : marks_.back(); }
  absl::StatusOr<PickleValue*> Pop() {
    if (stack_.size() <= Floor()) return Corrupt("stack underflow");
    PickleValue* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  absl::StatusOr<PickleValue*> Top() {
    if (stack_.size() <= Floor()) return Corrupt("stack underflow");
    return stack_.back();
  }
  absl::StatusOr<std::vector<PickleValue*>> PopMark() {
    if (marks_.empty()) return Corrupt("no MARK on the stack");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleValue*> items(stack_.begin() + mark, stack_.end());
    stack_.resize(mark);
    return items;
  }

  PickleValue* New(Kind kind) { return tree_.New(kind); }
  PickleValue* NewText(Kind kind, absl::string_view text) {
    PickleValue* v = New(kind);
    v->text_ = std::string(text);
    return v;
  }
  PickleValue* NewTuple(std::vector<PickleValue*> items) {
    PickleValue* v = New(Kind::kTuple);
    v->items_.assign(items.begin(), items.end());
    return v;
  }
  PickleValue* NewGlobal(absl::string_view module, absl::string_view name);

  absl::Status PushInt(absl::string_view le_bytes);
  absl::Status Step();
  absl::StatusOr<PickleValue*> Apply(PickleValue* callable, PickleValue* args);
  absl::StatusOr<PickleValue*> ApplyBuiltin(const PickleValue& callable,
                                            const PickleValue& args);
  absl::Status Memo(uint64_t id) {
    MVL_ASSIGN_OR_RETURN(PickleValue * top, Top());
    if (memo_.size() >= options_.max_memo_size && !memo_.contains(id)) {
      return TooLarge(absl::StrCat("memo exceeds the limit of ",
                                   options_.max_memo_size, " entries"));
    }
    memo_[id] = top;
    return absl::OkStatus();
  }
  absl::Status Get(uint64_t id) {
    const auto it = memo_.find(id);
    if (it == memo_.end()) {
      return Corrupt(absl::StrCat("memo entry ", id, " is missing"));
    }
    stack_.push_back(it->second);
    return absl::OkStatus();
  }
  absl::Status CheckDepth() const;

  absl::string_view data_;
  std::string source_;
  const UnpickleOptions& options_;
  size_t pos_ = 0;
  size_t op_offset_ = 0;
  uint8_t op_ = 0;
  bool stopped_ = false;
  PickleTree tree_;
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  absl::flat_hash_map<uint64_t, PickleValue*> memo_;
};

PickleValue* Unpickler::NewGlobal(absl::string_view module,
                                  absl::string_view name) {
  // Python 2 module names, as pickle's fix_imports maps them.
  if (module == "__builtin__") module = "builtins";
  if (module == "copy_reg") module = "copyreg";
  PickleValue* v = NewText(Kind::kGlobal, module);
  v->name_ = std::string(name);
  return v;
}

absl::Status Unpickler::PushInt(absl::string_view le) {
  // Drop redundant sign-extension bytes.
  while (le.size() > 1) {
    const auto last = static_cast<uint8_t>(le.back());
    const auto prev = static_cast<uint8_t>(le[le.size() - 2]);
    if ((last == 0x00 && !(prev & 0x80)) || (last == 0xff && (prev & 0x80))) {
      le.remove_suffix(1);
    } else {
      break;
    }
  }
  if (le.size() <= 8) {
    uint64_t v = 0;
    for (size_t i = le.size(); i-- > 0;)
      v = (v << 8) | static_cast<uint8_t>(le[i]);
    if (!le.empty() && (static_cast<uint8_t>(le.back()) & 0x80) &&
        le.size() < 8) {
      v |= ~uint64_t{0} << (8 * le.size());  // sign-extend
    }
    stack_.push_back(tree_.NewInt(static_cast<int64_t>(v)));
    return absl::OkStatus();
  }
  if (le.size() > kMaxBigIntBytes) {
    return TooLarge(absl::StrCat("integer of ", le.size(), " bytes exceeds ",
                                 kMaxBigIntBytes, " bytes"));
  }
  stack_.push_back(NewText(Kind::kBigInt, DecimalFromTwosComplement(le)));
  return absl::OkStatus();
}

absl::StatusOr<PickleValue*> Unpickler::ApplyBuiltin(
    const PickleValue& callable, const PickleValue& args) {
  const std::string& module = callable.module();
  const std::string& name = callable.name();
  const auto& a = args.items();
  if ((module == "collections" && name == "OrderedDict") ||
      (module == "builtins" && name == "dict")) {
    if (a.empty()) return New(Kind::kDict);
    if (a.size() == 1 && a[0]->is_sequence()) {
      bool pairs = true;
      for (const PickleValue* p : a[0]->items()) {
        pairs = pairs && p->is_sequence() && p->items().size() == 2;
      }
      if (pairs) {
        PickleValue* d = New(Kind::kDict);
        for (const PickleValue* p : a[0]->items()) {
          d->SetItem(p->items()[0], p->items()[1]);
        }
        return d;
      }
    }
    if (a.size() == 1 && a[0]->is_dict()) {
      PickleValue* d = New(Kind::kDict);
      for (const auto& [k, v] : a[0]->dict_items()) d->SetItem(k, v);
      return d;
    }
    return nullptr;
  }
  // Protocol 2 has no bytes opcode: bytes are pickled as
  // _codecs.encode(<str of the bytes as Latin-1>, "latin1").
  if ((module == "_codecs" && name == "encode") ||
      (module == "builtins" && name == "bytearray")) {
    if (a.size() == 2 && a[0]->is_string() && a[1]->is_string()) {
      const std::string encoding = absl::AsciiStrToLower(a[1]->string_value());
      std::string bytes;
      if (encoding == "latin1" || encoding == "latin-1" ||
          encoding == "iso-8859-1") {
        if (!Utf8ToLatin1(a[0]->string_value(), &bytes)) return nullptr;
      } else if (encoding == "utf-8" || encoding == "utf8") {
        bytes = a[0]->string_value();
      } else {
        return nullptr;
      }
      return NewText(Kind::kBytes, bytes);
    }
    if (name == "bytearray") {
      if (a.empty()) return New(Kind::kBytes);
      if (a.size() == 1 && a[0]->kind() == Kind::kBytes) {
        return NewText(Kind::kBytes, a[0]->string_value());
      }
    }
    return nullptr;
  }
  if (module == "builtins" && name == "bytes" && a.empty()) {
    return New(Kind::kBytes);
  }
  // Protocol 0/1 instances: copyreg._reconstructor(cls, base, state).
  // For list and dict subclasses `state` holds the elements.
  if (module == "copyreg" && name == "_reconstructor" && a.size() == 3 &&
      a[0]->kind() == Kind::kGlobal && a[1]->kind() == Kind::kGlobal) {
    PickleValue* obj = NewText(Kind::kObject, a[0]->module());
    obj->name_ = a[0]->name();
    obj->args_ = &args;
    const std::string base = a[1]->qualified_name();
    if (base == "builtins.list" && a[2]->kind() == Kind::kList) {
      obj->items_ = a[2]->items();
    } else if (base == "builtins.dict" && a[2]->is_dict()) {
      for (const auto& [k, v] : a[2]->dict_items()) obj->SetItem(k, v);
    }
    return obj;
  }
  return nullptr;
}

// Callables a Python unpickler would run to reach the shell, the file
// system, the network or arbitrary code. This reader never calls anything,
// but a file that asks for them is not a checkpoint: it is refused, so the
// user learns the file is hostile instead of loading part of it.
static bool IsDangerousCallable(absl::string_view module, absl::string_view name) {
  static constexpr absl::string_view kModules[] = {
      "os",       "posix",  "nt",         "subprocess", "sys",     "shutil",
      "socket",   "pty",    "runpy",      "importlib",  "commands", "webbrowser",
      "code",     "ctypes", "pickle",     "_pickle",    "marshal", "multiprocessing",
      "signal",   "platform", "asyncio",  "pdb",        "timeit",  "tempfile"};
  static constexpr absl::string_view kBuiltins[] = {
      "eval",    "exec",   "compile", "open",   "__import__", "getattr", "setattr",
      "delattr", "globals", "locals", "input",  "breakpoint", "execfile", "file",
      "vars",    "apply",  "memoryview"};
  const absl::string_view top = module.substr(0, module.find('.'));
  for (absl::string_view m : kModules) {
    if (top == m) return true;
  }
  if (module == "builtins") {
    for (absl::string_view b : kBuiltins) {
      if (name == b) return true;
    }
  }
  return false;
}

absl::StatusOr<PickleValue*> Unpickler::Apply(PickleValue* callable,
                                              PickleValue* args) {
  if (callable->kind() != Kind::kGlobal) {
    return Corrupt(absl::StrCat("cannot call a ", callable->TypeName(),
                                " (expected a class or function)"));
  }
  if (IsDangerousCallable(callable->module(), callable->name())) {
    return absl::PermissionDeniedError(absl::StrCat(
        Where(), ": the pickle calls ", callable->qualified_name(),
        "; refused (no checkpoint needs it: the file may be malicious; nothing was run)"));
  }
  if (args->kind() != Kind::kTuple) {
    return Corrupt(absl::StrCat("arguments of ", callable->qualified_name(),
                                " are a ", args->TypeName(), ", not a tuple"));
  }
  if (options_.reduce) {
    absl::StatusOr<PickleValue*> result =
        options_.reduce(*callable, *args, &tree_);
    if (!result.ok()) {
      return absl::Status(
          result.status().code(),
          absl::StrCat(Where(), ": ", result.status().message()));
    }
    if (*result != nullptr) return *result;
  }
  MVL_ASSIGN_OR_RETURN(PickleValue * builtin, ApplyBuiltin(*callable, *args));
  if (builtin != nullptr) return builtin;
  PickleValue* obj = NewText(Kind::kObject, callable->module());
  obj->name_ = callable->name();
  obj->args_ = args;
  return obj;
}

absl::Status Unpickler::Step() {
  op_offset_ = pos_;
  MVL_ASSIGN_OR_RETURN(absl::string_view opbyte, Read(1));
  op_ = static_cast<uint8_t>(opbyte[0]);
  switch (op_) {
    case 0x80: {  // PROTO
      MVL_ASSIGN_OR_RETURN(uint64_t version, ReadLe(1));
      if (version > 5) {
        return Unsupported(absl::StrCat("unsupported protocol ", version));
      }
      return absl::OkStatus();
    }
    case 0x95: {  // FRAME: a length hint only
      MVL_ASSIGN_OR_RETURN(uint64_t length, ReadLe(8));
      if (length > data_.size() - pos_) {
        return Corrupt(absl::StrCat("truncated data: frame of ", length,
                                    " bytes, only ", data_.size() - pos_,
                                    " left"));
      }
      return absl::OkStatus();
    }
    case '.': {  // STOP
      MVL_ASSIGN_OR_RETURN(PickleValue * root, Pop());
      tree_.root_ = root;
      stopped_ = true;
      return absl::OkStatus();
    }
    case '(':  // MARK
      marks_.push_back(stack_.size());
      return absl::OkStatus();
    case '0': {  // POP: a value, or a mark if none is above it
      if (stack_.size() > Floor()) {
        stack_.pop_back();
        return absl::OkStatus();
      }
      return PopMark().status();
    }
    case '1':  // POP_MARK
      return PopMark().status();
    case '2': {  // DUP
      MVL_ASSIGN_OR_RETURN(PickleValue * top, Top());
      stack_.push_back(top);
      return absl::OkStatus();
    }

    // Numbers.
    case 'I': {
      MVL_ASSIGN_OR_RETURN(absl::string_view line, ReadLine());
      if (line == "00" || line == "01") {
        stack_.push_back(tree_.NewBool(line == "01"));
        return absl::OkStatus();
      }
      int64_t v;
      if (!absl::SimpleAtoi(line, &v)) {
        return Corrupt(absl::StrCat("bad INT text '", line, "'"));
      }
      stack_.push_back(tree_.NewInt(v));
      return absl::OkStatus();
    }
    case 'J': {
      MVL_ASSIGN_OR_RETURN(uint64_t v, ReadLe(4));
      stack_.push_back(tree_.NewInt(static_cast<int32_t>(v)));
      return absl::OkStatus();
    }
    case 'K':
    case 'M': {
      MVL_ASSIGN_OR_RETURN(uint64_t v, ReadLe(op_ == 'K' ? 1 : 2));
      stack_.push_back(tree_.NewInt(static_cast<int64_t>(v)));
      return absl::OkStatus();
    }
    case 'L': {
      MVL_ASSIGN_OR_RETURN(absl::string_view line, ReadLine());
      if (!line.empty() && line.back() == 'L') line.remove_suffix(1);
      int64_t v;
      if (absl::SimpleAtoi(line, &v)) {
        stack_.push_back(tree_.NewInt(v));
        return absl::OkStatus();
      }
      absl::string_view digits = line;
      if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
        digits.remove_prefix(1);
      }
      if (digits.empty() || digits.size() > 2.5 * kMaxBigIntBytes ||
          !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit)) {
        return Corrupt(
            absl::StrCat("bad LONG text '", line.substr(0, 40), "'"));
      }
      stack_.push_back(NewText(Kind::kBigInt, line));
      return absl::OkStatus();
    }
    case 0x8a:
    case 0x8b: {  // LONG1, LONG4
      MVL_ASSIGN_OR_RETURN(uint64_t n, ReadLe(op_ == 0x8a ? 1 : 4));
      if (op_ == 0x8b && (n & 0x80000000u)) {
        return Corrupt("negative LONG4 length");
      }
      MVL_ASSIGN_OR_RETURN(absl::string_view bytes, Read(n));
      return PushInt(bytes);
    }
    case 'N':
      stack_.push_back(tree_.NewNone());
      return absl::OkStatus();
    case 0x88:
    case 0x89:
      stack_.push_back(tree_.NewBool(op_ == 0x88));
      return absl::OkStatus();
    case 'F': {
      MVL_ASSIGN_OR_RETURN(absl::string_view line, ReadLine());
      double v;
      if (!absl::SimpleAtod(line, &v)) {
        return Corrupt(
            absl::StrCat("bad FLOAT text '", line.substr(0, 40), "'"));
      }
      PickleValue* f = New(Kind::kFloat);
      f->float_ = v;
      stack_.push_back(f);
      return absl::OkStatus();
    }
    case 'G': {  // big-endian IEEE double
      MVL_ASSIGN_OR_RETURN(absl::string_view b, Read(8));
      uint64_t bits = 0;
      for (char c : b) bits = (bits << 8) | static_cast<uint8_t>(c);
      PickleValue* f = New(Kind::kFloat);
      std::memcpy(&f->float_, &bits, sizeof(bits));
      stack_.push_back(f);
      return absl::OkStatus();
    }

    // Strings and bytes.
    case 'X':
    case 0x8c:
    case 0x8d:
    case 'T':
    case 'U':
    case 'B':
    case 'C':
    case 0x8e:
    case 0x96: {
      int width = 4;
      if (op_ == 0x8c || op_ == 'U' || op_ == 'C') width = 1;
      if (op_ == 0x8d || op_ == 0x8e || op_ == 0x96) width = 8;
      MVL_ASSIGN_OR_RETURN(uint64_t n, ReadLe(width));
      if (op_ == 'T' && (n & 0x80000000u)) {
        return Corrupt("negative BINSTRING length");
      }
      MVL_ASSIGN_OR_RETURN(absl::string_view text, Read(n));
      // Python 2 str (BINSTRING) is read as text, as torch.load does.
      const bool is_text =
          op_ == 'X' || op_ == 0x8c || op_ == 0x8d || op_ == 'T' || op_ == 'U';
      stack_.push_back(NewText(is_text ? Kind::kString : Kind::kBytes, text));
      return absl::OkStatus();
    }
    case 'S': {
      MVL_ASSIGN_OR_RETURN(absl::string_view line, ReadLine());
      std::string text;
      if (!DecodeStringRepr(line, &text)) {
        return Corrupt("bad STRING text");
      }
      stack_.push_back(NewText(Kind::kString, text));
      return absl::OkStatus();
    }
    case 'V': {
      MVL_ASSIGN_OR_RETURN(absl::string_view line, ReadLine());
      std::string text;
      if (!DecodeRawUnicodeEscape(line, &text)) {
        return Corrupt("bad UNICODE text");
      }
      stack_.push_back(NewText(Kind::kString, text));
      return absl::OkStatus();
    }

    // Containers.
    case ']':
      stack_.push_back(New(Kind::kList));
      return absl::OkStatus();
    case ')':
      stack_.push_back(New(Kind::kTuple));
      return absl::OkStatus();
    case '}':
      stack_.push_back(New(Kind::kDict));
      return absl::OkStatus();
    case 0x8f: {  // EMPTY_SET
      stack_.push_back(NewGlobal("builtins", "set"));
      stack_.back()->kind_ = Kind::kObject;
      return absl::OkStatus();
    }
    case 'l':
    case 't':
    case 0x91: {  // LIST, TUPLE, FROZENSET
      MVL_ASSIGN_OR_RETURN(std::vector<PickleValue*> items, PopMark());
      PickleValue* v;
      if (op_ == 0x91) {
        v = NewGlobal("builtins", "frozenset");
        v->kind_ = Kind::kObject;
      } else {
        v = New(op_ == 'l' ? Kind::kList : Kind::kTuple);
      }
      v->items_.assign(items.begin(), items.end());
      stack_.push_back(v);
      return absl::OkStatus();
    }
    case 0x85:
    case 0x86:
    case 0x87: {  // TUPLE1..3
      const int n = op_ - 0x84;
      std::vector<PickleValue*> items(n);
      for (int i = n; i-- > 0;) {
        MVL_ASSIGN_OR_RETURN(items[i], Pop());
      }
      stack_.push_back(NewTuple(std::move(items)));
      return absl::OkStatus();
    }
    case 'd': {
      MVL_ASSIGN_OR_RETURN(std::vector<PickleValue*> items, PopMark());
      if (items.size() % 2 != 0) {
        return Corrupt("odd number of values for DICT");
      }
      PickleValue* d = New(Kind::kDict);
      for (size_t i = 0; i < items.size(); i += 2) {
        d->SetItem(items[i], items[i + 1]);
      }
      stack_.push_back(d);
      return absl::OkStatus();
    }
    case 'a':
    case 'e':
    case 0x90: {  // APPEND, APPENDS, ADDITEMS
      std::vector<PickleValue*> items;
      if (op_ == 'a') {
        MVL_ASSIGN_OR_RETURN(PickleValue * v, Pop());
        items.push_back(v);
      } else {
        MVL_ASSIGN_OR_RETURN(items, PopMark());
      }
      MVL_ASSIGN_OR_RETURN(PickleValue * target, Top());
      const bool ok = op_ == 0x90 ? target->kind() == Kind::kObject
                                  : (target->kind() == Kind::kList ||
                                     target->kind() == Kind::kObject);
      if (!ok) {
        return Corrupt(
            absl::StrCat("cannot add items to a ", target->TypeName()));
      }
      target->items_.insert(target->items_.end(), items.begin(), items.end());
      return absl::OkStatus();
    }
    case 's':
    case 'u': {  // SETITEM, SETITEMS
      std::vector<PickleValue*> items(2);
      if (op_ == 's') {
        MVL_ASSIGN_OR_RETURN(items[1], Pop());
        MVL_ASSIGN_OR_RETURN(items[0], Pop());
      } else {
        MVL_ASSIGN_OR_RETURN(items, PopMark());
        if (items.size() % 2 != 0) {
          return Corrupt("odd number of values for SETITEMS");
        }
      }
      MVL_ASSIGN_OR_RETURN(PickleValue * target, Top());
      if (target->kind() != Kind::kDict && target->kind() != Kind::kObject) {
        return Corrupt(
            absl::StrCat("cannot set items on a ", target->TypeName()));
      }
      for (size_t i = 0; i < items.size(); i += 2) {
        target->SetItem(items[i], items[i + 1]);
      }
      return absl::OkStatus();
    }

    // Classes and instances.
    case 'c': {
      MVL_ASSIGN_OR_RETURN(absl::string_view module, ReadLine());
      MVL_ASSIGN_OR_RETURN(absl::string_view name, ReadLine());
      stack_.push_back(NewGlobal(module, name));
      return absl::OkStatus();
    }
    case 0x93: {  // STACK_GLOBAL
      MVL_ASSIGN_OR_RETURN(PickleValue * name, Pop());
      MVL_ASSIGN_OR_RETURN(PickleValue * module, Pop());
      if (!name->is_string() || !module->is_string()) {
        return Corrupt("STACK_GLOBAL needs two strings");
      }
      stack_.push_back(NewGlobal(module->string_value(), name->string_value()));
      return absl::OkStatus();
    }
    case 'R':
    case 0x81:
    case 0x92: {  // REDUCE, NEWOBJ, NEWOBJ_EX
      if (op_ == 0x92) {
        // Keyword arguments only matter to Python constructors; dropped.
        MVL_RETURN_IF_ERROR(Pop().status());
      }
      MVL_ASSIGN_OR_RETURN(PickleValue * args, Pop());
      MVL_ASSIGN_OR_RETURN(PickleValue * callable, Pop());
      MVL_ASSIGN_OR_RETURN(PickleValue * result, Apply(callable, args));
      stack_.push_back(result);
      return absl::OkStatus();
    }
    case 'i': {  // INST
      MVL_ASSIGN_OR_RETURN(absl::string_view module, ReadLine());
      MVL_ASSIGN_OR_RETURN(absl::string_view name, ReadLine());
      MVL_ASSIGN_OR_RETURN(std::vector<PickleValue*> items, PopMark());
      MVL_ASSIGN_OR_RETURN(
          PickleValue * result,
          Apply(NewGlobal(module, name), NewTuple(std::move(items))));
      stack_.push_back(result);
      return absl::OkStatus();
    }
    case 'o': {  // OBJ
      MVL_ASSIGN_OR_RETURN(std::vector<PickleValue*> items, PopMark());
      if (items.empty()) return Corrupt("OBJ without a class");
      PickleValue* cls = items.front();
      items.erase(items.begin());
      MVL_ASSIGN_OR_RETURN(PickleValue * result,
                           Apply(cls, NewTuple(std::move(items))));
      stack_.push_back(result);
      return absl::OkStatus();
    }
    case 'b': {  // BUILD
      MVL_ASSIGN_OR_RETURN(PickleValue * state, Pop());
      MVL_ASSIGN_OR_RETURN(PickleValue * target, Top());
      switch (target->kind()) {
        case Kind::kObject:
        case Kind::kDict:
        case Kind::kList:
        case Kind::kTensor:
        case Kind::kStorage:
          target->state_ = state;
          return absl::OkStatus();
        default:
          return Corrupt(
              absl::StrCat("cannot set the state of a ", target->TypeName()));
      }
    }

    // Memo.
    case 'p': {
      MVL_ASSIGN_OR_RETURN(absl::string_view line, ReadLine());
      uint64_t id;
      if (!absl::SimpleAtoi(line, &id)) {
        return Corrupt(
            absl::StrCat("bad PUT index '", line.substr(0, 40), "'"));
      }
      return Memo(id);
    }
    case 'q':
    case 'r': {
      MVL_ASSIGN_OR_RETURN(uint64_t id, ReadLe(op_ == 'q' ? 1 : 4));
      return Memo(id);
    }
    case 0x94:
      return Memo(memo_.size());
    case 'g': {
      MVL_ASSIGN_OR_RETURN(absl::string_view line, ReadLine());
      uint64_t id;
      if (!absl::SimpleAtoi(line, &id)) {
        return Corrupt(
            absl::StrCat("bad GET index '", line.substr(0, 40), "'"));
      }
      return Get(id);
    }
    case 'h':
    case 'j': {
      MVL_ASSIGN_OR_RETURN(uint64_t id, ReadLe(op_ == 'h' ? 1 : 4));
      return Get(id);
    }

    // Persistent ids: references to data outside the pickle.
    case 'P':
    case 'Q': {
      PickleValue* pid;
      if (op_ == 'P') {
        MVL_ASSIGN_OR_RETURN(absl::string_view line, ReadLine());
        pid = NewText(Kind::kString, line);
      } else {
        MVL_ASSIGN_OR_RETURN(pid, Pop());
      }
      if (!options_.persistent_load) {
        return Unsupported("persistent id but no persistent loader");
      }
      absl::StatusOr<PickleValue*> loaded =
          options_.persistent_load(*pid, &tree_);
      if (!loaded.ok()) {
        return absl::Status(
            loaded.status().code(),
            absl::StrCat(Where(), ": ", loaded.status().message()));
      }
      if (*loaded == nullptr) {
        return Unsupported("persistent id not resolved");
      }
      stack_.push_back(*loaded);
      return absl::OkStatus();
    }

    default:
      return Unsupported("unsupported opcode");
  }
}

absl::Status Unpickler::CheckDepth() const {
  if (tree_.root_ == nullptr) return absl::OkStatus();
  // Longest chain of containment from the root, by an iterative depth-first
  // walk; edges back into the current path (cycles) are not followed.
  struct Frame {
    const PickleValue* value;
    std::vector<const PickleValue*> children;
    size_t next = 0;
    int depth = 0;
  };
  enum class Color : uint8_t { kActive, kDone };
  absl::flat_hash_map<const PickleValue*, std::pair<Color, int>> seen;
  auto children_of = [](const PickleValue* v) {
    std::vector<const PickleValue*> c(v->items_.begin(), v->items_.end());
    for (const auto& [k, val] : v->dict_items_) {
      c.push_back(k);
      c.push_back(val);
    }
    if (v->args_ != nullptr) c.push_back(v->args_);
    if (v->state_ != nullptr) c.push_back(v->state_);
    return c;
  };
  std::vector<Frame> stack;
  stack.push_back({tree_.root_, children_of(tree_.root_)});
  seen[tree_.root_] = {Color::kActive, 0};
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.children.size()) {
      const int height = f.depth + 1;
      seen[f.value] = {Color::kDone, height};
      stack.pop_back();
      if (!stack.empty())
        stack.back().depth = std::max(stack.back().depth, height);
      continue;
    }
    const PickleValue* child = f.children[f.next++];
    const auto it = seen.find(child);
    if (it != seen.end()) {
      if (it->second.first == Color::kDone) {
        f.depth = std::max(f.depth, it->second.second);
      }
      continue;
    }
    if (static_cast<int>(stack.size()) >= options_.max_depth) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "pickle '", source_, "': values nest deeper than the limit of ",
          options_.max_depth));
    }
    seen[child] = {Color::kActive, 0};
    stack.push_back({child, children_of(child)});
  }
  return absl::OkStatus();
}

absl::StatusOr<PickleTree> Unpickler::Run() {
  while (!stopped_) {
    if (pos_ >= data_.size()) {
      op_offset_ = pos_;
      return absl::DataLossError(
          absl::StrCat("pickle '", source_,
                       "': truncated data: no STOP opcode before the "
                       "end at offset ",
                       pos_));
    }
    MVL_RETURN_IF_ERROR(Step());
    if (stack_.size() + marks_.size() > options_.max_stack_size) {
      return TooLarge(absl::StrCat("stack exceeds the limit of ",
                                   options_.max_stack_size, " entries"));
    }
    if (tree_.size() > options_.max_nodes) {
      return TooLarge(
          absl::StrCat("more than ", options_.max_nodes, " values"));
    }
  }
  MVL_RETURN_IF_ERROR(CheckDepth());
  return std::move(tree_);
}

absl::StatusOr<PickleTree> Unpickle(absl::string_view data,
                                    absl::string_view source,
                                    const UnpickleOptions& options) {
  Unpickler unpickler(data, source, options);
  return unpickler.Run();
}

absl::StatusOr<PickleTree> Unpickle(absl::string_view data,
                                    absl::string_view source) {
  return Unpickle(data, source, UnpickleOptions());
}

// ---------------------------------------------------------------------------
// Formatting.

namespace {

// Returns Python's repr() of `f`: the shortest digits that round-trip,
// positional for exponents in [-4, 16), scientific otherwise.
std::string FormatFloat(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  char buf[64];
  const auto result =
      std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  const std::string sci(buf, result.ptr);  // e.g. "-1.25e-05"
  const size_t e = sci.find('e');
  const bool negative = sci[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  int exponent = 0;
  (void)absl::SimpleAtoi(sci.substr(e + 1), &exponent);
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) absl::StrAppend(&out, ".", digits.substr(1));
    absl::StrAppend(&out, "e", exponent < 0 ? "-" : "+",
                    std::abs(exponent) < 10 ? "0" : "", std::abs(exponent));
  } else if (exponent < 0) {
    absl::StrAppend(&out, "0.", std::string(-exponent - 1, '0'), digits);
  } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
    absl::StrAppend(&out, digits,
                    std::string(exponent + 1 - digits.size(), '0'), ".0");
  } else {
    absl::StrAppend(&out, digits.substr(0, exponent + 1), ".",
                    digits.substr(exponent + 1));
  }
  return out;
}

std::string Quote(absl::string_view s, bool bytes, size_t max_chars) {
  std::string out = bytes ? "b'" : "'";
  size_t shown = 0;
  for (char c : s) {
    if (shown++ == max_chars) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (c == '\'' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7f || (bytes && u >= 0x80)) {
      absl::StrAppend(&out, "\\x", absl::Hex(u, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

void Format(const PickleValue& v, const PickleFormatOptions& o, int depth,
            std::string* out) {
  using K = PickleValue::Kind;
  auto open_close = [&](const char* open, const char* close, auto&& body) {
    out->append(open);
    if (depth >= o.max_depth) {
      out->append("...");
    } else {
      body();
    }
    out->append(close);
  };
  auto sequence = [&](const std::vector<const PickleValue*>& items) {
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out->append(", ");
      if (i == o.max_items) {
        absl::StrAppend(out, "... (", items.size(), " items)");
        break;
      }
      Format(*items[i], o, depth + 1, out);
    }
  };
  auto mapping = [&](const auto& items) {
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out->append(", ");
      if (i == o.max_items) {
        absl::StrAppend(out, "... (", items.size(), " items)");
        break;
      }
      Format(*items[i].first, o, depth + 1, out);
      out->append(": ");
      Format(*items[i].second, o, depth + 1, out);
    }
  };
  switch (v.kind()) {
    case K::kNone:
      out->append("None");
      return;
    case K::kBool:
      out->append(v.bool_value() ? "True" : "False");
      return;
    case K::kInt:
      absl::StrAppend(out, v.int_value());
      return;
    case K::kBigInt:
      out->append(v.string_value());
      return;
    case K::kFloat:
      out->append(FormatFloat(v.float_value()));
      return;
    case K::kString:
    case K::kBytes:
      out->append(Quote(v.string_value(), v.kind() == K::kBytes, o.max_string));
      return;
    case K::kList:
      open_close("[", "]", [&] { sequence(v.items()); });
      return;
    case K::kTuple:
      open_close("(", v.items().size() == 1 ? ",)" : ")",
                 [&] { sequence(v.items()); });
      return;
    case K::kDict:
      open_close("{", "}", [&] { mapping(v.dict_items()); });
      return;
    case K::kGlobal:
      absl::StrAppend(out, "<global ", v.qualified_name(), ">");
      return;
    case K::kObject:
      absl::StrAppend(out, "<opaque ", v.qualified_name(), ">");
      return;
    case K::kStorage:
    case K::kTensor:
      if (o.format_external) {
        out->append(o.format_external(v));
      } else {
        absl::StrAppend(out, "<", v.TypeName(), " #", v.index(), ">");
      }
      return;
  }
}

}  // namespace

std::string FormatPickleValue(const PickleValue& value,
                              const PickleFormatOptions& options) {
  std::string out;
  Format(value, options, 0, &out);
  return out;
}

std::string FormatPickleValue(const PickleValue& value) {
  return FormatPickleValue(value, PickleFormatOptions());
}

}  // namespace mammovl::core
