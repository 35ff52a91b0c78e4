#include "data/datasets/csv.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_macros.h"

namespace mammovl::data {

int CsvTable::FindColumn(absl::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<int> CsvTable::Column(absl::string_view name) const {
  const int c = FindColumn(name);
  if (c < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": missing column '", name, "'"));
  }
  return c;
}

std::string CsvTable::Where(size_t i) const {
  return absl::StrCat(source, " line ", i < row_lines.size() ? row_lines[i] : 0);
}

std::string CsvTable::Where(size_t i, int column) const {
  const std::string name =
      column >= 0 && column < static_cast<int>(header.size()) ? header[column] : "?";
  return absl::StrCat(Where(i), ", column '", name, "'");
}

absl::StatusOr<CsvTable> ParseCsv(absl::string_view text, absl::string_view source) {
  CsvTable table;
  table.source = std::string(source);
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  std::vector<std::string> fields;
  std::string field;
  int64_t line = 1;
  int64_t row_start_line = 1;
  bool in_quotes = false;
  bool field_was_quoted = false;
  bool have_header = false;
  bool row_has_content = false;
  int64_t quote_start_line = 0;

  auto finish_row = [&]() {
    fields.push_back(std::move(field));
    field.clear();
    const bool blank = fields.size() == 1 && fields[0].empty() && !field_was_quoted;
    field_was_quoted = false;
    if (blank) {
      fields.clear();
      return;
    }
    if (!have_header) {
      table.header = std::move(fields);
      have_header = true;
    } else if (fields.size() != table.header.size()) {
      table.issues.push_back(
          {row_start_line, absl::StrCat("expected ", table.header.size(), " fields, found ",
                                        fields.size())});
    } else {
      table.rows.push_back(std::move(fields));
      table.row_lines.push_back(row_start_line);
    }
    fields.clear();
  };

  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < n && text[i + 1] == '"') {
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
    switch (c) {
      case '"':
        if (field.empty()) {
          in_quotes = true;
          field_was_quoted = true;
          quote_start_line = line;
        } else {
          field.push_back(c);  // a stray quote inside an unquoted field
        }
        row_has_content = true;
        break;
      case ',':
        fields.push_back(std::move(field));
        field.clear();
        row_has_content = true;
        break;
      case '\r':
        if (i + 1 < n && text[i + 1] == '\n') break;  // CRLF: handled at LF
        [[fallthrough]];
      case '\n':
        finish_row();
        ++line;
        row_start_line = line;
        row_has_content = false;
        break;
      default:
        field.push_back(c);
        row_has_content = true;
    }
  }
  if (in_quotes) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, " line ", quote_start_line, ": quoted field is never closed"));
  }
  if (row_has_content || !field.empty() || !fields.empty()) finish_row();
  if (!have_header) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": empty file, no header"));
  }
  return table;
}

absl::StatusOr<CsvTable> ReadCsv(absl::string_view path) {
  MVL_ASSIGN_OR_RETURN(std::string text, core::ReadFileToString(path));
  return ParseCsv(text, path);
}

std::string CsvEscape(absl::string_view field) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

CsvWriter::CsvWriter(std::vector<std::string> header) : header_(std::move(header)) {}

void CsvWriter::AddRow(std::vector<std::string> fields) { rows_.push_back(std::move(fields)); }

absl::StatusOr<std::string> CsvWriter::ToString() const {
  std::string out;
  auto append_row = [&out](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out.push_back(',');
      out += CsvEscape(row[i]);
    }
    out.push_back('\n');
  };
  append_row(header_);
  for (size_t r = 0; r < rows_.size(); ++r) {
    if (rows_[r].size() != header_.size()) {
      return absl::InternalError(absl::StrCat("CSV row ", r, " has ", rows_[r].size(),
                                              " fields, header has ", header_.size()));
    }
    append_row(rows_[r]);
  }
  return out;
}

absl::Status CsvWriter::WriteTo(absl::string_view path) const {
  MVL_ASSIGN_OR_RETURN(std::string text, ToString());
  return core::WriteFileAtomically(path, text);
}

}  // namespace mammovl::data
