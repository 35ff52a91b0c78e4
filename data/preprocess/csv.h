// Minimal RFC 4180 CSV: quoted fields with embedded commas, quotes and
// newlines; a header row names the columns. Errors name the source and the
// line. No LibTorch.
#ifndef MAMMOVL_DATA_PREPROCESS_CSV_H_
#define MAMMOVL_DATA_PREPROCESS_CSV_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mammovl::data {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // 1-based line number where each row starts (for error messages).
  std::vector<int64_t> line_numbers;

  // Index of column `name`, or -1.
  int Column(absl::string_view name) const;
};

struct CsvReadOptions {
  // Drop a last row that lacks its terminating newline or has fewer fields
  // than the header (a file cut by a crash) instead of failing.
  bool tolerate_truncated_last_row = false;
};

// Parses `text` (first row = header). InvalidArgument, naming `source` and
// the line, for rows whose field count differs from the header's or for an
// unterminated quote.
absl::StatusOr<CsvTable> ParseCsv(absl::string_view text,
                                  absl::string_view source,
                                  const CsvReadOptions& options = {});

// Reads and parses the file at `path`.
absl::StatusOr<CsvTable> ReadCsvFile(absl::string_view path,
                                     const CsvReadOptions& options = {});

// Returns one CSV line (with '\n'), quoting fields that need it.
std::string CsvLine(const std::vector<std::string>& fields);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_PREPROCESS_CSV_H_
