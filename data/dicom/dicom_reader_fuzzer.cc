// libFuzzer target: DicomReader::ReadBytes on arbitrary bytes (every frame,
// every transfer syntax), then the modality LUT. A decoded image must agree
// with its header and every pixel must be readable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <opencv2/core.hpp>

#include "absl/strings/string_view.h"
#include "data/dicom/dicom_reader.h"
#include "tools/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mammovl::data::DicomReader;
  using mammovl::data::ReadOptions;
  ReadOptions options;
  options.all_frames = true;
  // Well below libFuzzer's 2 GiB malloc limit; the reader must refuse larger
  // images before allocating them.
  options.max_decoded_bytes = int64_t{256} << 20;
  DicomReader reader(options);
  const auto image = reader.ReadBytes(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!image.ok()) {
    MVL_FUZZ_CHECK(!image.status().message().empty());
    return 0;
  }
  MVL_FUZZ_CHECK(!image->frames.empty());
  MVL_FUZZ_CHECK(image->frames.size() == image->frame_indices.size());
  double total = 0;
  for (const cv::Mat& frame : image->frames) {
    MVL_FUZZ_CHECK(frame.rows == image->header.rows &&
                   frame.cols == image->header.columns);
    MVL_FUZZ_CHECK(frame.channels() == 1);
    total += cv::sum(frame)[0];  // touches every pixel
  }
  const cv::Mat lut =
      mammovl::data::ApplyModalityLut(image->frames[0], image->header);
  MVL_FUZZ_CHECK(lut.rows == image->frames[0].rows &&
                 lut.cols == image->frames[0].cols);
  return total == -1.0 ? 1 : 0;  // keep the sum alive
}
