#include "train/tensorboard.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_macros.h"

namespace mammovl::train {
namespace {

constexpr uint32_t kMaskDelta = 0xa282ead8u;

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;  // reflected Castagnoli
    table[i] = c;
  }
  return table;
}

void PutLittleEndian(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i)
    out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t GetLittleEndian(const char* p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return value;
}

double UnixSeconds() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string HostName() {
  char name[256] = {0};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0')
    return "localhost";
  return name;
}

}  // namespace

uint32_t Crc32c(absl::string_view data) {
  static const std::array<uint32_t, 256> kTable = MakeCrcTable();
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : data)
    crc = kTable[(crc ^ byte) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

uint32_t MaskedCrc32c(absl::string_view data) {
  const uint32_t crc = Crc32c(data);
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}

std::string FrameRecord(absl::string_view data) {
  std::string record;
  record.reserve(data.size() + 16);
  PutLittleEndian(data.size(), 8, &record);
  PutLittleEndian(MaskedCrc32c(record), 4, &record);
  record.append(data.data(), data.size());
  PutLittleEndian(MaskedCrc32c(data), 4, &record);
  return record;
}

absl::StatusOr<std::unique_ptr<EventWriter>> EventWriter::Create(
    absl::string_view dir, Options options) {
  if (!options.clock) options.clock = UnixSeconds;
  if (options.hostname.empty()) options.hostname = HostName();
  MVL_RETURN_IF_ERROR(core::MakeDirectories(dir));
  const double now = options.clock();
  const std::string base =
      absl::StrCat(dir, "/events.out.tfevents.", static_cast<int64_t>(now), ".",
                   options.hostname);
  std::string path = base;
  for (int i = 1; core::PathExists(path); ++i)
    path = absl::StrCat(base, ".", i);
  std::FILE* file = std::fopen(path.c_str(), "wbx");
  if (file == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create event file ", path,
                                            ": ", std::strerror(errno)));
  }
  std::unique_ptr<EventWriter> writer(
      new EventWriter(path, file, std::move(options)));
  tensorboard::Event version;
  version.set_file_version("brain.Event:2");
  MVL_RETURN_IF_ERROR(writer->Write(version));
  return writer;
}

EventWriter::~EventWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status EventWriter::Write(tensorboard::Event& event) {
  event.set_wall_time(options_.clock());
  const std::string record = FrameRecord(event.SerializeAsString());
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() ||
      std::fflush(file_) != 0) {
    return absl::InternalError(absl::StrCat("cannot write event file ", path_,
                                            ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status EventWriter::AddScalars(
    const std::vector<std::pair<std::string, double>>& values, int64_t step) {
  tensorboard::Event event;
  event.set_step(step);
  for (const auto& [tag, value] : values) {
    tensorboard::Summary::Value* v = event.mutable_summary()->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  return Write(event);
}

absl::Status EventWriter::AddText(absl::string_view tag, absl::string_view text,
                                  int64_t step) {
  tensorboard::Event event;
  event.set_step(step);
  tensorboard::Summary::Value* v = event.mutable_summary()->add_value();
  v->set_tag(std::string(tag));
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  tensorboard::TensorProto* tensor = v->mutable_tensor();
  tensor->set_dtype(tensorboard::DT_STRING);
  tensor->mutable_tensor_shape()->add_dim()->set_size(1);
  tensor->add_string_val(std::string(text));
  return Write(event);
}

absl::Status EventWriter::AddSessionStart(int64_t step) {
  tensorboard::Event event;
  event.set_step(step);
  event.mutable_session_log()->set_status(tensorboard::SessionLog::START);
  return Write(event);
}

absl::StatusOr<EventFile> ReadEventFile(absl::string_view path) {
  MVL_ASSIGN_OR_RETURN(const std::string bytes, core::ReadFileToString(path));
  EventFile file;
  size_t offset = 0;
  while (offset < bytes.size()) {
    if (bytes.size() - offset < 12) {
      file.truncated = true;
      break;
    }
    const char* header = bytes.data() + offset;
    const uint64_t length = GetLittleEndian(header, 8);
    if (static_cast<uint32_t>(GetLittleEndian(header + 8, 4)) !=
        MaskedCrc32c(absl::string_view(header, 8))) {
      return absl::DataLossError(absl::StrCat(path, ": record at byte ", offset,
                                              " has a bad length CRC"));
    }
    if (length > bytes.size() - offset - 12 ||
        bytes.size() - offset - 12 - length < 4) {
      file.truncated = true;
      break;
    }
    const absl::string_view data(header + 12, length);
    if (static_cast<uint32_t>(GetLittleEndian(header + 12 + length, 4)) !=
        MaskedCrc32c(data)) {
      return absl::DataLossError(absl::StrCat(path, ": record at byte ", offset,
                                              " has a bad data CRC"));
    }
    tensorboard::Event event;
    if (!event.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
      return absl::DataLossError(
          absl::StrCat(path, ": record at byte ", offset, " is not an Event"));
    }
    file.events.push_back(std::move(event));
    offset += 16 + length;
  }
  return file;
}

absl::StatusOr<std::vector<ScalarPoint>> ReadScalars(absl::string_view path) {
  MVL_ASSIGN_OR_RETURN(const EventFile file, ReadEventFile(path));
  std::vector<ScalarPoint> points;
  for (const tensorboard::Event& event : file.events) {
    if (!event.has_summary()) continue;
    for (const tensorboard::Summary::Value& value : event.summary().value()) {
      if (value.value_case() != tensorboard::Summary::Value::kSimpleValue)
        continue;
      points.push_back(
          {value.tag(), event.step(), event.wall_time(), value.simple_value()});
    }
  }
  return points;
}

}  // namespace mammovl::train
