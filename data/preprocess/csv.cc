#include "data/preprocess/csv.h"

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_macros.h"

namespace mammovl::data {

int CsvTable::Column(absl::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<CsvTable> ParseCsv(absl::string_view text,
                                  absl::string_view source,
                                  const CsvReadOptions& options) {
  CsvTable table;
  std::vector<std::string> fields;
  std::string field;
  bool in_quotes = false;
  bool field_started = false;  // the current row has content
  int64_t line = 1;
  int64_t row_line = 1;
  bool header_done = false;
  // Skip a UTF-8 byte order mark.
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF")
    text.remove_prefix(3);

  auto finish_row = [&]() -> absl::Status {
    fields.push_back(std::move(field));
    field.clear();
    if (!header_done) {
      table.header = std::move(fields);
      header_done = true;
    } else if (fields.size() != table.header.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", row_line, ": ", fields.size(),
                       " fields, the header has ", table.header.size()));
    } else {
      table.rows.push_back(std::move(fields));
      table.line_numbers.push_back(row_line);
    }
    fields.clear();
    field_started = false;
    return absl::OkStatus();
  };

  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      in_quotes = true;
      field_started = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      field_started = true;
    } else if (c == '\r') {
      // Ignored (CRLF line ends).
    } else if (c == '\n') {
      MVL_RETURN_IF_ERROR(finish_row());
      ++line;
      row_line = line;
    } else {
      field.push_back(c);
      field_started = true;
    }
  }
  if (in_quotes) {
    if (options.tolerate_truncated_last_row && header_done) return table;
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", row_line, ": unterminated quoted field"));
  }
  if (field_started || !field.empty() || !fields.empty()) {
    // A last row without its newline.
    if (options.tolerate_truncated_last_row && header_done) return table;
    MVL_RETURN_IF_ERROR(finish_row());
  }
  if (!header_done)
    return absl::InvalidArgumentError(absl::StrCat(source, ": empty CSV"));
  return table;
}

absl::StatusOr<CsvTable> ReadCsvFile(absl::string_view path,
                                     const CsvReadOptions& options) {
  MVL_ASSIGN_OR_RETURN(const std::string text, core::ReadFileToString(path));
  return ParseCsv(text, path, options);
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(',');
    const std::string& f = fields[i];
    if (f.find_first_of(",\"\n\r") == std::string::npos) {
      out += f;
      continue;
    }
    out.push_back('"');
    for (char c : f) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('\n');
  return out;
}

}  // namespace mammovl::data
