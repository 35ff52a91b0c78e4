// Axis-aligned boxes in pixel coordinates and the per-image records that
// detection metrics, post-processing and the detector runner exchange. Plain
// structs; no LibTorch.
#ifndef MAMMOVL_DETECTION_BOX_H_
#define MAMMOVL_DETECTION_BOX_H_

#include <algorithm>
#include <cfloat>
#include <vector>

namespace mammovl::detection {

// Corners (x1, y1) top-left and (x2, y2) bottom-right, in pixels of the image
// the detector sees; x2 >= x1 and y2 >= y1 for a valid box. A box of zero
// width or height is "degenerate": it is valid but overlaps nothing.
struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

inline double BoxWidth(const Box& b) { return double{b.x2} - double{b.x1}; }
inline double BoxHeight(const Box& b) { return double{b.y2} - double{b.y1}; }
inline double BoxArea(const Box& b) { return BoxWidth(b) * BoxHeight(b); }

// Intersection over union in float64, with the union clamped at DBL_EPSILON
// as Mammo-CLIP's `compute_overlap` does: degenerate boxes give 0, never NaN.
// For valid boxes this equals COCO's `bbIou` (no crowd).
inline double BoxIou(const Box& a, const Box& b) {
  const double iw = std::max(0.0, std::min(double{a.x2}, double{b.x2}) -
                                      std::max(double{a.x1}, double{b.x1}));
  const double ih = std::max(0.0, std::min(double{a.y2}, double{b.y2}) -
                                      std::max(double{a.y1}, double{b.y1}));
  const double inter = iw * ih;
  const double uni = std::max(BoxArea(a) + BoxArea(b) - inter, DBL_EPSILON);
  return inter / uni;
}

// Detections of one image: parallel vectors, any order.
struct ImageDetections {
  std::vector<Box> boxes;
  std::vector<float> scores;
  std::vector<int> labels;  // class index in [0, num_classes)
};

// Ground truth of one image: parallel vectors. An image without boxes is a
// normal (lesion-free) image.
struct ImageGroundTruth {
  std::vector<Box> boxes;
  std::vector<int> labels;
};

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_BOX_H_
