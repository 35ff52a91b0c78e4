// Tests of core/plot: the PNGs decode with the requested size, data lands on
// the pixels the axis mapping predicts, titles/legends/axes are where the
// layout says, and bad input is refused with a clear status. When Bazel
// provides TEST_UNDECLARED_OUTPUTS_DIR, the example charts are also written
// there (bazel-testlogs/core/plot_test/test.outputs/) for a visual check.
#include "core/plot.h"

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/file_io.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"

namespace mammovl::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const Rgb kRed = {230, 0, 0};

std::string TempPath(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

// Where example charts go for people to look at; empty outside Bazel.
std::string ExampleDir() {
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  return dir == nullptr ? "" : std::string(dir);
}

cv::Vec3b PixelAt(const cv::Mat& img, cv::Point2d p) {
  return img.at<cv::Vec3b>(static_cast<int>(std::lround(p.y)),
                           static_cast<int>(std::lround(p.x)));
}

bool IsRedish(const cv::Vec3b& bgr) {
  return bgr[2] > 180 && bgr[1] < 90 && bgr[0] < 90;
}

// True if a red pixel lies within `radius` of `p`.
bool RedNear(const cv::Mat& img, cv::Point2d p, int radius = 1) {
  for (int dy = -radius; dy <= radius; ++dy) {
    for (int dx = -radius; dx <= radius; ++dx) {
      if (IsRedish(PixelAt(img, {p.x + dx, p.y + dy}))) return true;
    }
  }
  return false;
}

int CountNonWhite(const cv::Mat& img, const cv::Rect& r) {
  int n = 0;
  for (int y = r.y; y < r.y + r.height; ++y) {
    for (int x = r.x; x < r.x + r.width; ++x) {
      const cv::Vec3b p = img.at<cv::Vec3b>(y, x);
      n += p[0] < 250 || p[1] < 250 || p[2] < 250;
    }
  }
  return n;
}

bool IsDark(const cv::Vec3b& p) {
  return p[0] < 100 && p[1] < 100 && p[2] < 100;
}

// --- Ticks
// ----------------------------------------------------------------------

TEST(NiceTicksTest, RoundStepsCoveringTheRange) {
  EXPECT_THAT(NiceTicks(0, 1, 6),
              ElementsAre(0, 0.2, 0.4, 0.6000000000000001, 0.8, 1));
  EXPECT_THAT(NiceTicks(0, 1000, 6), ElementsAre(0, 200, 400, 600, 800, 1000));
  EXPECT_THAT(NiceTicks(0.31, 2.3, 6), ElementsAre(0, 0.5, 1, 1.5, 2, 2.5));
  EXPECT_THAT(NiceTicks(-3, 3, 5), ElementsAre(-4, -2, 0, 2, 4));
  EXPECT_THAT(NiceTicks(5, 5), ElementsAre(5));
  const std::vector<double> t = NiceTicks(0.0012, 0.0047, 6);
  ASSERT_GE(t.size(), 4u);
  EXPECT_LE(t.front(), 0.0012);
  EXPECT_GE(t.back(), 0.0047);
}

TEST(FormatTickTest, DecimalsFollowTheStep) {
  EXPECT_EQ(FormatTick(0.25, 0.25), "0.25");
  EXPECT_EQ(FormatTick(0.5, 0.25), "0.50");
  EXPECT_EQ(FormatTick(0.6000000000000001, 0.2), "0.6");
  EXPECT_EQ(FormatTick(1000, 200), "1000");
  EXPECT_EQ(FormatTick(-0.5, 0.5), "-0.5");
  EXPECT_EQ(FormatTick(0, 0.1), "0");
  EXPECT_EQ(FormatTick(0.0001, 0.0001), "0.0001");
  EXPECT_EQ(FormatTick(2e-5, 2e-5), "2e-5");
  EXPECT_EQ(FormatTick(3e7, 1e7), "3e7");
  EXPECT_EQ(FormatTick(1.5e7, 5e6), "1.5e7");
}

// --- Line plots
// -----------------------------------------------------------------

PlotOptions FixedRangeOptions() {
  PlotOptions o;
  o.title = "Training loss";
  o.x_label = "step";
  o.y_label = "loss";
  o.width = 800;
  o.height = 500;
  o.x_min = 0;
  o.x_max = 100;
  o.y_min = 0;
  o.y_max = 2;
  o.colors = {kRed};
  return o;
}

TEST(LinePlotTest, ImageSizeAndAxisMapping) {
  PlotOptions o = FixedRangeOptions();
  MVL_ASSERT_OK_AND_ASSIGN(RenderedPlot plot,
                           RenderLinePlot({{"train", {0, 100}, {0, 2}}}, o));
  EXPECT_EQ(plot.image.cols, 800);
  EXPECT_EQ(plot.image.rows, 500);
  EXPECT_EQ(plot.image.type(), CV_8UC3);
  const cv::Rect pa = plot.layout.plot_area;
  EXPECT_TRUE((pa & cv::Rect(0, 0, 800, 500)) == pa);
  // The fixed ranges map to the corners of the plot area.
  const cv::Point2d lo = plot.layout.ToPixel(0, 0);
  const cv::Point2d hi = plot.layout.ToPixel(100, 2);
  EXPECT_DOUBLE_EQ(lo.x, pa.x);
  EXPECT_DOUBLE_EQ(lo.y, pa.y + pa.height - 1);
  EXPECT_DOUBLE_EQ(hi.x, pa.x + pa.width - 1);
  EXPECT_DOUBLE_EQ(hi.y, pa.y);
  // The axes box is drawn on the plot area's border.
  EXPECT_TRUE(IsDark(plot.image.at<cv::Vec3b>(pa.y + pa.height / 3, pa.x)));
  EXPECT_TRUE(IsDark(
      plot.image.at<cv::Vec3b>(pa.y + pa.height - 1, pa.x + pa.width / 3)));
}

TEST(LinePlotTest, SeriesHitsThePredictedPixels) {
  PlotOptions o = FixedRangeOptions();
  o.legend = false;
  const Series s = {"train", {0, 20, 50, 100}, {1.8, 0.6, 1.2, 0.2}};
  MVL_ASSERT_OK_AND_ASSIGN(RenderedPlot plot, RenderLinePlot({s}, o));
  const PlotLayout& l = plot.layout;
  // Where the axis mapping puts each data point, independently of the
  // renderer: x from the left edge, y up from the bottom edge.
  const cv::Rect pa = l.plot_area;
  for (size_t i = 0; i < s.x.size(); ++i) {
    const cv::Point2d expected(pa.x + s.x[i] / 100.0 * (pa.width - 1),
                               pa.y + (1.0 - s.y[i] / 2.0) * (pa.height - 1));
    EXPECT_TRUE(RedNear(plot.image, expected)) << "point " << i;
  }
  // Midpoints of the segments are on the line too.
  EXPECT_TRUE(RedNear(plot.image, l.ToPixel(10, 1.2)));
  EXPECT_TRUE(RedNear(plot.image, l.ToPixel(75, 0.7)));
  // Off the line there is no red.
  EXPECT_FALSE(RedNear(plot.image, l.ToPixel(10, 0.4), 3));
  EXPECT_FALSE(RedNear(plot.image, l.ToPixel(75, 1.6), 3));
}

TEST(LinePlotTest, GridLinesSitAtTheTicks) {
  PlotOptions o = FixedRangeOptions();
  o.legend = false;
  MVL_ASSERT_OK_AND_ASSIGN(RenderedPlot plot,
                           RenderLinePlot({{"", {0, 1}, {0.05, 0.05}}}, o));
  // y ticks 0, 0.5, ..., 2: a grey grid row at 0.5 and 1.5, white halfway
  // between.
  for (double y : {0.5, 1.0, 1.5}) {
    const cv::Vec3b g = PixelAt(plot.image, plot.layout.ToPixel(70, y));
    EXPECT_LT(g[0], 240) << y;
    EXPECT_GT(g[0], 200) << y;
  }
  const cv::Vec3b w = PixelAt(plot.image, plot.layout.ToPixel(70, 1.25));
  EXPECT_EQ(w, cv::Vec3b(255, 255, 255));
}

TEST(LinePlotTest, TitleAndLegendArePlacedAndDrawn) {
  PlotOptions o = FixedRangeOptions();
  o.colors = {kRed, {0, 0, 230}};
  // Both series rise from bottom-left to top-right: the top-left corner is
  // free.
  MVL_ASSERT_OK_AND_ASSIGN(
      RenderedPlot plot, RenderLinePlot({{"train", {0, 100}, {0.1, 1.9}},
                                         {"validation", {0, 100}, {0.2, 1.95}}},
                                        o));
  const PlotLayout& l = plot.layout;
  // Title: above the plot area, centred on it, with ink.
  ASSERT_GT(l.title_box.area(), 0);
  EXPECT_LT(l.title_box.br().y, l.plot_area.y);
  EXPECT_NEAR(l.title_box.x + l.title_box.width / 2.0,
              l.plot_area.x + l.plot_area.width / 2.0, 2);
  EXPECT_GT(CountNonWhite(plot.image, l.title_box), l.title_box.area() / 10);
  // Nothing else in the band of the title (2 pixels left for anti-aliasing).
  const cv::Rect band_left(0, l.title_box.y, l.title_box.x - 2,
                           l.title_box.height);
  EXPECT_EQ(CountNonWhite(plot.image, band_left), 0);
  // Legend: inside the plot area, in the free corner, with both colours.
  ASSERT_GT(l.legend_box.area(), 0);
  EXPECT_TRUE((l.legend_box & l.plot_area) == l.legend_box);
  EXPECT_LT(l.legend_box.x - l.plot_area.x, l.plot_area.width / 2);
  EXPECT_LT(l.legend_box.y - l.plot_area.y, l.plot_area.height / 2);
  int red = 0, blue = 0, dark = 0;
  for (int y = l.legend_box.y; y < l.legend_box.br().y; ++y) {
    for (int x = l.legend_box.x; x < l.legend_box.br().x; ++x) {
      const cv::Vec3b p = plot.image.at<cv::Vec3b>(y, x);
      red += IsRedish(p);
      blue += p[0] > 180 && p[1] < 90 && p[2] < 90;
      dark += IsDark(p);
    }
  }
  EXPECT_GT(red, 20);
  EXPECT_GT(blue, 20);
  EXPECT_GT(dark, 50);  // the names
  // The legend hides none of the data.
  for (double x = 0; x <= 100; x += 2) {
    EXPECT_FALSE(l.legend_box.contains(l.ToPixel(x, 0.1 + 1.8 * x / 100)));
  }
}

TEST(LinePlotTest, LogAxisSpacesDecadesEvenly) {
  PlotOptions o;
  o.log_y = true;
  o.colors = {kRed};
  o.legend = false;
  const Series s = {"loss", {0, 1, 2, 3}, {1.0, 0.1, 0.01, 0.001}};
  MVL_ASSERT_OK_AND_ASSIGN(RenderedPlot plot, RenderLinePlot({s}, o));
  const PlotLayout& l = plot.layout;
  EXPECT_TRUE(l.y.log);
  const double d1 = l.ToPixel(0, 0.1).y - l.ToPixel(0, 1.0).y;
  const double d2 = l.ToPixel(0, 0.01).y - l.ToPixel(0, 0.1).y;
  EXPECT_GT(d1, 20);
  EXPECT_NEAR(d1, d2, 1e-9);
  for (size_t i = 0; i < s.x.size(); ++i) {
    EXPECT_TRUE(RedNear(plot.image, l.ToPixel(s.x[i], s.y[i]))) << i;
  }
  EXPECT_TRUE(RedNear(plot.image, l.ToPixel(1.5, std::sqrt(0.1 * 0.01))));
}

TEST(LinePlotTest, SmoothingDrawsTheAverageOverAFaintRawLine) {
  PlotOptions o;
  o.smoothing = 0.9;
  o.colors = {kRed};
  o.legend = false;
  o.y_min = -0.1;
  o.y_max = 1.1;
  Series s{"loss", {}, {}};
  for (int i = 0; i < 400; ++i) {
    s.x.push_back(i);
    s.y.push_back(i % 2);
  }
  MVL_ASSERT_OK_AND_ASSIGN(RenderedPlot plot, RenderLinePlot({s}, o));
  // Late in the series the average is 0.5 (within the EMA's ripple).
  EXPECT_TRUE(RedNear(plot.image, plot.layout.ToPixel(300, 0.5), 4));
  // The raw zigzag reaches 1.0 only in the light colour.
  const cv::Vec3b raw = PixelAt(plot.image, plot.layout.ToPixel(301, 1.0));
  EXPECT_FALSE(IsRedish(raw));
  EXPECT_GT(raw[2], 200);
  EXPECT_GT(raw[1], 120);  // pink, not white and not red
  EXPECT_LT(raw[1], 250);
}

TEST(LinePlotTest, WrittenPngDecodesToTheRenderedImage) {
  PlotOptions o = FixedRangeOptions();
  const std::vector<Series> series = {{"train", {0, 50, 100}, {1.5, 0.7, 0.4}}};
  const std::string path = TempPath("loss.png");
  MVL_ASSERT_OK(WriteLinePlot(path, series, o));
  const cv::Mat back = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(back.cols, 800);
  EXPECT_EQ(back.rows, 500);
  MVL_ASSERT_OK_AND_ASSIGN(RenderedPlot plot, RenderLinePlot(series, o));
  EXPECT_EQ(cv::norm(back, plot.image, cv::NORM_INF), 0.0);
}

// --- Bad input
// ------------------------------------------------------------------

TEST(PlotErrorsTest, BadSeriesAreRefused) {
  const PlotOptions o;
  EXPECT_THAT(
      RenderLinePlot({}, o),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no series")));
  EXPECT_THAT(RenderLinePlot({{"a", {}, {}}}, o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("series 'a' is empty")));
  EXPECT_THAT(RenderLinePlot({{"a", {1, 2}, {1}}}, o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("series 'a' has 2 x values but 1 y values")));
  EXPECT_THAT(RenderLinePlot({{"ok", {1}, {1}}, {"b", {1, 2}, {1, kNaN}}}, o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("series 'b' point 1 is (2, nan)")));
  EXPECT_THAT(RenderLinePlot({{"", {1, INFINITY}, {1, 2}}}, o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("series 0 point 1")));
  PlotOptions log = o;
  log.log_y = true;
  EXPECT_THAT(RenderLinePlot({{"loss", {1, 2}, {0.5, 0.0}}}, log),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("log axis needs y > 0")));
}

TEST(PlotErrorsTest, ExtremeButValidInputStillRenders) {
  PlotOptions o;
  o.width = 240;
  o.height = 180;
  // A very long legend entry and title are shortened, not overflowing.
  const std::string long_name(500, 'x');
  o.title = long_name;
  MVL_ASSERT_OK_AND_ASSIGN(RenderedPlot plot,
                           RenderLinePlot({{long_name, {0, 1}, {0, 1}}}, o));
  EXPECT_LE(plot.layout.legend_box.br().x, 240);
  EXPECT_LE(plot.layout.title_box.br().x, 240);
  // Tiny cells and long class names in a 40-class confusion matrix.
  std::vector<std::vector<double>> m(40, std::vector<double>(40, 1.0));
  std::vector<std::string> names(40, "a rather long class name");
  MVL_EXPECT_OK(RenderConfusionMatrix(m, names, o).status());
  EXPECT_THAT(
      RenderLinePlot({{"a", {-1e308, 1e308}, {0, 1}}}, o),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("overflows")));
}

TEST(PlotErrorsTest, BadOptionsAreRefused) {
  const std::vector<Series> s = {{"a", {0, 1}, {0, 1}}};
  PlotOptions o;
  o.width = 10;
  EXPECT_THAT(RenderLinePlot(s, o), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("image size")));
  o = {};
  o.smoothing = 1.0;
  EXPECT_THAT(RenderLinePlot(s, o), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("smoothing")));
  o = {};
  o.x_min = 3;
  o.x_max = 1;
  EXPECT_THAT(RenderLinePlot(s, o), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("x range")));
  o = {};
  o.line_width = 0;
  EXPECT_THAT(RenderLinePlot(s, o), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("line_width")));
  EXPECT_THAT(RenderRocPlot(s, {0.5, 0.6}, PlotOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("2 AUC values for 1")));
}

TEST(PlotErrorsTest, UnwritablePathKeepsTheFileError) {
  const std::vector<Series> s = {{"a", {0, 1}, {0, 1}}};
  const absl::Status status =
      WriteLinePlot(TempPath("no/such/folder/x.png"), s, PlotOptions());
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("no/such/folder/x.png"));
  EXPECT_FALSE(PathExists(TempPath("no/such/folder/x.png")));
}

TEST(PlotErrorsTest, BadMatricesAndBarsAreRefused) {
  const PlotOptions o;
  EXPECT_THAT(RenderConfusionMatrix({}, {}, o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(RenderConfusionMatrix({{1, 2}, {3}}, {}, o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("row 1 has 1 entries")));
  EXPECT_THAT(
      RenderConfusionMatrix({{1, -2}, {3, 4}}, {}, o),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("entry (0, 1)")));
  EXPECT_THAT(
      RenderConfusionMatrix({{1, 2}, {3, 4}}, {"a"}, o),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 class names")));
  EXPECT_THAT(RenderBarChart({"a", "b"}, {{"s", {1}}}, o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("1 values for 2")));
  EXPECT_THAT(
      RenderBarChart({}, {{"s", {}}}, o),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no categories")));
  EXPECT_THAT(RenderBarChart({"a"}, {{"s", {kNaN}}}, o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("value 0 is nan")));
}

// --- ROC, PR, confusion matrix, bars
// --------------------------------------------

TEST(RocPlotTest, CurveAndChanceDiagonal) {
  PlotOptions o;
  o.colors = {kRed};
  o.width = 640;
  o.height = 640;
  // A perfect classifier: up the left edge, then along the top.
  MVL_ASSERT_OK_AND_ASSIGN(
      RenderedPlot plot,
      RenderRocPlot({{"model", {0, 0, 1}, {0, 1, 1}}}, {1.0}, o));
  const PlotLayout& l = plot.layout;
  EXPECT_TRUE(RedNear(plot.image, l.ToPixel(0, 0.5)));
  EXPECT_TRUE(RedNear(plot.image, l.ToPixel(0.5, 1)));
  // The dashed grey diagonal: most sample points along it are grey.
  int grey = 0;
  for (double t = 0.05; t < 0.95; t += 0.01) {
    const cv::Vec3b p = PixelAt(plot.image, l.ToPixel(t, t));
    grey += p[0] < 220 && std::abs(p[0] - p[2]) < 10;
  }
  EXPECT_GT(grey, 40);
  EXPECT_GT(l.legend_box.area(), 0);
  // The legend avoids the curve along the top: it sits at the bottom.
  EXPECT_GT(l.legend_box.y, l.plot_area.y + l.plot_area.height / 2);
}

TEST(PrecisionRecallPlotTest, DrawnAsStepsWithChanceLevel) {
  PlotOptions o;
  o.colors = {kRed};
  o.reference_y = {0.3};
  MVL_ASSERT_OK_AND_ASSIGN(
      RenderedPlot plot,
      RenderPrecisionRecallPlot({{"model", {1.0, 0.5, 0.0}, {0.5, 1.0, 1.0}}},
                                {0.75}, o));
  const PlotLayout& l = plot.layout;
  // Steps-post: from (1, 0.5) horizontally to recall 0.5, then up.
  EXPECT_TRUE(RedNear(plot.image, l.ToPixel(0.75, 0.5)));
  EXPECT_TRUE(RedNear(plot.image, l.ToPixel(0.5, 0.75)));
  EXPECT_FALSE(RedNear(plot.image, l.ToPixel(0.75, 0.75), 3));
  // The chance level is a dashed grey line at 0.3.
  int grey = 0;
  for (double x = 0.05; x < 0.6; x += 0.01) {
    const cv::Vec3b p = PixelAt(plot.image, l.ToPixel(x, 0.3));
    grey += p[0] < 220 && std::abs(p[0] - p[2]) < 10;
  }
  EXPECT_GT(grey, 20);
}

TEST(ConfusionMatrixPlotTest, CellsShadedByRowShare) {
  PlotOptions o;
  o.width = 700;
  o.height = 600;
  const std::vector<std::vector<double>> m = {
      {90, 10, 0}, {5, 5, 0}, {0, 0, 3}};
  MVL_ASSERT_OK_AND_ASSIGN(
      RenderedPlot plot,
      RenderConfusionMatrix(m, {"benign", "malignant", "normal"}, o));
  const PlotLayout& l = plot.layout;
  EXPECT_EQ(plot.image.cols, 700);
  EXPECT_EQ(plot.image.rows, 600);
  EXPECT_EQ(l.plot_area.width, l.plot_area.height);
  const int cell = l.plot_area.width / 3;
  auto corner =
      [&](int row, int col) {  // a pixel near the cell's corner, away from text
        return plot.image.at<cv::Vec3b>(l.plot_area.y + row * cell + 4,
                                        l.plot_area.x + col * cell + 4);
      };
  // Share 1.0 (row 2, col 2) is the darkest blue: RGB (8, 48, 107).
  EXPECT_NEAR(corner(2, 2)[2], 8, 2);
  EXPECT_NEAR(corner(2, 2)[1], 48, 2);
  EXPECT_NEAR(corner(2, 2)[0], 107, 2);
  // Share 0.9 is darker than 0.1, and a share of 0 is near white.
  EXPECT_LT(corner(0, 0)[1], corner(0, 1)[1]);
  EXPECT_GT(corner(0, 2)[1], 245);
  // Row 1 has equal shares (0.5): equal shades although the counts are small.
  EXPECT_EQ(corner(1, 0), corner(1, 1));
  // Count text is drawn in the cells (white on dark, dark on light).
  const cv::Rect dark_cell(l.plot_area.x + 2 * cell, l.plot_area.y + 2 * cell,
                           cell, cell);
  int white_ink = 0;
  for (int y = dark_cell.y; y < dark_cell.br().y; ++y) {
    for (int x = dark_cell.x; x < dark_cell.br().x; ++x) {
      const cv::Vec3b p = plot.image.at<cv::Vec3b>(y, x);
      white_ink += p[0] > 200 && p[1] > 200 && p[2] > 200;
    }
  }
  EXPECT_GT(white_ink, 20);
  EXPECT_GT(CountNonWhite(plot.image, l.title_box), 50);
}

TEST(BarChartTest, BarsReachTheirValues) {
  PlotOptions o;
  o.colors = {kRed, {0, 0, 230}};
  o.title = "AUC per finding";
  MVL_ASSERT_OK_AND_ASSIGN(
      RenderedPlot plot,
      RenderBarChart({"mass", "calcification"},
                     {{"B2", {0.58, 0.68}}, {"B5", {0.48, 0.61}}}, o));
  const PlotLayout& l = plot.layout;
  EXPECT_EQ(l.y.min, 0.0);
  // Series 0 of category 1 spans x in [0.6, 1.0] and y in [0, 0.68].
  EXPECT_TRUE(IsRedish(PixelAt(plot.image, l.ToPixel(0.8, 0.34))));
  EXPECT_TRUE(IsRedish(PixelAt(plot.image, l.ToPixel(0.8, 0.66))));
  EXPECT_FALSE(IsRedish(PixelAt(plot.image, l.ToPixel(0.8, 0.72))));
  const cv::Vec3b blue =
      PixelAt(plot.image, l.ToPixel(0.2, 0.2));  // series 1, category 0
  EXPECT_GT(blue[0], 180);
  EXPECT_LT(blue[2], 90);
}

// --- Examples to look at
// -----------------------------------------------------------

TEST(PlotExamplesTest, WriteExampleCharts) {
  const std::string dir =
      ExampleDir().empty() ? TempPath("examples") : ExampleDir();
  MVL_ASSERT_OK(MakeDirectories(dir));

  // Loss curve: noisy training loss every step, validation every 250 steps.
  Series train{"train loss", {}, {}}, val{"validation loss", {}, {}};
  uint64_t state = 12345;
  auto noise = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0 - 0.5;
  };
  for (int step = 0; step <= 3000; step += 5) {
    const double base = 0.35 + 2.2 * std::exp(-step / 600.0);
    train.x.push_back(step);
    train.y.push_back(base * (1.0 + 0.35 * noise()));
    if (step % 250 == 0) {
      val.x.push_back(step);
      val.y.push_back(base * 1.08 + 0.02);
    }
  }
  PlotOptions loss;
  loss.title = "Mammo-CLIP pretraining loss";
  loss.x_label = "step";
  loss.y_label = "loss";
  loss.smoothing = 0.8;
  MVL_EXPECT_OK(WriteLinePlot(dir + "/loss_curve.png", {train, val}, loss));
  loss.log_y = true;
  loss.title = "Mammo-CLIP pretraining loss (log scale)";
  MVL_EXPECT_OK(WriteLinePlot(dir + "/loss_curve_log.png", {train, val}, loss));
  PlotOptions small = loss;  // thumbnails and large renders scale their text
  small.width = 400;
  small.height = 300;
  MVL_EXPECT_OK(
      WriteLinePlot(dir + "/loss_curve_small.png", {train, val}, small));
  PlotOptions large = loss;
  large.width = 1920;
  large.height = 1280;
  large.log_y = false;
  large.title = "Mammo-CLIP pretraining loss";
  MVL_EXPECT_OK(
      WriteLinePlot(dir + "/loss_curve_large.png", {train, val}, large));

  // ROC curves of two models.
  PlotOptions roc;
  roc.width = 720;
  roc.height = 640;
  roc.title = "RSNA malignancy, per breast";
  MVL_EXPECT_OK(WriteRocPlot(dir + "/roc.png",
                             {{"EfficientNet-B5",
                               {0, 0, 0.05, 0.1, 0.2, 0.4, 0.7, 1},
                               {0, 0.3, 0.52, 0.66, 0.8, 0.9, 0.97, 1}},
                              {"EfficientNet-B2",
                               {0, 0.1, 0.3, 0.5, 0.8, 1},
                               {0, 0.35, 0.6, 0.78, 0.93, 1}}},
                             {0.873, 0.751}, roc));
  PlotOptions pr = roc;
  pr.title = "VinDr mass";
  pr.reference_y = {0.11};
  MVL_EXPECT_OK(
      WritePrecisionRecallPlot(dir + "/precision_recall.png",
                               {{"B5",
                                 {1, 0.9, 0.7, 0.5, 0.3, 0.1, 0},
                                 {0.11, 0.2, 0.32, 0.45, 0.6, 0.8, 1}}},
                               {0.41}, pr));

  PlotOptions cm;
  cm.width = 760;
  cm.height = 640;
  cm.title = "VinDr density (test split)";
  MVL_EXPECT_OK(WriteConfusionMatrix(
      dir + "/confusion_matrix.png",
      {{12, 7, 1, 0}, {9, 301, 75, 2}, {2, 150, 2810, 180}, {0, 4, 160, 380}},
      {"A", "B", "C", "D"}, cm));
  // Seven ordinal classes with long names: names shrink to their column.
  std::vector<std::vector<double>> birads(7, std::vector<double>(7, 0.0));
  std::vector<std::string> birads_names;
  for (int i = 0; i < 7; ++i) {
    birads_names.push_back("BI-RADS " + std::to_string(i));
    for (int j = 0; j < 7; ++j)
      birads[i][j] =
          i == j ? 40 + 13 * i : std::max(0, 9 - 3 * std::abs(i - j));
  }
  cm.title = "EMBED BI-RADS, zero-shot";
  MVL_EXPECT_OK(WriteConfusionMatrix(dir + "/confusion_matrix_birads.png",
                                     birads, birads_names, cm));
  PlotOptions bars;
  bars.title = "Zero-shot AUC";
  bars.y_label = "AUC";
  MVL_EXPECT_OK(WriteBarChart(dir + "/bars.png",
                              {"calcification", "mass", "malignancy"},
                              {{"B2", {0.68, 0.58, 0.60}},
                               {"B5", {0.61, 0.48, 0.62}},
                               {"B5 + VinDr", {0.62, 0.76, 0.60}}},
                              bars));
  for (const char* name :
       {"loss_curve", "loss_curve_log", "loss_curve_small", "loss_curve_large",
        "roc", "precision_recall", "confusion_matrix",
        "confusion_matrix_birads", "bars"}) {
    const cv::Mat img = cv::imread(dir + "/" + name + ".png", cv::IMREAD_COLOR);
    EXPECT_FALSE(img.empty()) << name;
  }
}

}  // namespace
}  // namespace mammovl::core
