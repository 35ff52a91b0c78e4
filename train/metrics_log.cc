#include "train/metrics_log.h"

#include <glog/logging.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "train/json_text.h"

namespace mammovl::train {
namespace {

std::string FormatNumber(double value) {
  return absl::StrFormat("%.10g", value);
}

std::string CsvField(absl::string_view s) {
  if (s.find_first_of(",\"\n\r") == absl::string_view::npos)
    return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

std::string MetricsRowToJson(const MetricsRow& row) {
  std::string out = absl::StrCat("{\"step\": ", row.step);
  for (const auto& [name, value] : row.values) {
    absl::StrAppend(&out, ", ", JsonQuote(name), ": ",
                    std::isfinite(value) ? FormatNumber(value) : "null");
  }
  out += "}";
  return out;
}

absl::StatusOr<MetricsRow> ParseMetricsJson(absl::string_view line) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("not a metrics row: '", line.substr(0, 80), "'"));
  };
  absl::StatusOr<JsonValue> parsed = ParseJson(line);
  if (!parsed.ok() || parsed->kind != JsonValue::Kind::kObject) return bad();
  MetricsRow row;
  bool has_step = false;
  for (auto& [key, value] : parsed->object) {
    double number = std::numeric_limits<double>::quiet_NaN();
    if (value.kind == JsonValue::Kind::kNumber) {
      number = value.number;
    } else if (value.kind != JsonValue::Kind::kNull) {
      return bad();
    }
    if (key == "step") {
      if (!std::isfinite(number) || number != std::floor(number)) return bad();
      row.step = static_cast<int64_t>(number);
      has_step = true;
    } else {
      row.values.emplace_back(std::move(key), number);
    }
  }
  if (!has_step) return bad();
  return row;
}

absl::StatusOr<std::unique_ptr<MetricsLog>> MetricsLog::Open(
    absl::string_view run_dir, Options options,
    std::optional<int64_t> resume_after_step) {
  MVL_RETURN_IF_ERROR(core::MakeDirectories(run_dir));
  std::unique_ptr<MetricsLog> log(
      new MetricsLog(std::string(run_dir), std::move(options)));
  if (resume_after_step.has_value() && core::PathExists(log->jsonl_path())) {
    MVL_ASSIGN_OR_RETURN(const std::string old,
                         core::ReadFileToString(log->jsonl_path()));
    int line_number = 0;
    for (absl::string_view line : absl::StrSplit(old, '\n')) {
      ++line_number;
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      absl::StatusOr<MetricsRow> row = ParseMetricsJson(line);
      if (!row.ok()) {
        LOG(WARNING) << log->jsonl_path() << ":" << line_number
                     << ": skipped: " << row.status().message();
        continue;
      }
      if (row->step <= *resume_after_step)
        log->rows_.push_back(*std::move(row));
    }
  }
  std::set<std::string> seen;
  for (const MetricsRow& row : log->rows_) {
    for (const auto& [name, value] : row.values) {
      if (seen.insert(name).second) log->columns_.push_back(name);
    }
  }
  MVL_RETURN_IF_ERROR(log->RewriteFiles());
  if (log->options_.tensorboard) {
    MVL_ASSIGN_OR_RETURN(
        log->events_,
        EventWriter::Create(absl::StrCat(log->run_dir_, "/tensorboard"),
                            log->options_.tensorboard_options));
    MVL_RETURN_IF_ERROR(log->events_->AddSessionStart(
        resume_after_step.has_value() ? *resume_after_step + 1 : 0));
  }
  return log;
}

MetricsLog::~MetricsLog() {
  if (jsonl_ != nullptr) std::fclose(jsonl_);
  if (csv_ != nullptr) std::fclose(csv_);
}

std::string MetricsLog::jsonl_path() const {
  return absl::StrCat(run_dir_, "/metrics.jsonl");
}
std::string MetricsLog::csv_path() const {
  return absl::StrCat(run_dir_, "/metrics.csv");
}
std::string MetricsLog::tensorboard_path() const {
  return events_ != nullptr ? events_->path() : std::string();
}

absl::Status MetricsLog::OpenAppend(const std::string& path, std::FILE** file) {
  if (*file != nullptr) std::fclose(*file);
  *file = std::fopen(path.c_str(), "a");
  if (*file == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status MetricsLog::RewriteFiles() {
  if (options_.jsonl) {
    std::string text;
    for (const MetricsRow& row : rows_)
      absl::StrAppend(&text, MetricsRowToJson(row), "\n");
    MVL_RETURN_IF_ERROR(core::WriteFileAtomically(jsonl_path(), text));
    MVL_RETURN_IF_ERROR(OpenAppend(jsonl_path(), &jsonl_));
  }
  return RewriteCsv();
}

absl::Status MetricsLog::RewriteCsv() {
  if (!options_.csv) return absl::OkStatus();
  std::string text = "step";
  for (const std::string& column : columns_)
    absl::StrAppend(&text, ",", CsvField(column));
  text += "\n";
  for (const MetricsRow& row : rows_) {
    std::map<std::string, double> values(row.values.begin(), row.values.end());
    absl::StrAppend(&text, row.step);
    for (const std::string& column : columns_) {
      auto it = values.find(column);
      absl::StrAppend(&text, ",",
                      it == values.end() ? "" : FormatNumber(it->second));
    }
    text += "\n";
  }
  MVL_RETURN_IF_ERROR(core::WriteFileAtomically(csv_path(), text));
  return OpenAppend(csv_path(), &csv_);
}

absl::Status MetricsLog::Log(
    int64_t step, std::vector<std::pair<std::string, double>> values) {
  rows_.push_back(MetricsRow{step, std::move(values)});
  const MetricsRow& row = rows_.back();
  if (jsonl_ != nullptr) {
    const std::string line = MetricsRowToJson(row) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), jsonl_) != line.size() ||
        std::fflush(jsonl_) != 0) {
      return absl::InternalError(absl::StrCat("cannot write ", jsonl_path(),
                                              ": ", std::strerror(errno)));
    }
  }
  if (options_.csv) {
    bool new_column = false;
    for (const auto& [name, value] : row.values) {
      if (std::find(columns_.begin(), columns_.end(), name) == columns_.end()) {
        columns_.push_back(name);
        new_column = true;
      }
    }
    if (new_column) {
      MVL_RETURN_IF_ERROR(RewriteCsv());
    } else {
      std::map<std::string, double> by_name(row.values.begin(),
                                            row.values.end());
      std::string line = absl::StrCat(step);
      for (const std::string& column : columns_) {
        auto it = by_name.find(column);
        absl::StrAppend(&line, ",",
                        it == by_name.end() ? "" : FormatNumber(it->second));
      }
      line += "\n";
      if (std::fwrite(line.data(), 1, line.size(), csv_) != line.size() ||
          std::fflush(csv_) != 0) {
        return absl::InternalError(absl::StrCat("cannot write ", csv_path(),
                                                ": ", std::strerror(errno)));
      }
    }
  }
  if (events_ != nullptr)
    MVL_RETURN_IF_ERROR(events_->AddScalars(row.values, step));
  return absl::OkStatus();
}

absl::Status MetricsLog::LogText(absl::string_view tag, absl::string_view text,
                                 int64_t step) {
  if (events_ == nullptr) return absl::OkStatus();
  return events_->AddText(tag, text, step);
}

MetricsSeries MetricsLog::Series() const {
  MetricsSeries series;
  for (const MetricsRow& row : rows_) {
    for (const auto& [name, value] : row.values)
      series[name].emplace_back(row.step, value);
  }
  return series;
}

}  // namespace mammovl::train
