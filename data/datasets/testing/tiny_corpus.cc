#include "data/datasets/testing/tiny_corpus.h"

#include <cstdlib>

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "data/synth/synth.h"

namespace mammovl::data::testing {

const std::string& TinyCorpus() {
  static const std::string* root = [] {
    const char* tmp = std::getenv("TEST_TMPDIR");
    auto* path = new std::string(absl::StrCat(tmp ? tmp : "/tmp", "/tiny_corpus"));
    SynthConfig config;
    config.set_preset(SynthConfig::TINY);
    config.set_num_patients(12);
    config.mutable_outputs()->set_write_dicom(false);
    auto summary = GenerateCorpus(config, *path);
    CHECK(summary.ok()) << summary.status();
    return path;
  }();
  return *root;
}

std::string TablePath(const std::string& relative) {
  return absl::StrCat(TinyCorpus(), "/tables/", relative);
}

std::string RewriteTable(const std::string& source, const std::string& name,
                         const std::function<void(std::vector<std::string>& header,
                                                  std::vector<std::vector<std::string>>& rows)>& edit) {
  absl::StatusOr<CsvTable> t = ReadCsv(source);
  CHECK(t.ok()) << t.status();
  std::vector<std::string> header = t->header;
  std::vector<std::vector<std::string>> rows = t->rows;
  edit(header, rows);
  CsvWriter w(header);
  for (auto& r : rows) w.AddRow(r);
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp ? tmp : "/tmp", "/", name);
  CHECK(w.WriteTo(path).ok());
  return path;
}

int ColumnIndex(const std::vector<std::string>& header, const std::string& column) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == column) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace mammovl::data::testing
