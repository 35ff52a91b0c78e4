// PNG charts drawn with OpenCV primitives, for training and evaluation
// reports: line plots (loss curves, with optional log-y and smoothing), ROC and
// precision-recall curves, confusion-matrix heat maps and grouped bar charts.
// Every chart has axes with round-number ticks and tick labels, axis labels, a
// title, a grid and a legend placed where it hides the least data. Images are
// 8-bit BGR; `Write*` functions encode PNG and write it atomically
// (core/file_io), so a report never holds a half-written image.
//
// Bad input (no series, empty or mismatched series, NaN/Inf values,
// non-positive values on a log axis, unusable options) gives InvalidArgument
// naming the series and point; write failures keep file_io's status with the
// path. No LibTorch.
#ifndef MAMMOVL_CORE_PLOT_H_
#define MAMMOVL_CORE_PLOT_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace mammovl::core {

// One line of a line plot (or one curve of a ROC/PR plot).
struct Series {
  std::string name;  // legend entry; empty = not listed
  std::vector<double> x;
  std::vector<double> y;
};

// One colour of bars in a bar chart: one value per category.
struct BarSeries {
  std::string name;
  std::vector<double> values;
};

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

struct PlotOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 960;   // pixels, 240..8192
  int height = 640;  // pixels, 180..8192
  // Logarithmic y axis (all y values must be > 0).
  bool log_y = false;
  // TensorBoard's exponential moving average with bias correction, weight in
  // [0, 1) per point of the most densely sampled series; 0 = off. Sparser
  // series keep the same time constant in x units (a gap of dx decays by
  // weight^(dx / spacing)), so a validation loss logged every 250 steps is
  // hardly smoothed while the per-step training loss is. When on, the raw
  // series is drawn faintly behind the smoothed one.
  double smoothing = 0.0;
  // Axis ranges; NaN = from the data, widened to the nearest round ticks.
  double x_min = std::numeric_limits<double>::quiet_NaN();
  double x_max = std::numeric_limits<double>::quiet_NaN();
  double y_min = std::numeric_limits<double>::quiet_NaN();
  double y_max = std::numeric_limits<double>::quiet_NaN();
  // Dashed grey horizontal reference lines at these y values (e.g. the
  // chance level of a precision-recall curve).
  std::vector<double> reference_y;
  bool grid = true;
  bool legend = true;
  int line_width = 2;  // 1..10
  // Series colours in order; empty = matplotlib's "tab10" palette.
  std::vector<Rgb> colors;
};

// The mapping from data to pixels of a rendered chart, for callers that
// annotate it and for tests.
struct PlotAxis {
  double min = 0.0;
  double max = 1.0;
  bool log = false;
};

struct PlotLayout {
  cv::Rect plot_area;   // the data region; the axes box is drawn on its border
  cv::Rect title_box;   // the title's pixels (empty without a title)
  cv::Rect legend_box;  // the legend's frame (empty without a legend)
  PlotAxis x;
  PlotAxis y;
  // Continuous pixel position of a data point: x from plot_area.x (at
  // x.min) to plot_area.x + width - 1 (at x.max); y from the bottom row (at
  // y.min) to plot_area.y (at y.max).
  cv::Point2d ToPixel(double x_value, double y_value) const;
};

struct RenderedPlot {
  cv::Mat image;  // CV_8UC3, BGR
  PlotLayout layout;
};

// The default series colours (matplotlib "tab10").
const std::vector<Rgb>& DefaultPalette();

// Round tick values (1, 2 or 5 times a power of ten apart) covering
// [lo, hi] with about `target` ticks; the first tick is <= lo and the last
// >= hi.
std::vector<double> NiceTicks(double lo, double hi, int target = 6);

// A tick label with as many decimals as the tick spacing `step` needs
// ("0.25", "1000", "-0.5"); exponent form for very large or small values.
std::string FormatTick(double value, double step);

// Line plot of several series.
absl::StatusOr<RenderedPlot> RenderLinePlot(const std::vector<Series>& series,
                                            const PlotOptions& options);
absl::Status WriteLinePlot(absl::string_view path,
                           const std::vector<Series>& series,
                           const PlotOptions& options);

// ROC curves (x = FPR, y = TPR) on [0, 1]^2 with the chance diagonal. `aucs`
// is empty or holds one area per curve, shown in the legend as
// "name (AUC 0.873)". Unset labels default to "False positive rate", "True
// positive rate" and the title to "ROC curve".
absl::StatusOr<RenderedPlot> RenderRocPlot(const std::vector<Series>& curves,
                                           const std::vector<double>& aucs,
                                           const PlotOptions& options);
absl::Status WriteRocPlot(absl::string_view path,
                          const std::vector<Series>& curves,
                          const std::vector<double>& aucs,
                          const PlotOptions& options);

// Precision-recall curves (x = recall, y = precision) on [0, 1]^2, drawn as
// steps like scikit-learn's PrecisionRecallDisplay; `average_precisions` as
// `aucs` above ("AP 0.412"). Put the positive rate into
// `options.reference_y` to show the chance level.
absl::StatusOr<RenderedPlot> RenderPrecisionRecallPlot(
    const std::vector<Series>& curves,
    const std::vector<double>& average_precisions, const PlotOptions& options);
absl::Status WritePrecisionRecallPlot(
    absl::string_view path, const std::vector<Series>& curves,
    const std::vector<double>& average_precisions, const PlotOptions& options);

// Confusion-matrix heat map: rows = true class, columns = predicted class.
// Cells are shaded by their share of the row (so rare classes stay readable)
// and show the count and that share; a colour bar explains the shading.
// `class_names` is empty (classes are numbered) or one name per row.
absl::StatusOr<RenderedPlot> RenderConfusionMatrix(
    const std::vector<std::vector<double>>& matrix,
    const std::vector<std::string>& class_names, const PlotOptions& options);
absl::Status WriteConfusionMatrix(
    absl::string_view path, const std::vector<std::vector<double>>& matrix,
    const std::vector<std::string>& class_names, const PlotOptions& options);

// Grouped bar chart: one group per category, one bar per series, each bar
// labelled with its value. The y axis always includes 0.
absl::StatusOr<RenderedPlot> RenderBarChart(
    const std::vector<std::string>& categories,
    const std::vector<BarSeries>& series, const PlotOptions& options);
absl::Status WriteBarChart(absl::string_view path,
                           const std::vector<std::string>& categories,
                           const std::vector<BarSeries>& series,
                           const PlotOptions& options);

// Encodes `image` as PNG and writes it atomically to `path`.
absl::Status WritePng(absl::string_view path, const cv::Mat& image);

}  // namespace mammovl::core

#endif  // MAMMOVL_CORE_PLOT_H_
