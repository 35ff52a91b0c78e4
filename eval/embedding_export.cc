#include "eval/embedding_export.h"

#include <ATen/ATen.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_io.h"
#include "core/npy_tensor.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "data/datasets/csv.h"
#include "data/dicom/pseudonym.h"

namespace mammovl::eval {

absl::Status WriteEmbeddings(absl::string_view dir, absl::string_view name,
                             const at::Tensor& embeddings,
                             const EmbeddingIndex& index) {
  if (!embeddings.defined() || embeddings.dim() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("embeddings ", name, ": need an [N, D] tensor"));
  }
  if (static_cast<int64_t>(index.rows.size()) != embeddings.size(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "embeddings ", name, ": ", embeddings.size(0), " rows but the index has ",
        index.rows.size()));
  }
  MVL_ASSIGN_OR_RETURN(at::Tensor values,
                       core::RunTorch("preparing embeddings", [&] {
                         return embeddings.detach().to(at::kCPU, at::kFloat).contiguous();
                       }));
  if (!at::isfinite(values).all().item<bool>()) {
    return absl::InvalidArgumentError(
        absl::StrCat("embeddings ", name, ": non-finite values"));
  }
  std::vector<std::string> header = {"row"};
  header.insert(header.end(), index.columns.begin(), index.columns.end());
  data::CsvWriter csv(header);
  for (size_t i = 0; i < index.rows.size(); ++i) {
    if (index.rows[i].size() != index.columns.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "embeddings ", name, ": index row ", i, " has ", index.rows[i].size(),
          " cells for ", index.columns.size(), " columns"));
    }
    std::vector<std::string> row = {absl::StrCat(i)};
    row.insert(row.end(), index.rows[i].begin(), index.rows[i].end());
    csv.AddRow(row);
  }
  const std::string base = absl::StrCat(dir, "/", name);
  MVL_RETURN_IF_ERROR(core::MakeDirectories(dir));
  MVL_RETURN_IF_ERROR(core::WriteNpyTensor(base + ".npy", values));
  MVL_ASSIGN_OR_RETURN(std::string text, csv.ToString());
  return core::WriteFileAtomically(base + "_index.csv", text);
}

absl::StatusOr<LoadedEmbeddings> ReadEmbeddings(absl::string_view dir,
                                                absl::string_view name) {
  const std::string base = absl::StrCat(dir, "/", name);
  LoadedEmbeddings out;
  MVL_ASSIGN_OR_RETURN(out.embeddings, core::ReadNpyTensor(base + ".npy"));
  MVL_ASSIGN_OR_RETURN(data::CsvTable table, data::ReadCsv(base + "_index.csv"));
  if (out.embeddings.dim() != 2 || out.embeddings.scalar_type() != at::kFloat) {
    return absl::DataLossError(base + ".npy: expected a 2-d float32 array");
  }
  if (!table.issues.empty() || table.header.empty() || table.header[0] != "row" ||
      static_cast<int64_t>(table.rows.size()) != out.embeddings.size(0)) {
    return absl::DataLossError(absl::StrCat(
        base, "_index.csv does not describe the ", out.embeddings.size(0),
        " rows of ", base, ".npy"));
  }
  out.index.columns.assign(table.header.begin() + 1, table.header.end());
  for (size_t i = 0; i < table.rows.size(); ++i) {
    int64_t row = -1;
    if (!absl::SimpleAtoi(table.rows[i][0], &row) ||
        row != static_cast<int64_t>(i)) {
      return absl::DataLossError(absl::StrCat(table.Where(i), ": row number ",
                                              table.rows[i][0], ", expected ", i));
    }
    out.index.rows.emplace_back(table.rows[i].begin() + 1, table.rows[i].end());
  }
  return out;
}

EmbeddingIndex SampleIndex(const std::vector<const data::Sample*>& samples,
                           const std::vector<std::string>& label_names,
                           const std::string& salt) {
  EmbeddingIndex index;
  index.columns = {"sample", "patient", "laterality", "view"};
  index.columns.insert(index.columns.end(), label_names.begin(), label_names.end());
  for (const data::Sample* s : samples) {
    std::vector<std::string> row = {
        data::Pseudonymize(salt, s->id), data::Pseudonymize(salt, s->patient_id),
        s->laterality, s->images.empty() ? "" : s->images[0].view};
    for (const auto& label : label_names) {
      row.push_back(s->HasLabel(label) ? absl::StrFormat("%g", s->Label(label)) : "");
    }
    index.rows.push_back(std::move(row));
  }
  return index;
}

}  // namespace mammovl::eval
