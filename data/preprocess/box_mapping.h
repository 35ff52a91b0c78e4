// Maps annotation boxes from original DICOM pixel coordinates into the PNG
// written by the preprocessing run, using its manifest row (trim, crop,
// scale, padding, flip). VinDr's finding_annotations.csv becomes the
// resized_* columns of Mammo-CLIP's detector CSV. No LibTorch.
#ifndef MAMMOVL_DATA_PREPROCESS_BOX_MAPPING_H_
#define MAMMOVL_DATA_PREPROCESS_BOX_MAPPING_H_

#include "absl/status/status.h"
#include "data/preprocess/manifest.h"
#include "data/preprocess/preprocess_config.pb.h"

namespace mammovl::data {

struct Box {
  double xmin = 0;
  double ymin = 0;
  double xmax = 0;
  double ymax = 0;
};

// Maps `box` (original pixels) into the output of `row`:
//   x1 = clamp(x - trim, 0, columns - 2 trim) - crop_x
//   x2 = x1 * scale_x + pad_left, and out_width - x2 when flipped (the min
//   and max then swap); y likewise without the flip.
// Mammo-CLIP's preprocess_VinDr_detector.py does the same except that it
// clamps x against the height and y against the width; this clamps each
// axis against its own size.
Box MapBox(const Box& box, const ManifestRow& row);

// Reads `config.annotations_csv`, joins each row with the manifest on
// image id (and study id when both tables have it), and writes
// `config.output_csv` with four added columns. Rows without a box (empty
// or NaN coordinates) or without a manifest row get empty values; the
// number of unmatched rows is logged. Errors name the file and line.
absl::Status MapBoxesCsv(const BoxMappingConfig& config,
                         absl::string_view default_manifest);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_PREPROCESS_BOX_MAPPING_H_
