// Embedding export and feature caches: an [N, D] float32 matrix as
// `<name>.npy` (loadable by numpy.load) next to `<name>_index.csv`, whose row
// i describes matrix row i (pseudonymised sample and patient ids,
// laterality, view, labels; or task, class and prompt for text
// embeddings). Both files are written atomically; reading checks that they
// agree.
#ifndef MAMMOVL_EVAL_EMBEDDING_EXPORT_H_
#define MAMMOVL_EVAL_EMBEDDING_EXPORT_H_

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/datasets/sample.h"

namespace mammovl::eval {

// Columns and one row of cells per embedding ("row" is added first when
// written).
struct EmbeddingIndex {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

// Writes `<dir>/<name>.npy` and `<dir>/<name>_index.csv`, creating `dir`.
// InvalidArgument if `embeddings` is not 2-d, has non-finite values, or the
// index has another number of rows or ragged rows; file errors with the
// path.
absl::Status WriteEmbeddings(absl::string_view dir, absl::string_view name,
                             const at::Tensor& embeddings,
                             const EmbeddingIndex& index);

struct LoadedEmbeddings {
  at::Tensor embeddings;  // [N, D] float32
  EmbeddingIndex index;   // without the "row" column
};

// Reads what `WriteEmbeddings` wrote. NotFound for a missing file,
// DataLoss when the two files disagree (row count, row numbers).
absl::StatusOr<LoadedEmbeddings> ReadEmbeddings(absl::string_view dir,
                                                absl::string_view name);

// Index rows for dataset samples (first image of each): columns sample,
// patient (pseudonyms with `salt`), laterality, view, then one per label
// name ("" where the sample lacks it).
EmbeddingIndex SampleIndex(const std::vector<const data::Sample*>& samples,
                           const std::vector<std::string>& label_names,
                           const std::string& salt);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_EMBEDDING_EXPORT_H_
