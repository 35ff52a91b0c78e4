// TensorBoard event files, written and read without TensorFlow or Python.
//
// An event file is a TFRecord file: each record is
//   uint64 length | uint32 masked_crc32c(length) | data | uint32
//   masked_crc32c(data)
// (little-endian; mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8), and each
// record's data is a serialized `Event` (train/tensorboard_event.proto, the
// field-compatible subset of TensorFlow's). The first record holds
// file_version "brain.Event:2". Files are named
// `events.out.tfevents.<unix seconds>.<hostname>` so TensorBoard finds them.
//
// Example:
//   MVL_ASSIGN_OR_RETURN(auto writer, EventWriter::Create(run_dir +
//   "/tensorboard")); MVL_RETURN_IF_ERROR(writer->AddScalars({{"loss", 0.7},
//   {"lr", 1e-4}}, step)); MVL_ASSIGN_OR_RETURN(auto scalars,
//   ReadScalars(writer->path()));
#ifndef MAMMOVL_TRAIN_TENSORBOARD_H_
#define MAMMOVL_TRAIN_TENSORBOARD_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "train/tensorboard_event.pb.h"

namespace mammovl::train {

// CRC-32C (Castagnoli), as used by TFRecord.
uint32_t Crc32c(absl::string_view data);
// TFRecord's masked CRC of `data`.
uint32_t MaskedCrc32c(absl::string_view data);

// Frames `data` as one TFRecord record.
std::string FrameRecord(absl::string_view data);

class EventWriter {
 public:
  struct Options {
    // Seconds since the Unix epoch; injectable for tests.
    std::function<double()> clock;
    // Host name in the file name; empty means gethostname().
    std::string hostname;
  };

  // Creates `dir` if needed and a new event file in it (a numeric suffix is
  // added if the name is taken), and writes the file-version record.
  static absl::StatusOr<std::unique_ptr<EventWriter>> Create(
      absl::string_view dir, Options options = {});
  ~EventWriter();

  // Writes one event with one scalar value per (tag, value) pair. Flushed to
  // the OS before returning, so TensorBoard sees it while training runs.
  absl::Status AddScalars(
      const std::vector<std::pair<std::string, double>>& values, int64_t step);
  absl::Status AddScalar(absl::string_view tag, double value, int64_t step) {
    return AddScalars({{std::string(tag), value}}, step);
  }
  // Writes `text` for TensorBoard's text plugin (e.g. the effective config).
  absl::Status AddText(absl::string_view tag, absl::string_view text,
                       int64_t step);
  // Writes a SessionLog START at `step`: TensorBoard then drops events of
  // older files in the same folder from that step on (a resumed run
  // re-logs them).
  absl::Status AddSessionStart(int64_t step);

  const std::string& path() const { return path_; }

 private:
  EventWriter(std::string path, std::FILE* file, Options options)
      : path_(std::move(path)), file_(file), options_(std::move(options)) {}
  absl::Status Write(tensorboard::Event& event);

  std::string path_;
  std::FILE* file_;
  Options options_;
};

// The events of a file, each record's CRCs checked.
struct EventFile {
  std::vector<tensorboard::Event> events;
  // True if the file ends in an incomplete record (a writer that was killed
  // or is still writing); the complete records before it are returned.
  bool truncated = false;
};

// Reads every record of an event file. DataLoss naming the byte offset if a
// length or data CRC does not match or a record does not parse; NotFound if
// the file does not exist.
absl::StatusOr<EventFile> ReadEventFile(absl::string_view path);

struct ScalarPoint {
  std::string tag;
  int64_t step = 0;
  double wall_time = 0;
  float value = 0;
};

// The scalar values (simple_value) of an event file, in file order.
absl::StatusOr<std::vector<ScalarPoint>> ReadScalars(absl::string_view path);

}  // namespace mammovl::train

#endif  // MAMMOVL_TRAIN_TENSORBOARD_H_
