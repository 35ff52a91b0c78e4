// libFuzzer target: an experiment config as the mains load it: a text proto,
// then, after a line "=====", one `--set` override per line (LoadConfig).
// The message type comes from a "# proto-message: <full name>" line if it
// names a config linked here, else mammovl.train.Experiment. A config that
// loads must print (ToTextProto) and parse back to the same text, as the
// copy saved next to every checkpoint is read back on resume.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/proto_config.h"
#include "data/preprocess/preprocess_config.pb.h"
#include "data/synth/synth_config.pb.h"
#include "detection/detector_config.pb.h"
#include "eval/pipeline_config.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "mil/mil_pipeline.pb.h"
#include "text/text_config.pb.h"
#include "tools/fuzz/fuzz_check.h"
#include "tools/fuzz/fuzz_files.h"
#include "train/experiment.pb.h"

namespace {

// The top-level configs of the mains; the first is the default.
const std::vector<const google::protobuf::Message*>& Prototypes() {
  static const auto* prototypes =
      new std::vector<const google::protobuf::Message*>{
          &mammovl::train::Experiment::default_instance(),
          &mammovl::data::PreprocessConfig::default_instance(),
          &mammovl::data::SynthConfig::default_instance(),
          &mammovl::detection::DetectorPipelineConfig::default_instance(),
          &mammovl::eval::ZeroShotEvalConfig::default_instance(),
          &mammovl::eval::ClassifyConfig::default_instance(),
          &mammovl::mil::MilPipelineConfig::default_instance(),
          &mammovl::text::TextEncoderConfig::default_instance(),
      };
  return *prototypes;
}

const google::protobuf::Message* Prototype(absl::string_view text) {
  const absl::string_view key = "# proto-message: ";
  const size_t at = text.find(key);
  if (at != absl::string_view::npos) {
    absl::string_view name = text.substr(at + key.size());
    name = name.substr(0, name.find('\n'));
    for (const google::protobuf::Message* prototype : Prototypes()) {
      if (prototype->GetDescriptor()->full_name() == name) return prototype;
    }
  }
  return Prototypes().front();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string separator = "\n=====\n";
  const size_t cut = input.find(separator);
  const std::string text = input.substr(0, cut);
  std::vector<std::string> overrides;
  if (cut != std::string::npos) {
    overrides =
        absl::StrSplit(absl::string_view(input).substr(cut + separator.size()),
                       '\n', absl::SkipEmpty());
  }
  const std::string path = mammovl::fuzz::WriteFuzzFile("config.pbtxt", text);
  std::unique_ptr<google::protobuf::Message> message(Prototype(text)->New());
  const absl::Status status =
      mammovl::core::LoadConfig(path, overrides, message.get());
  if (!status.ok()) {
    MVL_FUZZ_CHECK(!status.message().empty());
    return 0;
  }
  const std::string printed = mammovl::core::ToTextProto(*message);
  std::unique_ptr<google::protobuf::Message> again(message->New());
  MVL_FUZZ_CHECK(
      mammovl::core::ParseTextProto(printed, "printed", again.get()).ok());
  MVL_FUZZ_CHECK(mammovl::core::ToTextProto(*again) == printed);
  return 0;
}
