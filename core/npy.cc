#include "core/npy.h"

#include <limits>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/file_io.h"

namespace mammovl::core {
namespace {

constexpr absl::string_view kMagic("\x93NUMPY", 6);

// Finds the value that follows `'key':` in the header dict literal.
absl::StatusOr<absl::string_view> DictValue(absl::string_view header, absl::string_view key,
                                            absl::string_view name) {
  const std::string quoted[] = {absl::StrCat("'", key, "'"), absl::StrCat("\"", key, "\"")};
  for (const std::string& q : quoted) {
    const size_t pos = header.find(q);
    if (pos == absl::string_view::npos) continue;
    absl::string_view rest = header.substr(pos + q.size());
    rest = absl::StripLeadingAsciiWhitespace(rest);
    if (!absl::ConsumePrefix(&rest, ":")) break;
    return absl::StripLeadingAsciiWhitespace(rest);
  }
  return absl::DataLossError(absl::StrCat(name, ": npy header has no '", key, "' entry"));
}

bool ValidDescr(absl::string_view d) {
  if (d.size() < 3) return false;
  if (d[0] != '<' && d[0] != '>' && d[0] != '|' && d[0] != '=') return false;
  if (d[1] != 'f' && d[1] != 'i' && d[1] != 'u' && d[1] != 'b' && d[1] != 'c') return false;
  int size = 0;
  return absl::SimpleAtoi(d.substr(2), &size) && size > 0 && size <= 16;
}

}  // namespace

int64_t NpyArray::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int NpyArray::ItemSize() const {
  int size = 0;
  if (!ValidDescr(descr) || !absl::SimpleAtoi(descr.substr(2), &size)) return 0;
  return size;
}

absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes, absl::string_view name) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic) {
    return absl::DataLossError(absl::StrCat(name, ": not a .npy file (bad magic)"));
  }
  const uint8_t major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return absl::DataLossError(absl::StrCat(name, ": truncated npy header"));
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    return absl::UnimplementedError(absl::StrCat(name, ": npy format version ", major, " is not supported"));
  }
  if (header_len > bytes.size() - header_start) {
    return absl::DataLossError(absl::StrCat(name, ": npy header length ", header_len, " exceeds the file"));
  }
  const absl::string_view header = bytes.substr(header_start, header_len);
  NpyArray array;

  absl::string_view descr;
  {
    auto v = DictValue(header, "descr", name);
    if (!v.ok()) return v.status();
    absl::string_view rest = *v;
    if (rest.empty() || (rest[0] != '\'' && rest[0] != '"')) {
      return absl::UnimplementedError(absl::StrCat(name, ": structured npy dtypes are not supported"));
    }
    const char quote = rest[0];
    const size_t end = rest.find(quote, 1);
    if (end == absl::string_view::npos) return absl::DataLossError(absl::StrCat(name, ": bad npy descr"));
    descr = rest.substr(1, end - 1);
  }
  if (!ValidDescr(descr)) {
    return absl::UnimplementedError(absl::StrCat(name, ": unsupported npy dtype '", descr, "'"));
  }
  if (descr[0] == '>' && descr.substr(2) != "1") {
    return absl::UnimplementedError(absl::StrCat(name, ": big-endian npy dtype '", descr, "' is not supported"));
  }
  array.descr = std::string(descr);
  if (array.descr[0] == '=') array.descr[0] = '<';

  {
    auto v = DictValue(header, "fortran_order", name);
    if (!v.ok()) return v.status();
    if (absl::StartsWith(*v, "True")) {
      array.fortran_order = true;
    } else if (!absl::StartsWith(*v, "False")) {
      return absl::DataLossError(absl::StrCat(name, ": bad npy fortran_order"));
    }
  }
  {
    auto v = DictValue(header, "shape", name);
    if (!v.ok()) return v.status();
    absl::string_view rest = *v;
    const size_t close = rest.find(')');
    if (rest.empty() || rest[0] != '(' || close == absl::string_view::npos) {
      return absl::DataLossError(absl::StrCat(name, ": bad npy shape"));
    }
    for (absl::string_view part : absl::StrSplit(rest.substr(1, close - 1), ',')) {
      part = absl::StripAsciiWhitespace(part);
      if (part.empty()) continue;
      int64_t dim = 0;
      if (!absl::SimpleAtoi(part, &dim) || dim < 0) {
        return absl::DataLossError(absl::StrCat(name, ": bad npy dimension '", part, "'"));
      }
      array.shape.push_back(dim);
    }
  }
  const absl::string_view data = bytes.substr(header_start + header_len);
  // Overflow-safe element count.
  int64_t count = 1;
  for (int64_t d : array.shape) {
    if (d != 0 && count > std::numeric_limits<int64_t>::max() / 16 / d) {
      return absl::DataLossError(absl::StrCat(name, ": npy shape is absurdly large"));
    }
    count *= d;
  }
  const uint64_t expected = static_cast<uint64_t>(count) * array.ItemSize();
  if (data.size() != expected) {
    return absl::DataLossError(absl::StrCat(name, ": npy data has ", data.size(),
                                            " bytes, shape and dtype need ", expected));
  }
  array.data = std::string(data);
  return array;
}

absl::StatusOr<NpyArray> ReadNpy(absl::string_view path) {
  auto bytes = ReadFileToString(path);
  if (!bytes.ok()) return bytes.status();
  return ParseNpy(*bytes, path);
}

absl::StatusOr<std::string> SerializeNpy(const NpyArray& array) {
  if (!ValidDescr(array.descr)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid npy dtype '", array.descr, "'"));
  }
  for (int64_t d : array.shape) {
    if (d < 0) return absl::InvalidArgumentError("negative dimension in npy shape");
  }
  const uint64_t expected = static_cast<uint64_t>(array.NumElements()) * array.ItemSize();
  if (array.data.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("npy data has ", array.data.size(),
                                                   " bytes, shape and dtype need ", expected));
  }
  std::string shape = absl::StrJoin(array.shape, ", ");
  if (array.shape.size() == 1) shape += ",";
  std::string header = absl::StrCat("{'descr': '", array.descr, "', 'fortran_order': ",
                                    array.fortran_order ? "True" : "False", ", 'shape': (",
                                    shape, "), }");
  // Pad with spaces so that the data starts on a 64-byte boundary; end with \n.
  const bool v2 = header.size() + 11 > 65535;
  const size_t prefix = v2 ? 12 : 10;
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');
  std::string out(kMagic);
  out.push_back(v2 ? 2 : 1);
  out.push_back(0);
  const size_t len = header.size();
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  out += header;
  out += array.data;
  return out;
}

absl::Status WriteNpy(absl::string_view path, const NpyArray& array) {
  auto bytes = SerializeNpy(array);
  if (!bytes.ok()) {
    return absl::Status(bytes.status().code(), absl::StrCat(path, ": ", bytes.status().message()));
  }
  return WriteFileAtomically(path, *bytes);
}

}  // namespace mammovl::core
