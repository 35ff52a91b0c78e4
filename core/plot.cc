#include "core/plot.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace mammovl::core {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kText(30, 30, 30);
const cv::Scalar kAxisColor(60, 60, 60);
const cv::Scalar kGridColor(228, 228, 228);
const cv::Scalar kReferenceColor(140, 140, 140);
const cv::Scalar kLegendBorder(190, 190, 190);

cv::Scalar ToScalar(const Rgb& c) { return cv::Scalar(c.b, c.g, c.r); }

// Mixes `c` with white; `amount` 0 keeps c, 1 gives white.
cv::Scalar Lighten(const cv::Scalar& c, double amount) {
  return cv::Scalar(c[0] + (255 - c[0]) * amount, c[1] + (255 - c[1]) * amount,
                    c[2] + (255 - c[2]) * amount);
}

// Font sizes and spacing, scaled with the image so that large renders stay
// proportionate.
struct Style {
  double factor;  // 1 at 960x640
  int axis_width;
  double tick_scale;
  double label_scale;
  double title_scale;
  int title_thickness;
  int pad;       // outer margin
  int gap;       // between text blocks
  int tick_len;  // tick marks, outward
};

Style MakeStyle(int width, int height) {
  const double f =
      std::clamp(std::min(width / 960.0, height / 640.0), 0.5, 4.0);
  Style s;
  s.factor = f;
  s.axis_width = std::max(1, static_cast<int>(std::lround(f)));
  s.tick_scale = 0.48 * f;
  s.label_scale = 0.55 * f;
  s.title_scale = 0.72 * f;
  s.title_thickness = std::max(1, static_cast<int>(std::lround(2 * f)));
  s.pad = static_cast<int>(std::lround(14 * f));
  s.gap = static_cast<int>(std::lround(8 * f));
  s.tick_len = std::max(3, static_cast<int>(std::lround(5 * f)));
  return s;
}

int Thickness(double scale) { return scale < 0.8 ? 1 : scale < 1.6 ? 2 : 3; }

struct TextBox {
  cv::Size size;  // width, height above the baseline
  int baseline;   // pixels below the baseline
};

TextBox MeasureText(const std::string& text, double scale) {
  TextBox box;
  box.baseline = 0;
  box.size =
      cv::getTextSize(text, kFont, scale, Thickness(scale), &box.baseline);
  return box;
}

enum class HAlign { kLeft, kCenter, kRight };
enum class VAlign { kTop, kCenter, kBottom };

// Draws `text` anchored at `anchor` and returns the rectangle it covers
// (ascender to descender).
cv::Rect DrawText(cv::Mat& img, const std::string& text, cv::Point anchor,
                  HAlign h, VAlign v, double scale, const cv::Scalar& color,
                  int thickness = 0) {
  if (thickness <= 0) thickness = Thickness(scale);
  int baseline = 0;
  const cv::Size size =
      cv::getTextSize(text, kFont, scale, thickness, &baseline);
  int x = anchor.x;
  if (h == HAlign::kCenter) x -= size.width / 2;
  if (h == HAlign::kRight) x -= size.width;
  const int total = size.height + baseline;
  int top = anchor.y;
  if (v == VAlign::kCenter) top -= total / 2;
  if (v == VAlign::kBottom) top -= total;
  cv::putText(img, text, cv::Point(x, top + size.height), kFont, scale, color,
              thickness, cv::LINE_AA);
  return cv::Rect(x, top, size.width, total);
}

// Draws `text` rotated by 90 degrees (reading bottom to top) centred at
// `center`, for y-axis labels. Assumes a light background (min-blending).
cv::Rect DrawVerticalText(cv::Mat& img, const std::string& text,
                          cv::Point center, double scale,
                          const cv::Scalar& color) {
  int baseline = 0;
  const cv::Size size =
      cv::getTextSize(text, kFont, scale, Thickness(scale), &baseline);
  const int m = 2;
  cv::Mat patch(size.height + baseline + 2 * m, size.width + 2 * m, CV_8UC3,
                kWhite);
  cv::putText(patch, text, cv::Point(m, m + size.height), kFont, scale, color,
              Thickness(scale), cv::LINE_AA);
  cv::Mat rotated;
  cv::rotate(patch, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
  cv::Rect dst(center.x - rotated.cols / 2, center.y - rotated.rows / 2,
               rotated.cols, rotated.rows);
  const cv::Rect clipped = dst & cv::Rect(0, 0, img.cols, img.rows);
  if (clipped.area() == 0) return cv::Rect();
  cv::Mat src = rotated(cv::Rect(clipped.x - dst.x, clipped.y - dst.y,
                                 clipped.width, clipped.height));
  cv::Mat target = img(clipped);
  cv::min(target, src, target);
  return clipped;
}

// Shrinks the font (down to `min_scale`) and then shortens the text with ".."
// until it fits into `max_width` pixels.
std::string FitText(const std::string& text, int max_width, double* scale,
                    double min_scale) {
  while (MeasureText(text, *scale).size.width > max_width &&
         *scale > min_scale) {
    *scale = std::max(min_scale, *scale * 0.9);
  }
  if (MeasureText(text, *scale).size.width <= max_width) return text;
  // Keep the longest prefix that fits with "..", at most 256 characters.
  for (size_t keep = std::min<size_t>(text.size(), 256); keep-- > 0;) {
    std::string t = text.substr(0, keep) + "..";
    if (MeasureText(t, *scale).size.width <= max_width) return t;
  }
  return "";
}

void DrawDashedLine(cv::Mat& img, cv::Point2d a, cv::Point2d b,
                    const cv::Scalar& color, int thickness, double dash,
                    double space) {
  const double length = std::hypot(b.x - a.x, b.y - a.y);
  if (length <= 0) return;
  const cv::Point2d dir((b.x - a.x) / length, (b.y - a.y) / length);
  for (double t = 0; t < length; t += dash + space) {
    const double e = std::min(length, t + dash);
    const cv::Point p(static_cast<int>(std::lround(a.x + dir.x * t)),
                      static_cast<int>(std::lround(a.y + dir.y * t)));
    const cv::Point q(static_cast<int>(std::lround(a.x + dir.x * e)),
                      static_cast<int>(std::lround(a.y + dir.y * e)));
    cv::line(img, p, q, color, thickness, cv::LINE_AA);
  }
}

absl::Status CheckOptions(const PlotOptions& o) {
  if (o.width < 240 || o.width > 8192 || o.height < 180 || o.height > 8192) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plot: image size must be within 240..8192 x 180..8192 pixels, got ",
        o.width, "x", o.height));
  }
  if (!(o.smoothing >= 0.0 && o.smoothing < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("plot: smoothing must be in [0, 1), got ", o.smoothing));
  }
  if (o.line_width < 1 || o.line_width > 10) {
    return absl::InvalidArgumentError(
        absl::StrCat("plot: line_width must be in 1..10, got ", o.line_width));
  }
  for (const auto& [name, lo, hi] : {std::make_tuple("x", o.x_min, o.x_max),
                                     std::make_tuple("y", o.y_min, o.y_max)}) {
    if (std::isinf(lo) || std::isinf(hi) ||
        (!std::isnan(lo) && !std::isnan(hi) && lo >= hi)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "plot: ", name, " range [", lo, ", ", hi, "] is empty or infinite"));
    }
  }
  if (o.log_y && !std::isnan(o.y_min) && o.y_min <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("plot: log_y needs y_min > 0, got ", o.y_min));
  }
  for (double r : o.reference_y) {
    if (!std::isfinite(r))
      return absl::InvalidArgumentError("plot: reference_y must be finite");
  }
  return absl::OkStatus();
}

std::string SeriesName(const Series& s, size_t i) {
  return s.name.empty() ? absl::StrCat("series ", i)
                        : absl::StrCat("series '", s.name, "'");
}

absl::Status CheckSeries(const std::vector<Series>& series, bool log_y) {
  if (series.empty())
    return absl::InvalidArgumentError("plot: no series to draw");
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    if (s.x.size() != s.y.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("plot: ", SeriesName(s, i), " has ", s.x.size(),
                       " x values but ", s.y.size(), " y values"));
    }
    if (s.x.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("plot: ", SeriesName(s, i), " is empty"));
    }
    for (size_t j = 0; j < s.x.size(); ++j) {
      if (!std::isfinite(s.x[j]) || !std::isfinite(s.y[j])) {
        return absl::InvalidArgumentError(
            absl::StrCat("plot: ", SeriesName(s, i), " point ", j, " is (",
                         s.x[j], ", ", s.y[j], "); values must be finite"));
      }
      if (log_y && s.y[j] <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("plot: ", SeriesName(s, i), " point ", j,
                         " has y = ", s.y[j], "; a log axis needs y > 0"));
      }
    }
  }
  return absl::OkStatus();
}

// TensorBoard's smoothing (EMA with the zero-initialisation bias removed),
// made time-aware: a gap of dx in x decays by weight^(dx / reference_dx), so
// series logged at different intervals share one time constant in x units.
std::vector<double> Smooth(const std::vector<double>& x,
                           const std::vector<double>& y, double weight,
                           double reference_dx) {
  std::vector<double> out(y.size());
  double last = 0.0;
  double debias = 1.0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double dx = i == 0 ? 0.0 : std::abs(x[i] - x[i - 1]);
    const double w = dx > 0 && reference_dx > 0
                         ? std::pow(weight, dx / reference_dx)
                         : weight;
    last = last * w + (1.0 - w) * y[i];
    debias *= w;
    out[i] = last / (1.0 - debias);
  }
  return out;
}

// The median x spacing of the most densely sampled series (0 if none has two
// distinct x values).
double ReferenceSpacing(const std::vector<Series>& series) {
  double best = 0.0;
  for (const Series& s : series) {
    std::vector<double> dx;
    for (size_t i = 1; i < s.x.size(); ++i) {
      const double d = std::abs(s.x[i] - s.x[i - 1]);
      if (d > 0) dx.push_back(d);
    }
    if (dx.empty()) continue;
    std::nth_element(dx.begin(), dx.begin() + dx.size() / 2, dx.end());
    const double median = dx[dx.size() / 2];
    if (best == 0.0 || median < best) best = median;
  }
  return best;
}

struct AxisTicks {
  PlotAxis axis;
  std::vector<double> ticks;
  std::vector<std::string> labels;
};

// A linear axis over the data, padded by 3 % on each automatic end, or the
// fixed range; ticks lie inside the range.
AxisTicks LinearAxis(double lo, double hi, double fixed_lo, double fixed_hi,
                     int target) {
  const bool auto_lo = std::isnan(fixed_lo);
  const bool auto_hi = std::isnan(fixed_hi);
  if (!auto_lo) lo = fixed_lo;
  if (!auto_hi) hi = fixed_hi;
  if (hi <= lo) {
    const double d = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    if (auto_lo) lo -= d;
    if (auto_hi) hi += d;
    if (hi <= lo) hi = lo + d;
  }
  const double span = hi - lo;
  if (auto_lo) lo -= 0.03 * span;
  if (auto_hi) hi += 0.03 * span;
  AxisTicks a;
  a.axis = {lo, hi, false};
  const std::vector<double> all = NiceTicks(lo, hi, target);
  const double step = all.size() > 1 ? all[1] - all[0] : span;
  for (double t : all) {
    if (t >= lo - 1e-9 * span && t <= hi + 1e-9 * span) {
      a.ticks.push_back(t);
      a.labels.push_back(FormatTick(t, step));
    }
  }
  return a;
}

AxisTicks LogAxis(double lo, double hi, double fixed_lo, double fixed_hi) {
  if (!std::isnan(fixed_lo)) lo = fixed_lo;
  if (!std::isnan(fixed_hi)) hi = fixed_hi;
  double llo = std::log10(lo), lhi = std::log10(hi);
  if (lhi <= llo) {
    llo -= 0.5;
    lhi += 0.5;
  }
  const double span = lhi - llo;
  if (std::isnan(fixed_lo)) llo -= 0.03 * span;
  if (std::isnan(fixed_hi)) lhi += 0.03 * span;
  AxisTicks a;
  a.axis = {std::pow(10.0, llo), std::pow(10.0, lhi), true};
  auto inside = [&](double v) {
    const double lv = std::log10(v);
    return lv >= llo - 1e-9 && lv <= lhi + 1e-9;
  };
  std::vector<double> ticks;
  for (int e = static_cast<int>(std::floor(llo));
       e <= static_cast<int>(std::ceil(lhi)); ++e) {
    if (inside(std::pow(10.0, e))) ticks.push_back(std::pow(10.0, e));
  }
  if (ticks.size() < 3) {  // less than two decades: add 2x and 5x
    ticks.clear();
    for (int e = static_cast<int>(std::floor(llo));
         e <= static_cast<int>(std::ceil(lhi)); ++e) {
      for (double m : {1.0, 2.0, 5.0}) {
        const double v = m * std::pow(10.0, e);
        if (inside(v)) ticks.push_back(v);
      }
    }
  }
  if (ticks.size() < 2) {  // a narrow range: round linear ticks inside it
    ticks.clear();
    const std::vector<double> lin = NiceTicks(a.axis.min, a.axis.max, 4);
    for (double v : lin) {
      if (v > 0 && inside(v)) ticks.push_back(v);
    }
    const double step = lin.size() > 1 ? lin[1] - lin[0] : a.axis.min;
    for (double v : ticks) {
      a.ticks.push_back(v);
      a.labels.push_back(FormatTick(v, step));
    }
    return a;
  }
  for (double v : ticks) {
    a.ticks.push_back(v);
    a.labels.push_back(FormatTick(v, v));
  }
  return a;
}

double AxisFraction(const PlotAxis& a, double v) {
  if (a.log)
    return (std::log10(v) - std::log10(a.min)) /
           (std::log10(a.max) - std::log10(a.min));
  return (v - a.min) / (a.max - a.min);
}

// Everything around the data: margins, title, axis labels, grid, ticks and
// the axes box. `x_categories` replaces numeric x ticks by labels centred at
// the given tick positions.
struct FrameSpec {
  AxisTicks x;
  AxisTicks y;
  bool x_ticks_are_categories = false;
};

PlotLayout DrawFrame(cv::Mat& img, const PlotOptions& o, const Style& st,
                     FrameSpec& spec) {
  PlotLayout layout;
  layout.x = spec.x.axis;
  layout.y = spec.y.axis;
  const TextBox digit = MeasureText("0", st.tick_scale);
  const int tick_text_h = digit.size.height + digit.baseline;
  int y_tick_w = 0;
  for (const std::string& l : spec.y.labels) {
    y_tick_w = std::max(y_tick_w, MeasureText(l, st.tick_scale).size.width);
  }
  const TextBox label_box = MeasureText("Ag", st.label_scale);
  const int label_h = label_box.size.height + label_box.baseline;
  const TextBox title_box =
      MeasureText(o.title.empty() ? "Ag" : o.title, st.title_scale);

  const int left = st.pad + (o.y_label.empty() ? 0 : label_h + st.gap) +
                   y_tick_w + st.gap + st.tick_len;
  const int top =
      st.pad + (o.title.empty()
                    ? 0
                    : title_box.size.height + title_box.baseline + st.gap * 2);
  // Half of the widest x tick label may stick out on the right.
  int x_tick_w = 0;
  for (const std::string& l : spec.x.labels) {
    x_tick_w = std::max(x_tick_w, MeasureText(l, st.tick_scale).size.width);
  }
  const int right = st.pad + (spec.x_ticks_are_categories ? 0 : x_tick_w / 2);
  const int bottom = st.pad + st.tick_len + st.gap / 2 + tick_text_h +
                     (o.x_label.empty() ? 0 : st.gap + label_h);
  layout.plot_area = cv::Rect(left, top, std::max(20, o.width - left - right),
                              std::max(20, o.height - top - bottom));
  const cv::Rect& pa = layout.plot_area;

  if (!o.title.empty()) {
    double scale = st.title_scale;
    const std::string title =
        FitText(o.title, o.width - 2 * st.pad, &scale, 0.3);
    layout.title_box = DrawText(
        img, title, cv::Point(pa.x + pa.width / 2, st.pad), HAlign::kCenter,
        VAlign::kTop, scale, kText, st.title_thickness);
    // Keep the title on the canvas when the plot area is off-centre.
    if (layout.title_box.x < st.pad ||
        layout.title_box.br().x > o.width - st.pad) {
      img(layout.title_box & cv::Rect(0, 0, img.cols, img.rows)).setTo(kWhite);
      layout.title_box =
          DrawText(img, title, cv::Point(o.width / 2, st.pad), HAlign::kCenter,
                   VAlign::kTop, scale, kText, st.title_thickness);
    }
  }
  // Grid, then ticks and their labels.
  for (size_t i = 0; i < spec.y.ticks.size(); ++i) {
    const int py = static_cast<int>(
        std::lround(layout.ToPixel(layout.x.min, spec.y.ticks[i]).y));
    if (o.grid)
      cv::line(img, {pa.x, py}, {pa.x + pa.width - 1, py}, kGridColor,
               st.axis_width);
    cv::line(img, {pa.x - st.tick_len, py}, {pa.x, py}, kAxisColor,
             st.axis_width);
    DrawText(img, spec.y.labels[i],
             cv::Point(pa.x - st.tick_len - st.gap / 2, py), HAlign::kRight,
             VAlign::kCenter, st.tick_scale, kText);
  }
  const int x_label_top = pa.y + pa.height + st.tick_len + st.gap / 2;
  for (size_t i = 0; i < spec.x.ticks.size(); ++i) {
    const int px = static_cast<int>(
        std::lround(layout.ToPixel(spec.x.ticks[i], layout.y.min).x));
    if (o.grid && !spec.x_ticks_are_categories) {
      cv::line(img, {px, pa.y}, {px, pa.y + pa.height - 1}, kGridColor,
               st.axis_width);
    }
    cv::line(img, {px, pa.y + pa.height - 1},
             {px, pa.y + pa.height - 1 + st.tick_len}, kAxisColor,
             st.axis_width);
    DrawText(img, spec.x.labels[i], cv::Point(px, x_label_top), HAlign::kCenter,
             VAlign::kTop, st.tick_scale, kText);
  }
  cv::rectangle(img, pa, kAxisColor, st.axis_width);
  if (!o.x_label.empty()) {
    double scale = st.label_scale;
    const std::string text = FitText(o.x_label, pa.width, &scale, 0.3);
    DrawText(img, text,
             cv::Point(pa.x + pa.width / 2, x_label_top + tick_text_h + st.gap),
             HAlign::kCenter, VAlign::kTop, scale, kText);
  }
  if (!o.y_label.empty()) {
    double scale = st.label_scale;
    const std::string text = FitText(o.y_label, pa.height, &scale, 0.3);
    DrawVerticalText(img, text,
                     cv::Point(st.pad + label_h / 2, pa.y + pa.height / 2),
                     scale, kText);
  }
  return layout;
}

cv::Point ToFixedPoint(const cv::Point2d& p, const cv::Point& origin,
                       int shift) {
  const double f = static_cast<double>(1 << shift);
  auto clamp = [](double v) { return std::clamp(v, -1e6, 1e6); };
  return cv::Point(static_cast<int>(std::lround(clamp(p.x - origin.x) * f)),
                   static_cast<int>(std::lround(clamp(p.y - origin.y) * f)));
}

// Draws a polyline of data points, clipped to the plot area widened by the
// line width (so that lines along the border stay whole).
void DrawDataLine(cv::Mat& img, const PlotLayout& layout,
                  const std::vector<cv::Point2d>& pixels,
                  const cv::Scalar& color, int thickness) {
  constexpr int kShift = 4;
  const int grow = thickness + 1;
  const cv::Rect clip =
      cv::Rect(layout.plot_area.x - grow, layout.plot_area.y - grow,
               layout.plot_area.width + 2 * grow,
               layout.plot_area.height + 2 * grow) &
      cv::Rect(0, 0, img.cols, img.rows);
  cv::Mat roi = img(clip);
  std::vector<cv::Point> pts;
  pts.reserve(pixels.size());
  for (const cv::Point2d& p : pixels)
    pts.push_back(ToFixedPoint(p, clip.tl(), kShift));
  if (pts.size() == 1) {
    cv::circle(roi, pts[0], (thickness + 2) << kShift, color, cv::FILLED,
               cv::LINE_AA, kShift);
    return;
  }
  cv::polylines(roi, pts, false, color, thickness, cv::LINE_AA, kShift);
}

struct LegendEntry {
  std::string label;
  cv::Scalar color;
};

// Places the legend in the corner of the plot area that hides the fewest
// data pixels (ties: top right, top left, bottom right, bottom left).
cv::Rect DrawLegend(cv::Mat& img, const PlotLayout& layout, const Style& st,
                    const std::vector<LegendEntry>& entries,
                    const std::vector<std::vector<cv::Point2d>>& data,
                    int line_width) {
  std::vector<LegendEntry> shown;
  for (const LegendEntry& e : entries) {
    if (!e.label.empty()) shown.push_back(e);
  }
  if (shown.empty()) return cv::Rect();
  const cv::Rect& pa = layout.plot_area;
  double scale = st.tick_scale * 1.05;
  const int sample_len = static_cast<int>(std::lround(28 * scale / 0.5));
  const int inner = st.gap;
  int text_w = 0;
  const TextBox row_box = MeasureText("Ag", scale);
  const int row_h = row_box.size.height + row_box.baseline + st.gap / 2;
  std::vector<std::string> labels;
  const int max_text_w = std::max(40, pa.width / 2 - sample_len - 3 * inner);
  for (const LegendEntry& e : shown) {
    double s = scale;
    labels.push_back(FitText(e.label, max_text_w, &s, scale));
    text_w = std::max(text_w, MeasureText(labels.back(), scale).size.width);
  }
  const int w = inner + sample_len + inner + text_w + inner;
  const int h = inner + static_cast<int>(shown.size()) * row_h + inner / 2;
  const int m = st.gap;
  const std::vector<cv::Rect> corners = {
      {pa.x + pa.width - w - m, pa.y + m, w, h},
      {pa.x + m, pa.y + m, w, h},
      {pa.x + pa.width - w - m, pa.y + pa.height - h - m, w, h},
      {pa.x + m, pa.y + pa.height - h - m, w, h},
  };
  size_t best = 0;
  long best_hits = -1;
  for (size_t c = 0; c < corners.size(); ++c) {
    long hits = 0;
    const cv::Rect r = corners[c];
    for (const auto& line : data) {
      for (size_t i = 0; i < line.size(); ++i) {
        // Sample each segment every ~2 pixels.
        const cv::Point2d a = line[i];
        const cv::Point2d b = i + 1 < line.size() ? line[i + 1] : line[i];
        const int steps =
            std::max(1, static_cast<int>(std::hypot(b.x - a.x, b.y - a.y) / 2));
        for (int k = 0; k < steps; ++k) {
          const double t = static_cast<double>(k) / steps;
          hits +=
              r.contains(cv::Point(static_cast<int>(a.x + (b.x - a.x) * t),
                                   static_cast<int>(a.y + (b.y - a.y) * t)));
        }
      }
    }
    if (best_hits < 0 || hits < best_hits) {
      best_hits = hits;
      best = c;
    }
  }
  const cv::Rect box = corners[best];
  img(box & cv::Rect(0, 0, img.cols, img.rows)).setTo(kWhite);
  cv::rectangle(img, box, kLegendBorder, st.axis_width);
  for (size_t i = 0; i < shown.size(); ++i) {
    const int cy =
        box.y + inner + static_cast<int>(i) * row_h + row_h / 2 - st.gap / 4;
    cv::line(img, {box.x + inner, cy}, {box.x + inner + sample_len, cy},
             shown[i].color, std::max(2, line_width), cv::LINE_AA);
    DrawText(img, labels[i], cv::Point(box.x + inner + sample_len + inner, cy),
             HAlign::kLeft, VAlign::kCenter, scale, kText);
  }
  return box;
}

cv::Scalar SeriesColor(const PlotOptions& o, size_t i) {
  const std::vector<Rgb>& palette =
      o.colors.empty() ? DefaultPalette() : o.colors;
  return ToScalar(palette[i % palette.size()]);
}

std::vector<cv::Point2d> ToPixels(const PlotLayout& layout,
                                  const std::vector<double>& x,
                                  const std::vector<double>& y) {
  std::vector<cv::Point2d> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = layout.ToPixel(x[i], y[i]);
  return out;
}

enum class CurveStyle { kLines, kStepsPost };

// The shared line-plot renderer. `legend_suffix[i]` is appended to the name
// of series i; `diagonal` draws the chance line of a ROC plot.
absl::StatusOr<RenderedPlot> RenderCurves(
    const std::vector<Series>& series, const PlotOptions& o,
    const std::vector<std::string>& legend_suffix, CurveStyle style,
    bool diagonal) {
  MVL_RETURN_IF_ERROR(CheckOptions(o));
  MVL_RETURN_IF_ERROR(CheckSeries(series, o.log_y));
  double x_lo = series[0].x[0], x_hi = x_lo, y_lo = series[0].y[0], y_hi = y_lo;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  if (!o.log_y) {
    for (double r : o.reference_y) {
      y_lo = std::min(y_lo, r);
      y_hi = std::max(y_hi, r);
    }
  }
  if (!std::isfinite(x_hi - x_lo) || !std::isfinite(y_hi - y_lo)) {
    return absl::InvalidArgumentError(
        "plot: the data range overflows a double; rescale the values");
  }
  const Style st = MakeStyle(o.width, o.height);
  FrameSpec spec;
  spec.x = LinearAxis(x_lo, x_hi, o.x_min, o.x_max, o.width >= 480 ? 7 : 4);
  spec.y = o.log_y ? LogAxis(y_lo, y_hi, o.y_min, o.y_max)
                   : LinearAxis(y_lo, y_hi, o.y_min, o.y_max,
                                o.height >= 360 ? 6 : 4);

  RenderedPlot out;
  out.image = cv::Mat(o.height, o.width, CV_8UC3, kWhite);
  cv::Mat& img = out.image;
  out.layout = DrawFrame(img, o, st, spec);
  const PlotLayout& layout = out.layout;
  const cv::Rect& pa = layout.plot_area;

  for (double r : o.reference_y) {
    if (o.log_y && r <= 0) continue;
    const double py = layout.ToPixel(layout.x.min, r).y;
    DrawDashedLine(img, {static_cast<double>(pa.x), py},
                   {static_cast<double>(pa.x + pa.width - 1), py},
                   kReferenceColor, st.axis_width, 7 * st.factor,
                   5 * st.factor);
  }
  if (diagonal) {
    DrawDashedLine(img, layout.ToPixel(0, 0), layout.ToPixel(1, 1),
                   kReferenceColor, st.axis_width, 7 * st.factor,
                   5 * st.factor);
  }
  const double reference_dx = ReferenceSpacing(series);
  const int line_width =
      static_cast<int>(std::lround(o.line_width * std::max(1.0, st.factor)));
  std::vector<std::vector<cv::Point2d>> drawn;
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const cv::Scalar color = SeriesColor(o, i);
    std::vector<double> xs = s.x, ys = s.y;
    if (style == CurveStyle::kStepsPost && xs.size() > 1) {
      std::vector<double> sx, sy;
      for (size_t j = 0; j + 1 < xs.size(); ++j) {
        sx.insert(sx.end(), {xs[j], xs[j + 1]});
        sy.insert(sy.end(), {ys[j], ys[j]});
      }
      sx.push_back(xs.back());
      sy.push_back(ys.back());
      xs.swap(sx);
      ys.swap(sy);
    }
    if (o.smoothing > 0) {
      DrawDataLine(img, layout, ToPixels(layout, xs, ys), Lighten(color, 0.65),
                   std::max(1, line_width / 2));
      ys = Smooth(xs, ys, o.smoothing, reference_dx);
    }
    drawn.push_back(ToPixels(layout, xs, ys));
    DrawDataLine(img, layout, drawn.back(), color, line_width);
    legend.push_back(
        {s.name.empty()
             ? ""
             : s.name + (i < legend_suffix.size() ? legend_suffix[i] : ""),
         color});
  }
  // Redraw the box so that data never hides it.
  cv::rectangle(img, pa, kAxisColor, st.axis_width);
  if (o.legend)
    out.layout.legend_box =
        DrawLegend(img, layout, st, legend, drawn, line_width);
  return out;
}

absl::StatusOr<RenderedPlot> RenderUnitSquareCurves(
    const std::vector<Series>& curves, const std::vector<double>& areas,
    PlotOptions o, const char* area_name, CurveStyle style, bool diagonal) {
  if (!areas.empty() && areas.size() != curves.size()) {
    return absl::InvalidArgumentError(absl::StrCat("plot: ", areas.size(), " ",
                                                   area_name, " values for ",
                                                   curves.size(), " curves"));
  }
  std::vector<std::string> suffix;
  for (double a : areas) {
    suffix.push_back(std::isnan(a)
                         ? absl::StrCat(" (", area_name, " n/a)")
                         : absl::StrFormat(" (%s %.3f)", area_name, a));
  }
  // A little room around [0, 1] so that curves along the border stay visible.
  if (std::isnan(o.x_min)) o.x_min = -0.02;
  if (std::isnan(o.x_max)) o.x_max = 1.02;
  if (std::isnan(o.y_min)) o.y_min = -0.02;
  if (std::isnan(o.y_max)) o.y_max = 1.02;
  return RenderCurves(curves, o, suffix, style, diagonal);
}

// matplotlib's "Blues" colour map, sampled at 9 stops.
cv::Scalar Blues(double t) {
  static const Rgb kStops[] = {
      {247, 251, 255}, {222, 235, 247}, {198, 219, 239},
      {158, 202, 225}, {107, 174, 214}, {66, 146, 198},
      {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};
  t = std::clamp(t, 0.0, 1.0) * 8.0;
  const int i = std::min(7, static_cast<int>(t));
  const double f = t - i;
  const Rgb& a = kStops[i];
  const Rgb& b = kStops[i + 1];
  return cv::Scalar(a.b + (b.b - a.b) * f, a.g + (b.g - a.g) * f,
                    a.r + (b.r - a.r) * f);
}

std::string FormatCount(double v, bool integral) {
  if (integral) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.3g", v);
}

std::string FormatValue(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e5 || a < 1e-3) return absl::StrFormat("%.2e", v);
  if (a >= 100) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.3g", v);
}

}  // namespace

cv::Point2d PlotLayout::ToPixel(double x_value, double y_value) const {
  const double fx = AxisFraction(x, x_value);
  const double fy = AxisFraction(y, y_value);
  return cv::Point2d(plot_area.x + fx * (plot_area.width - 1),
                     plot_area.y + (1.0 - fy) * (plot_area.height - 1));
}

const std::vector<Rgb>& DefaultPalette() {
  static const auto* palette = new std::vector<Rgb>{
      {31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
      {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
      {188, 189, 34},  {23, 190, 207}};
  return *palette;
}

std::vector<double> NiceTicks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) return {lo};
  const double raw = (hi - lo) / std::max(1, target - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double frac = raw / mag;
  const double nice = frac < 1.5   ? 1.0
                      : frac < 3.0 ? 2.0
                      : frac < 7.0 ? 5.0
                                   : 10.0;
  const double step = nice * mag;
  const double first = std::floor(lo / step + 1e-9);
  const double last = std::ceil(hi / step - 1e-9);
  // A range too narrow for its magnitude (k * step no longer steps): ends only.
  if (!(last - first <= 1000.0) || first + 1.0 == first) return {lo, hi};
  std::vector<double> ticks;
  for (double k = first; k <= last; k += 1.0) {
    double v = k * step;
    if (std::abs(v) < step * 1e-9) v = 0.0;
    ticks.push_back(v);
  }
  return ticks;
}

std::string FormatTick(double value, double step) {
  if (value == 0.0) return "0";
  step = std::abs(step);
  if (step == 0.0 || !std::isfinite(step)) step = std::abs(value);
  int decimals = 0;
  while (decimals < 10) {
    const double scaled = step * std::pow(10.0, decimals);
    if (std::abs(scaled - std::round(scaled)) <= 1e-6 * std::max(1.0, scaled))
      break;
    ++decimals;
  }
  if (decimals > 4 || std::abs(value) >= 1e6) {
    // Exponent form without padding: "2e-5", "1.5e+07" -> "1.5e7".
    const int exponent =
        static_cast<int>(std::floor(std::log10(std::abs(value)) + 1e-12));
    const double mantissa = value / std::pow(10.0, exponent);
    std::string m = absl::StrFormat("%.2f", mantissa);
    while (!m.empty() && m.back() == '0') m.pop_back();
    if (!m.empty() && m.back() == '.') m.pop_back();
    return absl::StrCat(m, "e", exponent);
  }
  return absl::StrFormat("%.*f", decimals, value);
}

absl::Status WritePng(absl::string_view path, const cv::Mat& image) {
  if (image.empty()) return absl::InvalidArgumentError("plot: empty image");
  std::vector<uchar> png;
  try {
    if (!cv::imencode(".png", image, png)) {
      return absl::InternalError(
          absl::StrCat("plot: PNG encoding failed for ", path));
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(
        absl::StrCat("plot: PNG encoding failed for ", path, ": ", e.what()));
  }
  return WriteFileAtomically(
      path,
      absl::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

absl::StatusOr<RenderedPlot> RenderLinePlot(const std::vector<Series>& series,
                                            const PlotOptions& options) {
  return RenderCurves(series, options, {}, CurveStyle::kLines,
                      /*diagonal=*/false);
}

absl::Status WriteLinePlot(absl::string_view path,
                           const std::vector<Series>& series,
                           const PlotOptions& options) {
  MVL_ASSIGN_OR_RETURN(RenderedPlot plot, RenderLinePlot(series, options));
  return WritePng(path, plot.image);
}

absl::StatusOr<RenderedPlot> RenderRocPlot(const std::vector<Series>& curves,
                                           const std::vector<double>& aucs,
                                           const PlotOptions& options) {
  PlotOptions o = options;
  if (o.title.empty()) o.title = "ROC curve";
  if (o.x_label.empty()) o.x_label = "False positive rate";
  if (o.y_label.empty()) o.y_label = "True positive rate";
  o.log_y = false;
  return RenderUnitSquareCurves(curves, aucs, o, "AUC", CurveStyle::kLines,
                                /*diagonal=*/true);
}

absl::Status WriteRocPlot(absl::string_view path,
                          const std::vector<Series>& curves,
                          const std::vector<double>& aucs,
                          const PlotOptions& options) {
  MVL_ASSIGN_OR_RETURN(RenderedPlot plot, RenderRocPlot(curves, aucs, options));
  return WritePng(path, plot.image);
}

absl::StatusOr<RenderedPlot> RenderPrecisionRecallPlot(
    const std::vector<Series>& curves,
    const std::vector<double>& average_precisions, const PlotOptions& options) {
  PlotOptions o = options;
  if (o.title.empty()) o.title = "Precision-recall curve";
  if (o.x_label.empty()) o.x_label = "Recall";
  if (o.y_label.empty()) o.y_label = "Precision";
  o.log_y = false;
  return RenderUnitSquareCurves(curves, average_precisions, o, "AP",
                                CurveStyle::kStepsPost,
                                /*diagonal=*/false);
}

absl::Status WritePrecisionRecallPlot(
    absl::string_view path, const std::vector<Series>& curves,
    const std::vector<double>& average_precisions, const PlotOptions& options) {
  MVL_ASSIGN_OR_RETURN(
      RenderedPlot plot,
      RenderPrecisionRecallPlot(curves, average_precisions, options));
  return WritePng(path, plot.image);
}

absl::StatusOr<RenderedPlot> RenderConfusionMatrix(
    const std::vector<std::vector<double>>& matrix,
    const std::vector<std::string>& class_names, const PlotOptions& options) {
  PlotOptions o = options;
  if (o.title.empty()) o.title = "Confusion matrix";
  if (o.x_label.empty()) o.x_label = "Predicted label";
  if (o.y_label.empty()) o.y_label = "True label";
  MVL_RETURN_IF_ERROR(CheckOptions(o));
  const size_t k = matrix.size();
  if (k == 0)
    return absl::InvalidArgumentError("plot: the confusion matrix is empty");
  if (k > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plot: at most 64 classes fit a confusion matrix plot, got ", k));
  }
  bool integral = true;
  for (size_t i = 0; i < k; ++i) {
    if (matrix[i].size() != k) {
      return absl::InvalidArgumentError(
          absl::StrCat("plot: confusion matrix row ", i, " has ",
                       matrix[i].size(), " entries, expected ", k));
    }
    for (size_t j = 0; j < k; ++j) {
      const double v = matrix[i][j];
      if (!std::isfinite(v) || v < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("plot: confusion matrix entry (", i, ", ", j, ") is ",
                         v, "; must be finite and >= 0"));
      }
      integral = integral && v == std::round(v);
    }
  }
  if (!class_names.empty() && class_names.size() != k) {
    return absl::InvalidArgumentError(absl::StrCat("plot: ", class_names.size(),
                                                   " class names for a ", k,
                                                   "x", k, " matrix"));
  }
  std::vector<std::string> names = class_names;
  if (names.empty()) {
    for (size_t i = 0; i < k; ++i) names.push_back(std::to_string(i));
  }

  const Style st = MakeStyle(o.width, o.height);
  RenderedPlot out;
  out.image = cv::Mat(o.height, o.width, CV_8UC3, kWhite);
  cv::Mat& img = out.image;
  PlotLayout& layout = out.layout;

  const TextBox label_box = MeasureText("Ag", st.label_scale);
  const int label_h = label_box.size.height + label_box.baseline;
  const TextBox title_box = MeasureText(o.title, st.title_scale);
  const TextBox tick_box = MeasureText("Ag", st.tick_scale);
  const int tick_h = tick_box.size.height + tick_box.baseline;
  int name_w = 0;
  for (const std::string& n : names)
    name_w = std::max(name_w, MeasureText(n, st.tick_scale).size.width);
  name_w = std::min(name_w, o.width / 4);
  const int bar_w =
      std::max(10, static_cast<int>(std::lround(18 * st.tick_scale / 0.48)));
  const int bar_label_w = MeasureText("100%", st.tick_scale).size.width;

  const int top =
      st.pad + title_box.size.height + title_box.baseline + 2 * st.gap;
  const int left = st.pad + label_h + st.gap + name_w + st.gap;
  const int bottom = st.pad + label_h + st.gap + tick_h + st.gap;
  const int right =
      st.pad + bar_label_w + st.gap + st.tick_len + bar_w + 2 * st.gap;
  const int side =
      std::max(static_cast<int>(k) * 8,
               std::min(o.width - left - right, o.height - top - bottom) /
                   static_cast<int>(k) * static_cast<int>(k));
  const int cell = side / static_cast<int>(k);
  const int x0 = left + std::max(0, (o.width - left - right - side) / 2);
  layout.plot_area = cv::Rect(x0, top, side, side);
  layout.x = {-0.5, k - 0.5, false};
  layout.y = {k - 0.5, -0.5, false};  // row 0 at the top
  const cv::Rect& pa = layout.plot_area;

  // Title centred over the grid.
  {
    double scale = st.title_scale;
    const std::string title =
        FitText(o.title, o.width - 2 * st.pad, &scale, 0.3);
    const int tw = MeasureText(title, scale).size.width;
    const int cx = std::clamp(pa.x + pa.width / 2, st.pad + tw / 2,
                              o.width - st.pad - tw / 2);
    layout.title_box =
        DrawText(img, title, cv::Point(cx, st.pad), HAlign::kCenter,
                 VAlign::kTop, scale, kText, st.title_thickness);
  }
  // Cells.
  double count_scale = st.tick_scale * 1.1;
  double max_count_w = 0;
  for (const auto& row : matrix) {
    for (double v : row) {
      max_count_w = std::max<double>(
          max_count_w,
          MeasureText(FormatCount(v, integral), count_scale).size.width);
    }
  }
  while (max_count_w > cell - 6 && count_scale > 0.25) {
    max_count_w *= 0.9;
    count_scale *= 0.9;
  }
  const double share_scale = count_scale * 0.8;
  const TextBox count_box = MeasureText("0", count_scale);
  const TextBox share_box = MeasureText("100.0%", share_scale);
  const bool show_share =
      share_box.size.width <= cell - 6 &&
      count_box.size.height + share_box.size.height + 3 * st.gap / 2 <= cell;
  for (size_t i = 0; i < k; ++i) {
    double row_sum = 0;
    for (double v : matrix[i]) row_sum += v;
    for (size_t j = 0; j < k; ++j) {
      const double share = row_sum > 0 ? matrix[i][j] / row_sum : 0.0;
      const cv::Rect r(pa.x + static_cast<int>(j) * cell,
                       pa.y + static_cast<int>(i) * cell, cell, cell);
      cv::rectangle(img, r, Blues(share), cv::FILLED);
      const cv::Scalar ink = share > 0.5 ? kWhite : kText;
      const cv::Point c(r.x + cell / 2, r.y + cell / 2);
      if (show_share) {
        const int gap = st.gap / 4;
        DrawText(img, FormatCount(matrix[i][j], integral),
                 cv::Point(c.x, c.y - gap), HAlign::kCenter, VAlign::kBottom,
                 count_scale, ink);
        DrawText(img, absl::StrFormat("%.1f%%", 100 * share),
                 cv::Point(c.x, c.y + gap), HAlign::kCenter, VAlign::kTop,
                 share_scale, ink);
      } else {
        DrawText(img, FormatCount(matrix[i][j], integral), c, HAlign::kCenter,
                 VAlign::kCenter, count_scale, ink);
      }
    }
  }
  cv::rectangle(img, pa, kAxisColor, st.axis_width);
  // Class names: rows on the left, columns below.
  for (size_t i = 0; i < k; ++i) {
    double scale = st.tick_scale;
    const std::string row_name =
        FitText(names[i], name_w, &scale, st.tick_scale * 0.6);
    DrawText(
        img, row_name,
        cv::Point(pa.x - st.gap, pa.y + static_cast<int>(i) * cell + cell / 2),
        HAlign::kRight, VAlign::kCenter, scale, kText);
    scale = st.tick_scale;
    const std::string col_name =
        FitText(names[i], cell - 4, &scale, st.tick_scale * 0.6);
    DrawText(img, col_name,
             cv::Point(pa.x + static_cast<int>(i) * cell + cell / 2,
                       pa.y + pa.height + st.gap),
             HAlign::kCenter, VAlign::kTop, scale, kText);
  }
  {
    double scale = st.label_scale;
    const std::string text = FitText(o.x_label, pa.width, &scale, 0.3);
    DrawText(
        img, text,
        cv::Point(pa.x + pa.width / 2, pa.y + pa.height + 2 * st.gap + tick_h),
        HAlign::kCenter, VAlign::kTop, scale, kText);
    scale = st.label_scale;
    const std::string ytext = FitText(o.y_label, pa.height, &scale, 0.3);
    DrawVerticalText(img, ytext,
                     cv::Point(pa.x - st.gap - name_w - st.gap - label_h / 2,
                               pa.y + pa.height / 2),
                     scale, kText);
  }
  // Colour bar: share of the true class, 0 % at the bottom.
  const cv::Rect bar(pa.x + pa.width + 2 * st.gap, pa.y, bar_w, pa.height);
  for (int row = 0; row < bar.height; ++row) {
    const double t =
        1.0 - static_cast<double>(row) / std::max(1, bar.height - 1);
    cv::line(img, {bar.x, bar.y + row}, {bar.x + bar.width - 1, bar.y + row},
             Blues(t), 1);
  }
  cv::rectangle(img, bar, kAxisColor, st.axis_width);
  for (int p = 0; p <= 100; p += 25) {
    const int y =
        bar.y +
        static_cast<int>(std::lround((1.0 - p / 100.0) * (bar.height - 1)));
    cv::line(img, {bar.x + bar.width - 1, y},
             {bar.x + bar.width - 1 + st.tick_len, y}, kAxisColor,
             st.axis_width);
    DrawText(img, absl::StrCat(p, "%"),
             cv::Point(bar.x + bar.width + st.tick_len + 3, y), HAlign::kLeft,
             VAlign::kCenter, st.tick_scale, kText);
  }
  return out;
}

absl::Status WriteConfusionMatrix(
    absl::string_view path, const std::vector<std::vector<double>>& matrix,
    const std::vector<std::string>& class_names, const PlotOptions& options) {
  MVL_ASSIGN_OR_RETURN(RenderedPlot plot,
                       RenderConfusionMatrix(matrix, class_names, options));
  return WritePng(path, plot.image);
}

absl::StatusOr<RenderedPlot> RenderBarChart(
    const std::vector<std::string>& categories,
    const std::vector<BarSeries>& series, const PlotOptions& options) {
  MVL_RETURN_IF_ERROR(CheckOptions(options));
  if (options.log_y)
    return absl::InvalidArgumentError("plot: bar charts have no log axis");
  if (categories.empty())
    return absl::InvalidArgumentError("plot: no categories to draw");
  if (series.empty())
    return absl::InvalidArgumentError("plot: no series to draw");
  double lo = 0.0, hi = 0.0;
  for (size_t i = 0; i < series.size(); ++i) {
    const BarSeries& s = series[i];
    const std::string name = s.name.empty()
                                 ? absl::StrCat("series ", i)
                                 : absl::StrCat("series '", s.name, "'");
    if (s.values.size() != categories.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("plot: ", name, " has ", s.values.size(), " values for ",
                       categories.size(), " categories"));
    }
    for (size_t j = 0; j < s.values.size(); ++j) {
      if (!std::isfinite(s.values[j])) {
        return absl::InvalidArgumentError(
            absl::StrCat("plot: ", name, " value ", j, " is ", s.values[j],
                         "; must be finite"));
      }
      lo = std::min(lo, s.values[j]);
      hi = std::max(hi, s.values[j]);
    }
  }
  const size_t n = categories.size();
  const Style st = MakeStyle(options.width, options.height);
  FrameSpec spec;
  spec.x.axis = {-0.5, n - 0.5, false};
  spec.x_ticks_are_categories = true;
  // Room above the bars for their value labels: about 8 % of the range.
  const double headroom = (hi - lo) * 0.08;
  spec.y = LinearAxis(
      lo, hi, std::isnan(options.y_min) && lo == 0 ? 0.0 : options.y_min,
      std::isnan(options.y_max) ? hi + headroom : options.y_max,
      options.height >= 360 ? 6 : 4);
  if (std::isnan(options.y_min) && lo < 0) spec.y.axis.min = lo - headroom;

  // Category labels, shortened to their slot.
  RenderedPlot out;
  out.image = cv::Mat(options.height, options.width, CV_8UC3, kWhite);
  const int approx_slot =
      std::max(20, (options.width - 160) / static_cast<int>(n));
  for (size_t j = 0; j < n; ++j) {
    double scale = st.tick_scale;
    spec.x.ticks.push_back(static_cast<double>(j));
    spec.x.labels.push_back(
        FitText(categories[j], approx_slot - 6, &scale, st.tick_scale));
  }
  cv::Mat& img = out.image;
  out.layout = DrawFrame(img, options, st, spec);
  const PlotLayout& layout = out.layout;
  const cv::Rect& pa = layout.plot_area;

  const double group_w = 0.8;  // of one category slot
  const double bar_w = group_w / series.size();
  const double zero_y = layout.ToPixel(0, 0).y;
  std::vector<std::vector<cv::Point2d>> drawn;
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < series.size(); ++i) {
    const cv::Scalar color = SeriesColor(options, i);
    std::vector<cv::Point2d> tops;
    for (size_t j = 0; j < n; ++j) {
      const double x_left = j - group_w / 2 + i * bar_w;
      const double v = series[i].values[j];
      const cv::Point2d a = layout.ToPixel(x_left, v);
      const cv::Point2d b = layout.ToPixel(x_left + bar_w, 0);
      cv::Rect r(
          cv::Point(static_cast<int>(std::lround(a.x)) + 1,
                    static_cast<int>(std::lround(std::min(a.y, zero_y)))),
          cv::Point(static_cast<int>(std::lround(b.x)) - 1,
                    static_cast<int>(std::lround(std::max(a.y, zero_y))) + 1));
      r &= pa;
      if (r.area() > 0) cv::rectangle(img, r, color, cv::FILLED);
      // The bar's top edge and its value label count as data for the legend.
      for (double dy : {0.0, v >= 0 ? -12.0 : 12.0}) {
        tops.push_back({a.x, a.y + dy});
        tops.push_back({b.x, a.y + dy});
      }
      // Value label above (or below, for negative bars) when it fits.
      const std::string text = FormatValue(v);
      double scale = st.tick_scale * 0.9;
      const int slot = static_cast<int>(std::lround(b.x - a.x));
      if (MeasureText(text, scale).size.width <= slot + 4) {
        const cv::Point anchor(
            static_cast<int>(std::lround((a.x + b.x) / 2)),
            static_cast<int>(std::lround(a.y)) + (v >= 0 ? -3 : 3));
        DrawText(img, text, anchor, HAlign::kCenter,
                 v >= 0 ? VAlign::kBottom : VAlign::kTop, scale, kText);
      }
    }
    drawn.push_back(tops);
    legend.push_back({series[i].name, color});
  }
  if (lo < 0)
    cv::line(img, {pa.x, static_cast<int>(zero_y)},
             {pa.x + pa.width - 1, static_cast<int>(zero_y)}, kAxisColor,
             st.axis_width);
  cv::rectangle(img, pa, kAxisColor, st.axis_width);
  if (options.legend) {
    out.layout.legend_box =
        DrawLegend(img, layout, st, legend, drawn, options.line_width);
  }
  return out;
}

absl::Status WriteBarChart(absl::string_view path,
                           const std::vector<std::string>& categories,
                           const std::vector<BarSeries>& series,
                           const PlotOptions& options) {
  MVL_ASSIGN_OR_RETURN(RenderedPlot plot,
                       RenderBarChart(categories, series, options));
  return WritePng(path, plot.image);
}

}  // namespace mammovl::core
