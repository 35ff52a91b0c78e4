// Reading and writing the comma-separated tables that mammography datasets
// ship (VinDr-Mammo, RSNA, EMBED, CBIS-DDSM, the Mammo-CLIP and FPN-MIL CSVs).
// RFC 4180 with the dialect pandas writes: fields quoted when they hold a
// comma, a quote or a line break; "" inside quotes; LF or CRLF; optional
// UTF-8 byte-order mark. Rows whose field count differs from the header are
// kept aside as issues (line number and reason) so the caller applies its
// own policy. No LibTorch, no OpenCV.
#ifndef MAMMOVL_DATA_DATASETS_CSV_H_
#define MAMMOVL_DATA_DATASETS_CSV_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::data {

// One row that could not be used, with where and why.
struct CsvIssue {
  int64_t line = 0;  // 1-based line in the file where the row starts
  std::string message;
};

// A parsed table: the header and the well-formed rows.
struct CsvTable {
  std::string source;  // path or name used in messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> row_lines;  // line where rows[i] starts
  std::vector<CsvIssue> issues;    // malformed rows (wrong field count)

  // Returns the index of column `name`, or -1.
  int FindColumn(absl::string_view name) const;
  // Returns the index of column `name`; InvalidArgument naming the file and
  // the missing column otherwise.
  absl::StatusOr<int> Column(absl::string_view name) const;
  // Returns "<source> line <n>" for row `i`, the prefix of row-level errors.
  std::string Where(size_t i) const;
  // Returns "<source> line <n>, column '<name>'".
  std::string Where(size_t i, int column) const;
};

// Parses `text`. Errors (InvalidArgument): empty input, no header, an
// unterminated quoted field (names the line where it starts).
absl::StatusOr<CsvTable> ParseCsv(absl::string_view text, absl::string_view source);

// Reads and parses the file at `path`. NotFound if it does not exist.
absl::StatusOr<CsvTable> ReadCsv(absl::string_view path);

// Returns `field` quoted for CSV when it needs quoting (pandas' minimal
// quoting: comma, quote, CR or LF), otherwise unchanged.
std::string CsvEscape(absl::string_view field);

// Builds a CSV text row by row; `ToString()` ends every line with '\n'.
class CsvWriter {
 public:
  explicit CsvWriter(std::vector<std::string> header);
  // Appends a row; it must have as many fields as the header (checked by
  // `ToString`, which reports the first bad row).
  void AddRow(std::vector<std::string> fields);
  size_t num_rows() const { return rows_.size(); }
  absl::StatusOr<std::string> ToString() const;
  // Writes the table atomically to `path`.
  absl::Status WriteTo(absl::string_view path) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_DATASETS_CSV_H_
