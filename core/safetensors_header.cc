#include "core/safetensors_header.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mammovl::core {
namespace {

using ::google::protobuf::Value;

// The reference implementation refuses larger headers.
constexpr uint64_t kMaxHeaderSize = 100'000'000;
// Integers in JSON are read as doubles; beyond 2^53 they are not exact.
constexpr double kMaxExactInteger = 9007199254740992.0;

struct DtypeEntry {
  SafetensorsDtype dtype;
  const char* name;
  size_t size;
  int writer_rank;  // position in the reference writer's order (descending)
};

constexpr DtypeEntry kDtypes[] = {
    {SafetensorsDtype::kI64, "I64", 8, 0},
    {SafetensorsDtype::kF64, "F64", 8, 1},
    {SafetensorsDtype::kF32, "F32", 4, 2},
    {SafetensorsDtype::kI32, "I32", 4, 3},
    {SafetensorsDtype::kBF16, "BF16", 2, 4},
    {SafetensorsDtype::kF16, "F16", 2, 5},
    {SafetensorsDtype::kI16, "I16", 2, 6},
    {SafetensorsDtype::kI8, "I8", 1, 7},
    {SafetensorsDtype::kU8, "U8", 1, 8},
    {SafetensorsDtype::kBool, "BOOL", 1, 9},
};

const DtypeEntry& Entry(SafetensorsDtype dtype) {
  for (const DtypeEntry& e : kDtypes) {
    if (e.dtype == dtype) return e;
  }
  return kDtypes[0];  // unreachable: every enumerator is listed
}

std::string Where(absl::string_view path) {
  return absl::StrCat("safetensors file '", path, "'");
}
std::string Where(absl::string_view path, absl::string_view tensor) {
  return absl::StrCat("safetensors file '", path, "', tensor '", tensor, "'");
}

bool ToUint(const Value& v, uint64_t* out) {
  if (v.kind_case() != Value::kNumberValue) return false;
  const double d = v.number_value();
  if (!(d >= 0) || d > kMaxExactInteger || d != std::floor(d)) return false;
  *out = static_cast<uint64_t>(d);
  return true;
}

const Value* Field(const Value& v, const char* name) {
  const auto& fields = v.struct_value().fields();
  const auto it = fields.find(name);
  return it == fields.end() ? nullptr : &it->second;
}

// Writes `s` as a JSON string, escaping as serde_json does.
void AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(
              out, "\\u00",
              absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

absl::string_view SafetensorsDtypeName(SafetensorsDtype dtype) {
  return Entry(dtype).name;
}

size_t SafetensorsDtypeSize(SafetensorsDtype dtype) {
  return Entry(dtype).size;
}

absl::optional<SafetensorsDtype> ParseSafetensorsDtype(absl::string_view name) {
  for (const DtypeEntry& e : kDtypes) {
    if (name == e.name) return e.dtype;
  }
  return absl::nullopt;
}

absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(
    absl::string_view file, absl::string_view path) {
  if (file.size() < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(path), ": not a safetensors file (", file.size(),
                     " bytes, too short for the 8-byte header length)"));
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(file[i]);
  if (n > kMaxHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(path), ": not a safetensors file (header length ", n,
                     " exceeds the limit of ", kMaxHeaderSize, " bytes)"));
  }
  if (n > file.size() - 8) {
    return absl::DataLossError(
        absl::StrCat(Where(path), ": header of ", n,
                     " bytes runs past the end of the file (", file.size(),
                     " bytes; truncated?)"));
  }
  const absl::string_view json = file.substr(8, n);
  if (json.empty() || json[0] != '{') {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(path),
                     ": not a safetensors file (the header does not start "
                     "with '{')"));
  }
  Value root_value;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()),
      root_value.mutable_struct_value());
  if (!parsed.ok()) {
    return absl::DataLossError(absl::StrCat(
        Where(path), ": header is not valid JSON: ", parsed.ToString()));
  }

  SafetensorsHeader header;
  header.data_start = 8 + n;
  const uint64_t buffer_size = file.size() - header.data_start;
  for (const auto& [name, value] : root_value.struct_value().fields()) {
    if (name == "__metadata__") {
      if (value.kind_case() != Value::kStructValue) {
        return absl::DataLossError(
            absl::StrCat(Where(path), ": __metadata__ is not a JSON object"));
      }
      for (const auto& [key, v] : value.struct_value().fields()) {
        if (v.kind_case() != Value::kStringValue) {
          return absl::DataLossError(absl::StrCat(Where(path),
                                                  ": __metadata__ value of '",
                                                  key, "' is not a string"));
        }
        header.metadata[key] = v.string_value();
      }
      continue;
    }
    SafetensorsTensorInfo info;
    info.name = name;
    if (value.kind_case() != Value::kStructValue) {
      return absl::DataLossError(
          absl::StrCat(Where(path, name), ": entry is not a JSON object"));
    }
    const Value* dtype = Field(value, "dtype");
    const Value* shape = Field(value, "shape");
    const Value* offsets = Field(value, "data_offsets");
    if (dtype == nullptr || dtype->kind_case() != Value::kStringValue) {
      return absl::DataLossError(
          absl::StrCat(Where(path, name), ": missing or non-string \"dtype\""));
    }
    const absl::optional<SafetensorsDtype> parsed_dtype =
        ParseSafetensorsDtype(dtype->string_value());
    if (!parsed_dtype.has_value()) {
      return absl::UnimplementedError(
          absl::StrCat(Where(path, name), ": dtype '", dtype->string_value(),
                       "' is not supported (supported: F64, F32, F16, BF16, "
                       "I64, I32, I16, I8, U8, BOOL)"));
    }
    info.dtype = *parsed_dtype;
    if (shape == nullptr || shape->kind_case() != Value::kListValue) {
      return absl::DataLossError(
          absl::StrCat(Where(path, name), ": missing or non-list \"shape\""));
    }
    // Number of bytes shape x dtype, with overflow checks.
    unsigned __int128 nbytes = SafetensorsDtypeSize(info.dtype);
    for (const Value& d : shape->list_value().values()) {
      uint64_t dim;
      if (!ToUint(d, &dim)) {
        return absl::DataLossError(
            absl::StrCat(Where(path, name),
                         ": shape holds a value that is not a "
                         "non-negative integer"));
      }
      info.shape.push_back(static_cast<int64_t>(dim));
      nbytes *= dim;
      if (nbytes > file.size())
        nbytes = static_cast<unsigned __int128>(file.size()) + 1;
    }
    if (offsets == nullptr || offsets->kind_case() != Value::kListValue ||
        offsets->list_value().values_size() != 2 ||
        !ToUint(offsets->list_value().values(0), &info.begin) ||
        !ToUint(offsets->list_value().values(1), &info.end)) {
      return absl::DataLossError(absl::StrCat(
          Where(path, name),
          ": \"data_offsets\" is not a list of two non-negative integers"));
    }
    if (info.end < info.begin) {
      return absl::DataLossError(
          absl::StrCat(Where(path, name), ": data_offsets [", info.begin, ", ",
                       info.end, "] end before they begin"));
    }
    if (info.end > buffer_size) {
      return absl::DataLossError(absl::StrCat(
          Where(path, name), ": data_offsets [", info.begin, ", ", info.end,
          "] are out of range: the data buffer holds ", buffer_size, " bytes"));
    }
    if (nbytes != info.end - info.begin) {
      return absl::DataLossError(absl::StrCat(
          Where(path, name), ": data_offsets [", info.begin, ", ", info.end,
          "] span ", info.end - info.begin, " bytes, but shape [",
          absl::StrJoin(info.shape, ", "), "] of ", dtype->string_value(),
          " needs ",
          nbytes > file.size() ? std::string("more than the file holds")
                               : absl::StrCat(static_cast<uint64_t>(nbytes))));
    }
    header.tensors.push_back(std::move(info));
  }

  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const SafetensorsTensorInfo& a, const SafetensorsTensorInfo& b) {
              return std::tie(a.begin, a.end, a.name) <
                     std::tie(b.begin, b.end, b.name);
            });
  uint64_t expected_begin = 0;
  const SafetensorsTensorInfo* previous = nullptr;
  for (const SafetensorsTensorInfo& info : header.tensors) {
    if (info.begin < expected_begin) {
      return absl::DataLossError(absl::StrCat(
          Where(path, info.name), ": data_offsets [", info.begin, ", ",
          info.end, "] overlap those of tensor '", previous->name, "' [",
          previous->begin, ", ", previous->end, "]"));
    }
    if (info.begin > expected_begin) {
      return absl::DataLossError(absl::StrCat(
          Where(path, info.name), ": data_offsets [", info.begin, ", ",
          info.end, "] leave a gap: the data ",
          previous == nullptr ? std::string("starts at 0")
                              : absl::StrCat("of tensor '", previous->name,
                                             "' ends at ", expected_begin)));
    }
    expected_begin = info.end;
    previous = &info;
  }
  if (expected_begin != buffer_size) {
    return absl::DataLossError(
        absl::StrCat(Where(path), ": tensor data ends at byte ", expected_begin,
                     " of a data buffer of ", buffer_size,
                     " bytes; the offsets must cover "
                     "it exactly"));
  }
  return header;
}

absl::StatusOr<uint64_t> LayOutSafetensors(
    std::vector<SafetensorsTensorInfo>* tensors) {
  std::stable_sort(
      tensors->begin(), tensors->end(),
      [](const SafetensorsTensorInfo& a, const SafetensorsTensorInfo& b) {
        return std::make_pair(Entry(a.dtype).writer_rank, a.name) <
               std::make_pair(Entry(b.dtype).writer_rank, b.name);
      });
  uint64_t offset = 0;
  for (SafetensorsTensorInfo& info : *tensors) {
    unsigned __int128 nbytes = SafetensorsDtypeSize(info.dtype);
    for (const int64_t d : info.shape) {
      if (d < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor '", info.name, "' has a negative dimension"));
      }
      nbytes *= static_cast<uint64_t>(d);
      if (nbytes > kMaxExactInteger) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor '", info.name, "' is too large"));
      }
    }
    info.begin = offset;
    info.end = offset + static_cast<uint64_t>(nbytes);
    if (info.end > kMaxExactInteger) {
      return absl::InvalidArgumentError("tensors are too large for one file");
    }
    offset = info.end;
  }
  return offset;
}

std::string SerializeSafetensorsHeader(
    const std::vector<SafetensorsTensorInfo>& tensors,
    const std::map<std::string, std::string>& metadata) {
  std::string json = "{";
  bool first = true;
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    for (const auto& [key, value] : metadata) {
      if (!first) json += ",";
      first = false;
      AppendJsonString(key, &json);
      json += ":";
      AppendJsonString(value, &json);
    }
    json += "}";
  }
  for (const SafetensorsTensorInfo& info : tensors) {
    if (json.size() > 1) json += ",";
    AppendJsonString(info.name, &json);
    absl::StrAppend(&json, ":{\"dtype\":\"", SafetensorsDtypeName(info.dtype),
                    "\",\"shape\":[", absl::StrJoin(info.shape, ","),
                    "],\"data_offsets\":[", info.begin, ",", info.end, "]}");
  }
  json += "}";
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>((static_cast<uint64_t>(json.size()) >> (8 * i)) &
                               0xff);
  }
  return out + json;
}

}  // namespace mammovl::core
