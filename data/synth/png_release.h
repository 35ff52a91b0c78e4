// The 8-bit PNGs that public mammography releases ship (the Mammo-CLIP
// preprocessing of VinDr/RSNA, mammoclip.md §4.2), made directly from the
// synthetic stored pixels: 5-pixel border trim, MONOCHROME1 inversion,
// min–max to 8 bit (truncating like numpy's astype), the "ExtractBreast" crop
// (longest run of non-constant columns in the central row band, then rows),
// INTER_AREA resize. Also maps boxes from original pixels into that frame.
// Uses OpenCV; no LibTorch.
#ifndef MAMMOVL_DATA_SYNTH_PNG_RELEASE_H_
#define MAMMOVL_DATA_SYNTH_PNG_RELEASE_H_

#include <opencv2/core.hpp>

namespace mammovl::data {

// Where the PNG frame sits in the original matrix.
struct PngFrame {
  int trim = 5;
  // Crop in trimmed coordinates (first kept column/row and the kept counts).
  int crop_x = 0, crop_y = 0, crop_width = 0, crop_height = 0;
  int out_width = 0, out_height = 0;
};

struct PngRelease {
  cv::Mat1b image;  // out_height × out_width
  PngFrame frame;
};

// `stored` is the DICOM pixel matrix (any bit depth in 16 bits).
PngRelease MakeMammoClipPng(const cv::Mat1w& stored, bool monochrome1, int out_width,
                            int out_height);

// Maps a point in original pixel coordinates into the PNG frame.
cv::Point2d MapToPngFrame(const PngFrame& frame, cv::Point2d original);

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_SYNTH_PNG_RELEASE_H_
