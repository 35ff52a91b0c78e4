#include "data/preprocess/runner.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "core/proto_config.h"
#include "core/status_macros.h"
#include "core/thread_pool.h"
#include "data/dicom/dicom_reader.h"
#include "data/dicom/monotonic_clock.h"
#include "data/dicom/sha256.h"
#include "data/preprocess/box_mapping.h"
#include "data/preprocess/csv.h"
#include "data/preprocess/manifest.h"
#include "data/preprocess/pipeline.h"
#include "data/preprocess/recipe.h"
#include "data/preprocess/worker_pool.h"
#include "data/preprocess/worker_result.pb.h"
#include "glog/logging.h"

namespace mammovl::data {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStageNames[] = {"io",   "parse",  "decode", "intensity",
                                       "crop", "resize", "encode", "write"};
constexpr int kNumStages = 8;

struct InputItem {
  std::string path;      // as opened
  std::string source;    // manifest source_path
  std::string rel_dir;   // MIRROR_INPUT output folder
  std::string study_id;  // from the CSV, or the parent folder name
  std::string image_id;  // from the CSV, or the file stem
  bool ids_from_csv = false;
};

std::string Join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a.back() == '/' ? a + b : a + "/" + b;
}

bool AcceptedName(const std::string& name,
                  const std::vector<std::string>& extensions) {
  if (name.empty() || name[0] == '.') return false;
  const std::string lower = absl::AsciiStrToLower(name);
  if (extensions.empty()) {
    const size_t dot = lower.rfind('.');
    if (dot == std::string::npos) return true;
    const std::string ext = lower.substr(dot);
    return ext == ".dcm" || ext == ".dicom";
  }
  for (const std::string& e : extensions) {
    if (absl::EndsWith(lower, absl::AsciiStrToLower(e))) return true;
  }
  return false;
}

void SplitRelative(const std::string& rel, InputItem* item) {
  const fs::path p(rel);
  item->rel_dir = p.parent_path().generic_string();
  item->study_id = p.parent_path().filename().generic_string();
  item->image_id = p.stem().generic_string();
}

absl::StatusOr<std::vector<InputItem>> EnumerateInputs(
    const PreprocessConfig& c) {
  std::vector<InputItem> items;
  if (!c.input_csv().empty()) {
    MVL_ASSIGN_OR_RETURN(const CsvTable table, ReadCsvFile(c.input_csv()));
    const int path_col = table.Column("path");
    if (path_col < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(c.input_csv(), ": no column \"path\""));
    }
    const int study_col = table.Column("study_id");
    const int image_col = table.Column("image_id");
    const std::string base =
        c.input_dir().empty()
            ? fs::path(c.input_csv()).parent_path().generic_string()
            : c.input_dir();
    for (size_t i = 0; i < table.rows.size(); ++i) {
      const auto& row = table.rows[i];
      InputItem item;
      item.source = row[path_col];
      if (item.source.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            c.input_csv(), ":", table.line_numbers[i], ": empty path"));
      }
      item.path = fs::path(item.source).is_absolute() ? item.source
                                                      : Join(base, item.source);
      const fs::path p(item.source);
      item.study_id = p.parent_path().filename().generic_string();
      item.image_id = p.stem().generic_string();
      item.rel_dir = item.study_id;
      if (study_col >= 0 && image_col >= 0 && !row[study_col].empty() &&
          !row[image_col].empty()) {
        item.study_id = row[study_col];
        item.image_id = row[image_col];
        item.rel_dir = item.study_id;
        item.ids_from_csv = true;
      }
      items.push_back(std::move(item));
    }
    return items;
  }
  std::error_code ec;
  const fs::path root(c.input_dir());
  if (!fs::is_directory(root, ec)) {
    return absl::NotFoundError(
        absl::StrCat("input_dir ", c.input_dir(), " is not a folder"));
  }
  const std::vector<std::string> extensions(c.extensions().begin(),
                                            c.extensions().end());
  for (fs::recursive_directory_iterator
           it(root, fs::directory_options::skip_permission_denied, ec),
       end;
       it != end; it.increment(ec)) {
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot list ", c.input_dir(), ": ", ec.message()));
    }
    const std::string name = it->path().filename().generic_string();
    if (it->is_directory(ec)) {
      if (!name.empty() && name[0] == '.') it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || !AcceptedName(name, extensions)) continue;
    InputItem item;
    item.path = it->path().generic_string();
    item.source = fs::relative(it->path(), root, ec).generic_string();
    SplitRelative(item.source, &item);
    items.push_back(std::move(item));
  }
  std::sort(items.begin(), items.end(),
            [](const InputItem& a, const InputItem& b) {
              return a.source < b.source;
            });
  return items;
}

uint64_t ShardHash(const std::string& source) {
  Sha256 h;
  h.Update(source);
  const auto d = h.Finish();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | d[i];
  return v;
}

bool SafeName(const std::string& s) {
  return !s.empty() && s[0] != '.' && s.find('/') == std::string::npos &&
         s.find('\\') == std::string::npos && s.find('\0') == std::string::npos;
}

std::string StatusText(const absl::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

// The worker side: converts one input file. One per worker thread/process.
class ItemProcessor {
 public:
  ItemProcessor(const PreprocessConfig& config, const ImageRecipe& recipe,
                const std::vector<InputItem>& items)
      : config_(config),
        recipe_(recipe),
        items_(items),
        reader_(MakeReadOptions(config)) {}

  std::string Process(int64_t index) {
    WorkerResult result;
    std::vector<double> seconds(kNumStages, 0.0);
    output_error_ = false;
    absl::Status status = ProcessInto(items_[index], &result, &seconds);
    if (!status.ok()) {
      // Nothing of a failed file survives.
      for (const auto& f : result.frames()) ::unlink(f.temp_path().c_str());
      result.clear_frames();
      result.set_error(StatusText(status));
      if (output_error_) result.set_output_error_code(static_cast<int>(status.code()));
    }
    for (double s : seconds) result.add_stage_seconds(s);
    return result.SerializeAsString();
  }

 private:
  static ReadOptions MakeReadOptions(const PreprocessConfig& c) {
    ReadOptions o;
    o.parse.patient_id_salt = c.patient_id_salt();
    o.all_frames = c.all_frames();
    o.jpeg2000_threads = c.jpeg2000_threads();
    o.max_file_bytes = c.max_file_bytes();
    return o;
  }

  absl::Status ProcessInto(const InputItem& item, WorkerResult* result,
                           std::vector<double>* seconds) {
    if (!config_.crash_on_path_substring().empty() &&
        absl::StrContains(item.source, config_.crash_on_path_substring())) {
      ::raise(SIGSEGV);
    }
    if (config_.slow_down_s() > 0) {
      std::this_thread::sleep_for(
          std::chrono::duration<double>(config_.slow_down_s()));
    }
    MVL_ASSIGN_OR_RETURN(const DicomImage image, reader_.ReadFile(item.path));
    (*seconds)[0] = image.timings.io_s;
    (*seconds)[1] = image.timings.parse_s;
    (*seconds)[2] = image.timings.decode_s;
    const DicomHeader& h = image.header;
    std::string study_id = item.study_id;
    std::string image_id = item.image_id;
    std::string rel_dir = item.rel_dir;
    if (!item.ids_from_csv) {
      if (config_.layout() == PreprocessConfig::STUDY_UID) {
        study_id = h.study_instance_uid;
        image_id = h.sop_instance_uid;
        rel_dir = study_id;
      } else if (config_.layout() == PreprocessConfig::PATIENT_PSEUDONYM) {
        study_id = h.patient_pseudonym;
        image_id = h.sop_instance_uid;
        rel_dir = study_id;
      }
    }
    if (!SafeName(image_id) || (!study_id.empty() && !SafeName(study_id))) {
      return absl::InvalidArgumentError(
          "the output name would be empty or unsafe (missing UID or patient "
          "id, or a CSV id "
          "with '/' or a leading '.')");
    }
    const std::string folder = Join(config_.output_dir(), rel_dir);
    if (absl::Status s = core::MakeDirectories(folder); !s.ok()) {
      output_error_ = true;
      return s;
    }
    for (size_t k = 0; k < image.frames.size(); ++k) {
      MVL_ASSIGN_OR_RETURN(ProcessedFrame out, ProcessFrame(image, k, recipe_));
      (*seconds)[3] += out.seconds.intensity;
      (*seconds)[4] += out.seconds.crop;
      (*seconds)[5] += out.seconds.resize;
      (*seconds)[6] += out.seconds.encode;
      const double t = MonotonicSeconds();
      const int64_t frame = image.frame_indices[k];
      const std::string stem =
          config_.all_frames() ? absl::StrCat(image_id, "_f", frame) : image_id;
      const std::string file = stem + ".png";
      const std::string temp =
          Join(folder, absl::StrCat(".", file, ".part-s", config_.shard_index(),
                                    "-", ::getpid(), "-", counter_++));
      WorkerResult::Frame* f = result->add_frames();
      f->set_temp_path(temp);
      if (absl::Status s = WriteFile(temp, Join(folder, file), out.png); !s.ok()) {
        output_error_ = true;
        return s;
      }
      ManifestRow row;
      row.source_path = item.source;
      row.output_path = Join(rel_dir, file);
      row.frame = frame;
      row.study_id = study_id;
      row.image_id = image_id;
      row.patient_pseudonym = h.patient_pseudonym;
      if (config_.write_uids()) {
        row.study_instance_uid = h.study_instance_uid;
        row.series_instance_uid = h.series_instance_uid;
        row.sop_instance_uid = h.sop_instance_uid;
      }
      row.laterality = h.laterality();
      row.view = ViewFromDicom(h.view_position, h.view_code_meaning);
      row.manufacturer = h.manufacturer;
      row.photometric_interpretation = h.photometric_interpretation;
      row.transfer_syntax_uid = h.transfer_syntax_uid;
      row.rows = h.rows;
      row.columns = h.columns;
      row.bits_stored = image.bits_stored;
      if (h.pixel_spacing) {
        row.pixel_spacing_row = absl::StrFormat("%.10g", (*h.pixel_spacing)[0]);
        row.pixel_spacing_col = absl::StrFormat("%.10g", (*h.pixel_spacing)[1]);
      }
      row.geometry = out.geometry;
      row.output_bits = recipe_.output_bits();
      row.sha256 = Sha256Hex(out.png);
      row.bytes = static_cast<int64_t>(out.png.size());
      for (std::string& field : ManifestFields(row))
        f->add_manifest_fields(std::move(field));
      (*seconds)[7] += MonotonicSeconds() - t;
    }
    return absl::OkStatus();
  }

  // Writes `data` to `path` (a temporary name); errors name `final_path`.
  absl::Status WriteFile(const std::string& path, const std::string& final_path,
                         const std::string& data) {
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      const int err = errno;
      const std::string message =
          absl::StrCat("cannot create ", final_path, ": ", std::strerror(err));
      return err == EACCES || err == EPERM || err == EROFS
                 ? absl::PermissionDeniedError(message)
                 : absl::UnavailableError(message);
    }
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = errno;
        ::close(fd);
        ::unlink(path.c_str());
        return absl::ResourceExhaustedError(absl::StrCat(
            "cannot write ", final_path, ": ",
            n == 0 ? "no space written" : std::strerror(err)));
      }
      done += static_cast<size_t>(n);
    }
    if (config_.fsync_outputs() && ::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return absl::UnavailableError(
          absl::StrCat("cannot fsync ", final_path, ": ", std::strerror(err)));
    }
    if (::close(fd) != 0) {
      const int err = errno;
      ::unlink(path.c_str());
      return absl::UnavailableError(
          absl::StrCat("cannot close ", final_path, ": ", std::strerror(err)));
    }
    return absl::OkStatus();
  }

  const PreprocessConfig& config_;
  const ImageRecipe& recipe_;
  const std::vector<InputItem>& items_;
  DicomReader reader_;
  int64_t counter_ = 0;
  bool output_error_ = false;  // the last failure was writing an output
};

// Appends whole lines to a file; each call is one write(2).
class LineAppender {
 public:
  static absl::StatusOr<std::unique_ptr<LineAppender>> Open(
      const std::string& path, const std::vector<std::string>& header) {
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
    }
    auto appender = std::unique_ptr<LineAppender>(new LineAppender(fd, path));
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_size == 0)
      MVL_RETURN_IF_ERROR(appender->Append(CsvLine(header)));
    return appender;
  }
  ~LineAppender() { ::close(fd_); }
  absl::Status Append(const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return absl::ResourceExhaustedError(
            absl::StrCat("cannot append to ", path_));
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

 private:
  LineAppender(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

std::string CsvText(const std::vector<std::string>& header,
                    const std::vector<std::vector<std::string>>& rows) {
  std::string out = CsvLine(header);
  for (const auto& r : rows) out += CsvLine(r);
  return out;
}

absl::Status WriteManifest(const std::string& path,
                           std::vector<ManifestRow> rows) {
  std::sort(rows.begin(), rows.end(),
            [](const ManifestRow& a, const ManifestRow& b) {
              return std::tie(a.source_path, a.frame) <
                     std::tie(b.source_path, b.frame);
            });
  std::vector<std::vector<std::string>> fields;
  for (const ManifestRow& r : rows) fields.push_back(ManifestFields(r));
  return core::WriteFileAtomically(path, CsvText(ManifestColumns(), fields));
}

absl::Status WriteFailures(const std::string& path,
                           std::vector<FailureRow> rows) {
  std::sort(rows.begin(), rows.end(),
            [](const FailureRow& a, const FailureRow& b) {
              return std::tie(a.source_path, a.reason) <
                     std::tie(b.source_path, b.reason);
            });
  std::vector<std::vector<std::string>> fields;
  for (const FailureRow& r : rows) fields.push_back({r.source_path, r.reason});
  return core::WriteFileAtomically(path, CsvText(FailureColumns(), fields));
}

// Removes temporary PNGs a killed run of this shard left behind.
void RemoveStaleTemporaries(const std::string& output_dir, int shard) {
  const std::string marker = absl::StrCat(".part-s", shard, "-");
  std::error_code ec;
  std::vector<fs::path> stale;
  for (fs::recursive_directory_iterator it(output_dir, ec), end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().generic_string();
    if (!name.empty() && name[0] == '.' && absl::StrContains(name, marker))
      stale.push_back(it->path());
  }
  for (const fs::path& p : stale) fs::remove(p, ec);
  if (!stale.empty())
    LOG(INFO) << "removed " << stale.size()
              << " partial outputs of an interrupted run";
}

std::string RedactedConfig(const PreprocessConfig& config,
                           const ImageRecipe& recipe) {
  PreprocessConfig copy = config;
  *copy.mutable_recipe() = recipe;
  if (copy.has_patient_id_salt()) copy.set_patient_id_salt("<redacted>");
  return core::ToTextProto(copy);
}

std::string StatsJson(const RunSummary& s, int workers) {
  std::string stages;
  const double n = std::max<int64_t>(s.converted, 1);
  for (const char* name : kStageNames) {
    const auto it = s.stage_seconds.find(name);
    absl::StrAppend(
        &stages, stages.empty() ? "" : ", ", "\"", name, "\": ",
        absl::StrFormat("%.6f",
                        it == s.stage_seconds.end() ? 0.0 : it->second / n));
  }
  return absl::StrCat(
      "{\"inputs\": ", s.inputs, ", \"resumed\": ", s.resumed,
      ", \"converted\": ", s.converted,
      ", \"frames_written\": ", s.frames_written, ", \"failed\": ", s.failed,
      ", \"workers\": ", workers,
      ", \"wall_s\": ", absl::StrFormat("%.6f", s.wall_s),
      ", \"images_per_s\": ",
      absl::StrFormat("%.6f",
                      s.wall_s > 0 ? (s.converted + s.failed) / s.wall_s : 0.0),
      ", \"stage_s_per_image\": {", stages, "}}\n");
}

}  // namespace

std::string ShardFileName(const std::string& stem, const std::string& extension,
                          int index, int count) {
  if (count <= 1) return stem + extension;
  return absl::StrFormat("%s-%05d-of-%05d%s", stem, index, count, extension);
}

absl::StatusOr<RunSummary> RunPreprocess(const PreprocessConfig& config) {
  const double start = MonotonicSeconds();
  MVL_RETURN_IF_ERROR(ValidatePreprocessConfig(config));
  MVL_ASSIGN_OR_RETURN(const ImageRecipe recipe, BuildRecipe(config));
  // Workers are single-threaded; parallelism comes from the pool. Freed
  // image buffers stay in the heap for the next image instead of being
  // returned to the kernel and page-faulted in again.
  cv::setNumThreads(1);
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);

  const std::string& out_dir = config.output_dir();
  MVL_RETURN_IF_ERROR(core::MakeDirectories(out_dir));
  // Half-written files of a killed earlier run (never under a final name).
  MVL_ASSIGN_OR_RETURN(const int64_t stale, core::RemoveStaleTempFiles(out_dir, true));
  LOG_IF(INFO, stale > 0) << "removed " << stale
                          << " temporary files left by an interrupted run in " << out_dir;
  const int shard = config.shard_index();
  const int shards = config.shard_count();
  const std::string manifest_path =
      Join(out_dir, ShardFileName("manifest", ".csv", shard, shards));
  const std::string failures_path =
      Join(out_dir, ShardFileName("failures", ".csv", shard, shards));
  const std::string stats_path =
      Join(out_dir, ShardFileName("run_stats", ".json", shard, shards));
  const std::string config_path = Join(
      out_dir, ShardFileName("preprocess_config", ".pbtxt", shard, shards));

  const std::string config_text = RedactedConfig(config, recipe);
  LOG(INFO) << "preprocess config:\n" << config_text;
  MVL_RETURN_IF_ERROR(core::WriteFileAtomically(config_path, config_text));

  MVL_ASSIGN_OR_RETURN(std::vector<InputItem> all_items,
                       EnumerateInputs(config));
  std::vector<InputItem> items;
  for (InputItem& item : all_items) {
    if (shards == 1 ||
        static_cast<int>(ShardHash(item.source) % shards) == shard) {
      items.push_back(std::move(item));
    }
  }
  RunSummary summary;
  summary.inputs = static_cast<int64_t>(items.size());

  // Resume: keep manifest rows whose PNG still matches its checksum.
  std::vector<ManifestRow> kept;
  std::set<std::string> done_sources;
  if (core::PathExists(manifest_path)) {
    if (!config.resume()) {
      return absl::FailedPreconditionError(
          absl::StrCat(manifest_path,
                       " exists; set resume: true to continue that run or use "
                       "another output_dir"));
    }
    MVL_ASSIGN_OR_RETURN(
        std::vector<ManifestRow> previous,
        ReadManifest(manifest_path, /*tolerate_truncated_last_row=*/true));
    std::map<std::string, bool> source_ok;
    for (ManifestRow& row : previous) {
      auto bytes = core::ReadFileToString(Join(out_dir, row.output_path));
      const bool ok = bytes.ok() && Sha256Hex(*bytes) == row.sha256;
      auto [it, inserted] = source_ok.emplace(row.source_path, ok);
      if (!inserted) it->second = it->second && ok;
      if (ok) kept.push_back(std::move(row));
    }
    kept.erase(std::remove_if(kept.begin(), kept.end(),
                              [&](const ManifestRow& r) {
                                return !source_ok[r.source_path];
                              }),
               kept.end());
    for (const auto& [source, ok] : source_ok) {
      if (ok) done_sources.insert(source);
    }
    LOG(INFO) << "resuming: " << done_sources.size()
              << " files already converted, " << kept.size()
              << " PNGs verified";
  }
  RemoveStaleTemporaries(out_dir, shard);
  MVL_RETURN_IF_ERROR(WriteManifest(manifest_path, kept));
  MVL_RETURN_IF_ERROR(WriteFailures(failures_path, {}));

  std::vector<int64_t> todo;
  for (size_t i = 0; i < items.size(); ++i) {
    if (done_sources.count(items[i].source) == 0)
      todo.push_back(static_cast<int64_t>(i));
  }
  summary.resumed = summary.inputs - static_cast<int64_t>(todo.size());

  // Output paths known before decoding (all layouts except the UID ones)
  // must be unique: a second file with the same output fails.
  std::unordered_map<std::string, std::string>
      claimed;  // output path -> source
  for (const ManifestRow& r : kept)
    claimed.emplace(r.output_path, r.source_path);

  const int workers = config.num_workers() > 0
                          ? config.num_workers()
                          : core::ThreadPool::HardwareThreads();
  WorkerPoolOptions pool_options;
  pool_options.num_workers =
      std::max(1, std::min<int>(workers, std::max<size_t>(todo.size(), 1)));
  pool_options.isolate = config.isolate_workers();
  pool_options.task_timeout_s = config.image_timeout_s();
  auto processor = std::make_shared<std::unique_ptr<ItemProcessor>>();
  const bool isolate = config.isolate_workers();
  // Threads share nothing but the read-only config; each gets its processor.
  auto task = [&config, &recipe, &items, processor,
               isolate](int64_t index) -> std::string {
    if (isolate) {
      if (!*processor)
        *processor = std::make_unique<ItemProcessor>(config, recipe, items);
      return (*processor)->Process(index);
    }
    thread_local std::unique_ptr<ItemProcessor> local;
    thread_local const void* owner = nullptr;
    if (!local || owner != &items) {
      local = std::make_unique<ItemProcessor>(config, recipe, items);
      owner = &items;
    }
    return local->Process(index);
  };
  {
    // OpenCV registers its image codecs on first use; do it once here, so
    // that forked workers inherit it instead of paying it on their first image.
    std::vector<uchar> warm;
    cv::imencode(".png", cv::Mat(1, 1, CV_8U, cv::Scalar(0)), warm);
  }
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<WorkerPool> pool,
                       WorkerPool::Create(pool_options, task));
  LOG(INFO) << "preprocess: " << summary.inputs << " files in shard " << shard
            << "/" << shards << ", " << summary.resumed << " already done, "
            << todo.size() << " to convert on " << pool->capacity()
            << (isolate ? " worker processes" : " worker threads");

  MVL_ASSIGN_OR_RETURN(std::unique_ptr<LineAppender> manifest_out,
                       LineAppender::Open(manifest_path, ManifestColumns()));
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<LineAppender> failures_out,
                       LineAppender::Open(failures_path, FailureColumns()));
  std::vector<ManifestRow> rows = kept;
  std::vector<FailureRow> failures;
  core::ProgressOptions progress_options;
  progress_options.unit = "img";
  core::ProgressReporter progress(
      "preprocess", static_cast<int64_t>(todo.size()), progress_options);

  auto fail = [&](const InputItem& item,
                  const std::string& reason) -> absl::Status {
    LOG(WARNING) << "failed: " << item.source << ": " << reason;
    failures.push_back({item.source, reason});
    ++summary.failed;
    return failures_out->Append(CsvLine({item.source, reason}));
  };
  auto policy_exceeded = [&]() {
    const int64_t processed = summary.converted + summary.failed;
    if (config.max_failures() >= 0 && summary.failed > config.max_failures())
      return true;
    return config.max_failure_fraction() < 1.0 && processed >= 20 &&
           summary.failed > config.max_failure_fraction() * processed;
  };

  size_t next = 0;
  while (true) {
    while (!summary.policy_exceeded && next < todo.size() &&
           pool->in_flight() < pool->capacity()) {
      MVL_RETURN_IF_ERROR(pool->Submit(todo[next++]));
    }
    if (pool->in_flight() == 0) break;
    MVL_ASSIGN_OR_RETURN(std::vector<TaskResult> results, pool->Wait(1.0));
    for (TaskResult& r : results) {
      const InputItem& item = items[r.index];
      progress.Add(1);
      if (!r.completed) {
        MVL_RETURN_IF_ERROR(
            fail(item, absl::StrCat("decoder crash: ", r.crash_reason)));
      } else {
        WorkerResult result;
        if (!result.ParseFromString(r.payload)) {
          return absl::InternalError("a worker sent an unreadable result");
        }
        for (int s = 0; s < result.stage_seconds_size() && s < kNumStages;
             ++s) {
          summary.stage_seconds[kStageNames[s]] += result.stage_seconds(s);
        }
        if (result.has_output_error_code()) {
          // A full disk or read-only folder fails every further file the
          // same way: stop. The manifest holds what was written; a rerun
          // resumes from there.
          const absl::StatusCode code =
              static_cast<absl::StatusCode>(result.output_error_code());
          return absl::Status(
              code == absl::StatusCode::kOk ? absl::StatusCode::kUnknown : code,
              absl::StrCat("stopping: an output could not be written (",
                           item.source, "): ", result.error(),
                           "; outputs written so far are kept, rerun to resume"));
        } else if (result.has_error()) {
          MVL_RETURN_IF_ERROR(fail(item, result.error()));
        } else {
          std::vector<ManifestRow> new_rows;
          std::string collision;
          for (const auto& f : result.frames()) {
            MVL_ASSIGN_OR_RETURN(
                ManifestRow row,
                ParseManifestFields(
                    ManifestColumns(),
                    {f.manifest_fields().begin(), f.manifest_fields().end()}));
            auto it = claimed.find(row.output_path);
            if (it != claimed.end() && it->second != item.source) {
              collision = absl::StrCat("output ", row.output_path,
                                       " is already written for ", it->second);
            }
            new_rows.push_back(std::move(row));
          }
          if (!collision.empty()) {
            for (const auto& f : result.frames())
              ::unlink(f.temp_path().c_str());
            MVL_RETURN_IF_ERROR(fail(item, collision));
          } else {
            std::string lines;
            for (int k = 0; k < result.frames_size(); ++k) {
              const std::string final_path =
                  Join(out_dir, new_rows[k].output_path);
              if (::rename(result.frames(k).temp_path().c_str(),
                           final_path.c_str()) != 0) {
                return absl::UnavailableError(
                    absl::StrCat("cannot move a PNG into place at ", final_path,
                                 ": ", std::strerror(errno)));
              }
              claimed[new_rows[k].output_path] = item.source;
              lines += CsvLine(ManifestFields(new_rows[k]));
            }
            MVL_RETURN_IF_ERROR(manifest_out->Append(lines));
            summary.frames_written += result.frames_size();
            ++summary.converted;
            for (ManifestRow& row : new_rows) rows.push_back(std::move(row));
          }
        }
      }
      if (!summary.policy_exceeded && policy_exceeded()) {
        summary.policy_exceeded = true;
        LOG(ERROR) << "failure policy exceeded after " << summary.failed
                   << " failures in " << summary.converted + summary.failed
                   << " files; finishing the files in flight and stopping";
      }
    }
  }
  pool.reset();
  progress.Finish();

  // Final outputs, sorted, so that an interrupted and resumed run writes the
  // same files as an uninterrupted one.
  manifest_out.reset();
  failures_out.reset();
  MVL_RETURN_IF_ERROR(WriteManifest(manifest_path, rows));
  MVL_RETURN_IF_ERROR(WriteFailures(failures_path, failures));
  summary.wall_s = MonotonicSeconds() - start;
  MVL_RETURN_IF_ERROR(core::WriteFileAtomically(
      stats_path, StatsJson(summary, pool_options.num_workers)));
  std::string per_stage;
  for (const char* name : kStageNames) {
    absl::StrAppend(
        &per_stage, " ", name, "=",
        absl::StrFormat("%.1fms", 1000 * summary.stage_seconds[name] /
                                      std::max<int64_t>(summary.converted, 1)));
  }
  LOG(INFO) << "preprocess done: " << summary.converted << " converted ("
            << summary.frames_written << " PNGs), " << summary.resumed
            << " resumed, " << summary.failed << " failed in "
            << absl::StrFormat("%.1f", summary.wall_s)
            << " s; per image:" << per_stage;
  if (summary.policy_exceeded) {
    return absl::AbortedError(
        absl::StrCat("failure policy exceeded: ", summary.failed,
                     " failed files (max_failures ", config.max_failures(),
                     ", max_failure_fraction ", config.max_failure_fraction(),
                     "); see ", failures_path));
  }
  return summary;
}

absl::Status MergeShardManifests(const PreprocessConfig& config) {
  const std::string& dir = config.output_dir();
  std::vector<ManifestRow> rows;
  std::vector<FailureRow> failures;
  std::error_code ec;
  int manifests = 0;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    files.push_back(e.path());
  if (ec)
    return absl::NotFoundError(
        absl::StrCat("cannot list ", dir, ": ", ec.message()));
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    const std::string name = p.filename().generic_string();
    if (!absl::StrContains(name, "-of-") || !absl::EndsWith(name, ".csv"))
      continue;
    if (absl::StartsWith(name, "manifest-")) {
      MVL_ASSIGN_OR_RETURN(std::vector<ManifestRow> part,
                           ReadManifest(p.generic_string()));
      rows.insert(rows.end(), part.begin(), part.end());
      ++manifests;
    } else if (absl::StartsWith(name, "failures-")) {
      MVL_ASSIGN_OR_RETURN(std::vector<FailureRow> part,
                           ReadFailures(p.generic_string()));
      failures.insert(failures.end(), part.begin(), part.end());
    }
  }
  if (manifests == 0)
    return absl::NotFoundError(absl::StrCat("no shard manifests in ", dir));
  MVL_RETURN_IF_ERROR(WriteManifest(Join(dir, "manifest.csv"), rows));
  MVL_RETURN_IF_ERROR(WriteFailures(Join(dir, "failures.csv"), failures));
  LOG(INFO) << "merged " << manifests << " shard manifests: " << rows.size()
            << " rows, " << failures.size() << " failures";
  return absl::OkStatus();
}

absl::Status RunPreprocessMode(const PreprocessConfig& config) {
  MVL_RETURN_IF_ERROR(ValidatePreprocessConfig(config));
  switch (config.mode()) {
    case PreprocessConfig::PREPROCESS:
      return RunPreprocess(config).status();
    case PreprocessConfig::MAP_BOXES:
      return MapBoxesCsv(config.map_boxes(),
                         Join(config.output_dir(), "manifest.csv"));
    case PreprocessConfig::MERGE_MANIFESTS:
      return MergeShardManifests(config);
    default:
      return absl::InvalidArgumentError("mode: no mode selected");
  }
}

}  // namespace mammovl::data
