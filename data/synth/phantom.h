// Renders one mammographic view of a synthetic breast: outline with skin line
// and nipple, pectoral muscle on MLO, fibroglandular texture whose amount
// follows the BI-RADS density, curvilinear structures, and the findings at
// their anatomical positions (so CC and MLO agree on depth). Output is a float
// image in [0, 1] in display orientation (left breasts: chest wall on the left
// edge; right breasts: on the right), plus one box per visible finding in
// pixel coordinates. Uses OpenCV; no LibTorch.
#ifndef MAMMOVL_DATA_SYNTH_PHANTOM_H_
#define MAMMOVL_DATA_SYNTH_PHANTOM_H_

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "data/synth/cohort.h"
#include "data/synth/synth_config.pb.h"

namespace mammovl::data {

// Box of one finding in one view; coordinates are pixel indices of the
// rendered matrix (x = column, y = row), inclusive extent as floats.
struct FindingBox {
  int finding_index = 0;  // index into `Breast::findings`
  FindingType type = FindingType::kMass;
  double xmin = 0, ymin = 0, xmax = 0, ymax = 0;
};

struct RenderedView {
  cv::Mat1f image;               // rows × columns, values in [0, 1]
  std::vector<FindingBox> boxes;
  cv::Mat1b breast_mask;         // 255 inside the breast
};

// Renders `view` of `breast`. `pixel_mm` is the pixel spacing; `seed` picks
// the texture realisation of this image. Deterministic in its arguments.
RenderedView RenderView(const Breast& breast, View view, int rows, int columns, double pixel_mm,
                        const Appearance& appearance, uint64_t seed);

// Stored pixel values as a detector would write them: `bits_stored` bits in a
// 16-bit matrix, MONOCHROME1 inverted when asked, with a small offset and
// gain jitter. `window_center` / `window_width` cover the breast tissue.
struct StoredImage {
  cv::Mat1w pixels;
  double window_center = 0;
  double window_width = 0;
};
StoredImage QuantizeForDetector(const cv::Mat1f& image, const cv::Mat1b& breast_mask,
                                int bits_stored, bool monochrome1, uint64_t seed);

// Burns a laterality/view marker such as "L CC" into the top corner away from
// the chest wall (as many units do), in image units.
void BurnInMarker(cv::Mat1f& image, Side side, View view);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_SYNTH_PHANTOM_H_
