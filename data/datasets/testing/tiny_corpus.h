// Test helpers: a tiny synthetic corpus (generated once per test binary
// under TEST_TMPDIR) and rewriting a copy of one of its tables with a
// change, for the malformed-row tests of the adapters.
#ifndef MAMMOVL_DATA_DATASETS_TESTING_TINY_CORPUS_H_
#define MAMMOVL_DATA_DATASETS_TESTING_TINY_CORPUS_H_

#include <functional>
#include <string>
#include <vector>

#include "data/datasets/csv.h"

namespace mammovl::data::testing {

// Root of a TINY corpus with `num_patients` patients (PNG + tables, no
// DICOM), generated on first use.
const std::string& TinyCorpus();

// Path of a table under `<corpus>/tables/`.
std::string TablePath(const std::string& relative);

// Reads `source`, lets `edit` change header and rows, writes the result to
// a new file under TEST_TMPDIR and returns its path. Dies on I/O errors.
std::string RewriteTable(const std::string& source, const std::string& name,
                         const std::function<void(std::vector<std::string>& header,
                                                  std::vector<std::vector<std::string>>& rows)>& edit);

// Index of `column` in `header` (-1 if absent).
int ColumnIndex(const std::vector<std::string>& header, const std::string& column);

}  // namespace mammovl::data::testing

#endif  // MAMMOVL_DATA_DATASETS_TESTING_TINY_CORPUS_H_
