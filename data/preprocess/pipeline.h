// One image through a recipe: decoded DICOM frame -> trimmed -> 8/16-bit
// intensities -> breast crop -> resized -> padded -> flipped -> PNG bytes,
// with the geometry needed to map coordinates into the output. No LibTorch.
#ifndef MAMMOVL_DATA_PREPROCESS_PIPELINE_H_
#define MAMMOVL_DATA_PREPROCESS_PIPELINE_H_

#include <opencv2/core.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "data/dicom/dicom_reader.h"
#include "data/image/geometry.h"
#include "data/preprocess/preprocess_config.pb.h"

namespace mammovl::data {

// Seconds per stage of one image.
struct StageSeconds {
  double intensity = 0;
  double crop = 0;
  double resize = 0;
  double encode = 0;
};

// Where the output came from, enough to map original pixel coordinates
// (x, y) into the PNG: x' = (x - trim - crop_x) * scale_x + pad.left, then
// x'' = out_width - x' when flipped; likewise y without the flip.
struct FrameGeometry {
  int trim = 0;
  int crop_x = 0;
  int crop_y = 0;
  int crop_width = 0;   // kept columns (the whole trimmed width without crop)
  int crop_height = 0;  // kept rows
  bool crop_contiguous = true;
  int resized_width = 0;
  int resized_height = 0;
  double scale_x = 1;  // resized_width / crop_width
  double scale_y = 1;
  Padding padding;
  bool flipped = false;
  int out_width = 0;
  int out_height = 0;
};

struct ProcessedFrame {
  cv::Mat image;    // CV_8U or CV_16U
  std::string png;  // encoded PNG
  FrameGeometry geometry;
  StageSeconds seconds;
};

// Runs `recipe` on frame `frame` of `image`. Errors: InvalidArgument (image
// too small for the trim), FailedPrecondition (a window recipe on a file
// without VOI and no fallback; a constant image when not allowed),
// Internal (PNG encoding).
absl::StatusOr<ProcessedFrame> ProcessFrame(const DicomImage& image,
                                            size_t frame,
                                            const ImageRecipe& recipe);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_PREPROCESS_PIPELINE_H_
