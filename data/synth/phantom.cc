#include "data/synth/phantom.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "data/transforms/rng.h"

namespace mammovl::data {
namespace {

inline double Sq(double x) { return x * x; }

inline double Smoothstep(double e0, double e1, double x) {
  const double t = std::clamp((x - e0) / (e1 - e0), 0.0, 1.0);
  return t * t * (3 - 2 * t);
}

// Unit-variance smooth noise with correlation length ≈ `cell_px`: Gaussian
// values on a coarse grid, bicubic upsampling, normalisation.
cv::Mat1f SmoothNoise(Rng& rng, int rows, int cols, double cell_px) {
  cell_px = std::max(cell_px, 1.0);
  const int gr = std::max(3, static_cast<int>(std::ceil(rows / cell_px)) + 3);
  const int gc = std::max(3, static_cast<int>(std::ceil(cols / cell_px)) + 3);
  cv::Mat1f grid(gr, gc);
  cv::RNG grid_rng(rng.NextU64());
  grid_rng.fill(grid, cv::RNG::NORMAL, 0.0, 1.0);
  cv::Mat1f out;
  if (gr >= rows || gc >= cols) {
    out = grid(cv::Rect(0, 0, std::min(gc, cols), std::min(gr, rows))).clone();
    if (out.rows != rows || out.cols != cols) cv::resize(out, out, cv::Size(cols, rows));
  } else {
    cv::resize(grid, out, cv::Size(cols, rows), 0, 0, cv::INTER_CUBIC);
  }
  cv::Scalar mean, stddev;
  cv::meanStdDev(out, mean, stddev);
  const double s = stddev[0] > 1e-9 ? 1.0 / stddev[0] : 1.0;
  out.convertTo(out, CV_32F, s, -mean[0] * s);
  return out;
}

// Unit-variance noise stretched along rays from `center` (the nipple): the
// streaky look of ducts and Cooper's ligaments converging on the nipple.
// `width_px` is the streak width at distance `ref_r` from the centre and
// `length_px` the streak length. Sampled through cv::remap, so the cost per
// pixel is one bilinear lookup.
cv::Mat1f RadialNoise(Rng& rng, int rows, int cols, cv::Point2d center, double ref_r,
                      double width_px, double length_px) {
  const double max_r = std::hypot(std::max(center.x, cols - center.x),
                                  std::max(center.y, rows - center.y)) + 2;
  const int n_theta = std::clamp(static_cast<int>(2 * M_PI * ref_r / std::max(width_px, 0.5)), 8, 8192);
  const int n_r = std::clamp(static_cast<int>(max_r / std::max(length_px, 1.0)) + 2, 3, 8192);
  cv::Mat1f grid(n_r, n_theta + 1);
  cv::RNG grid_rng(rng.NextU64());
  grid_rng.fill(grid, cv::RNG::NORMAL, 0.0, 1.0);
  grid.col(0).copyTo(grid.col(n_theta));  // periodic in theta
  // Polar coordinates on a coarse grid, upsampled (smooth away from the centre).
  const int step = 4;
  const int sr = rows / step + 2, sc = cols / step + 2;
  cv::Mat1f small_x(sr, sc), small_y(sr, sc);
  for (int y = 0; y < sr; ++y) {
    for (int x = 0; x < sc; ++x) {
      const double dx = x * step - center.x, dy = y * step - center.y;
      double theta = std::atan2(dy, dx);
      if (theta < 0) theta += 2 * M_PI;
      small_x(y, x) = static_cast<float>(theta / (2 * M_PI) * n_theta);
      small_y(y, x) = static_cast<float>(std::hypot(dx, dy) / std::max(length_px, 1.0));
    }
  }
  cv::Mat1f map_x, map_y;
  cv::resize(small_x, map_x, cv::Size(sc * step, sr * step), 0, 0, cv::INTER_LINEAR);
  cv::resize(small_y, map_y, cv::Size(sc * step, sr * step), 0, 0, cv::INTER_LINEAR);
  map_x = map_x(cv::Rect(0, 0, cols, rows));
  map_y = map_y(cv::Rect(0, 0, cols, rows));
  cv::Mat1f out;
  cv::remap(grid, out, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::Scalar mean, stddev;
  cv::meanStdDev(out, mean, stddev);
  const double scale = stddev[0] > 1e-9 ? 1.0 / stddev[0] : 1.0;
  out.convertTo(out, CV_32F, scale, -mean[0] * scale);
  return out;
}

// The breast outline in canonical orientation (chest wall at x = 0, nipple
// towards +x), as the horizontal extent of the breast in every row.
class Outline {
 public:
  Outline(const BreastShape& s, View view, int rows, int cols) : view_(view), edge_(rows, 0.0) {
    const double w = cols;
    const double h = rows;
    auto wobble = [&s](double t) {
      double v = 0;
      for (int k = 0; k < 4; ++k) v += s.wobble[k] * std::sin((k + 1) * M_PI * t + k);
      return v;
    };
    if (view == View::kCC) {
      const double a = s.cc_depth * w;
      const double cy = s.cc_center_y * h;
      const double bh = s.cc_half_height * h;
      nipple_y_ = cy;
      for (int y = 0; y < rows; ++y) {
        const double t = (y - cy) / bh;
        if (std::fabs(t) >= 1) continue;
        const double e = a * std::pow(1 - std::pow(std::fabs(t), s.exponent), 1 / s.exponent);
        edge_[y] = e * (1 + wobble(t));
      }
    } else {
      const double a = s.mlo_depth * w;
      const double yn = s.mlo_nipple_y * h;
      const double ax = s.mlo_axilla_width * w;
      const double yb = s.mlo_bottom_y * h;
      nipple_y_ = yn;
      for (int y = 0; y < rows; ++y) {
        double e = 0;
        if (y <= yn) {
          const double t = (yn - y) / yn;
          e = ax + (a - ax) * std::pow(1 - std::pow(t, s.exponent), 1 / s.exponent);
        } else {
          const double t = (y - yn) / (yb - yn);
          if (t >= 1) continue;
          e = a * std::pow(1 - std::pow(t, s.lower_exponent), 1 / s.lower_exponent);
        }
        edge_[y] = e * (1 + wobble((y - yn) / h * 2));
      }
      pectoral_top_x_ = s.pectoral_top_x * w;
      pectoral_left_y_ = s.pectoral_left_y * h;
    }
    // Nipple: a small bump on the outline at the nipple row.
    const double nl = s.nipple_length * w;
    const double nw = 0.022 * h;
    for (int y = 0; y < rows; ++y) {
      if (edge_[y] > 0) edge_[y] += nl * std::exp(-Sq((y - nipple_y_) / nw));
      edge_[y] = std::min(edge_[y], w - 2.0);
    }
    nipple_x_ = *std::max_element(edge_.begin(), edge_.end());
  }

  double Edge(int y) const { return y >= 0 && y < static_cast<int>(edge_.size()) ? edge_[y] : 0; }
  double nipple_x() const { return nipple_x_; }
  double nipple_y() const { return nipple_y_; }

  // Rows where the breast reaches past column `x`; {1, 0} if none.
  std::pair<double, double> RangeAt(double x) const {
    int top = -1, bottom = -1;
    for (int y = 0; y < static_cast<int>(edge_.size()); ++y) {
      if (edge_[y] > x) {
        if (top < 0) top = y;
        bottom = y;
      }
    }
    if (top < 0) return {1, 0};
    return {top, bottom};
  }

  // Column of the pectoral muscle boundary in row `y` (MLO only; 0 if none).
  double PectoralX(double y) const {
    if (view_ != View::kMLO || y >= pectoral_left_y_) return 0;
    return pectoral_top_x_ * std::pow(1 - y / pectoral_left_y_, 0.85);
  }

 private:
  View view_;
  std::vector<double> edge_;
  double nipple_x_ = 0;
  double nipple_y_ = 0;
  double pectoral_top_x_ = 0;
  double pectoral_left_y_ = 0;
};

// Canonical-orientation centre of a lesion whose footprint has radius `r`.
cv::Point2d PlaceLesion(const Outline& outline, const Finding& f, View view, double r) {
  double x = (1 - f.depth) * outline.nipple_x();
  auto [top, bottom] = outline.RangeAt(x);
  if (top > bottom) {
    x = 0.5 * outline.nipple_x();
    std::tie(top, bottom) = outline.RangeAt(x);
  }
  const double mid = 0.5 * (top + bottom);
  const double half = 0.5 * (bottom - top);
  const double avail = std::max(0.0, half - r - 2);
  const double along = view == View::kCC ? f.medial : -f.superior;
  double y = mid + along * 0.85 * avail;
  // Keep the lesion inside the outline and off the pectoral muscle.
  const double edge = outline.Edge(static_cast<int>(std::lround(y)));
  if (x + r > edge - 2) x = std::max(0.5 * r, edge - r - 2);
  x = std::max(x, 0.5 * r);
  if (view == View::kMLO) {
    for (int i = 0; i < 4000 && x - r < outline.PectoralX(y) && y < bottom - r; ++i) y += 1;
  }
  return {x, y};
}

struct Canvas {
  cv::Mat1f& lesion;  // added to the tissue
  int rows, cols;
};

// Rasterises a mass (core with harmonic outline, margin, spicules).
cv::Rect2d DrawMass(Canvas& c, const Finding& f, View view, cv::Point2d center, double r_px,
                    Rng& shape_rng, Rng& view_rng) {
  const double theta = f.angle_rad + (view == View::kMLO ? 0.35 : 0.0);
  const double aspect = f.aspect;
  struct Harmonic {
    int k;
    double amp, phase;
  };
  std::vector<Harmonic> harmonics;
  double harmonic_sum = 0;
  const int num_h = f.shape == MassShape::kIrregular ? 4 : 2;
  for (int i = 0; i < num_h; ++i) {
    Harmonic h;
    h.k = static_cast<int>(shape_rng.UniformInt(2, 7));
    h.amp = f.shape == MassShape::kIrregular ? shape_rng.Uniform(0.05, 0.14)
                                             : shape_rng.Uniform(0.0, 0.03);
    h.phase = shape_rng.Uniform(0, 2 * M_PI);
    harmonic_sum += h.amp;
    harmonics.push_back(h);
  }
  const double width = f.margin == MassMargin::kCircumscribed ? std::max(0.6, 0.035 * r_px)
                       : f.margin == MassMargin::kIndistinct  ? 0.22 * r_px
                                                              : 0.1 * r_px;
  struct Spicule {
    cv::Point2d p0, p1;
    double base;
  };
  std::vector<Spicule> spicules;
  if (f.margin == MassMargin::kSpiculated) {
    const int n = static_cast<int>(shape_rng.UniformInt(10, 18));
    for (int i = 0; i < n; ++i) {
      const double phi = shape_rng.Uniform(0, 2 * M_PI);
      const double len = r_px * shape_rng.Uniform(0.5, 1.5);
      const cv::Point2d dir(std::cos(phi), std::sin(phi));
      spicules.push_back({center + dir * (0.7 * r_px), center + dir * (r_px + len),
                          std::max(0.6, 0.07 * r_px) * shape_rng.Uniform(0.7, 1.3)});
    }
  }
  const double contrast = f.contrast * view_rng.Uniform(0.95, 1.05);
  const double extent = r_px * (1.35 + harmonic_sum) + (spicules.empty() ? 0 : 1.6 * r_px) + 3;
  const int x0 = std::max(0, static_cast<int>(center.x - extent));
  const int x1 = std::min(c.cols - 1, static_cast<int>(center.x + extent));
  const int y0 = std::max(0, static_cast<int>(center.y - extent));
  const int y1 = std::min(c.rows - 1, static_cast<int>(center.y + extent));
  const double ct = std::cos(theta), st = std::sin(theta);
  for (int y = y0; y <= y1; ++y) {
    float* row = c.lesion[y];
    for (int x = x0; x <= x1; ++x) {
      const double dx = x - center.x, dy = y - center.y;
      const double u = dx * ct + dy * st;
      const double v = (-dx * st + dy * ct) / aspect;
      const double rho = std::hypot(u, v);
      const double phi = std::atan2(v, u);
      double rb = 1;
      for (const Harmonic& h : harmonics) rb += h.amp * std::cos(h.k * phi + h.phase);
      rb *= r_px;
      double value = 0;
      if (rho < rb + 2 * width) {
        const double core = Smoothstep(-0.5, 0.5, (rb - rho) / width);
        const double dome = 0.85 + 0.15 * std::max(0.0, 1 - Sq(rho / rb));
        value = contrast * core * dome;
      }
      for (const Spicule& s : spicules) {
        const cv::Point2d d = s.p1 - s.p0;
        const double len2 = d.dot(d);
        const double t = std::clamp(((x - s.p0.x) * d.x + (y - s.p0.y) * d.y) / len2, 0.0, 1.0);
        const double dist = std::hypot(x - (s.p0.x + t * d.x), y - (s.p0.y + t * d.y));
        const double w = s.base * (1 - 0.75 * t);
        if (dist < 3 * w) {
          value = std::max(value, 0.6 * contrast * (1 - 0.5 * t) * std::exp(-0.5 * Sq(dist / w)));
        }
      }
      row[x] += static_cast<float>(value);
    }
  }
  const double scale = 1 + harmonic_sum;
  const double hx = std::hypot(r_px * ct, r_px * aspect * st) * scale;
  const double hy = std::hypot(r_px * st, r_px * aspect * ct) * scale;
  return {center.x - hx, center.y - hy, 2 * hx, 2 * hy};
}

void DrawSpeck(Canvas& c, cv::Point2d p, double sigma_major, double sigma_minor, double angle,
               double amplitude) {
  // Detector blur of about half a pixel; calcium attenuates so strongly
  // that even sub-pixel specks stay bright (partial volume floor of 0.6).
  const double sa = std::sqrt(Sq(sigma_major) + 0.25);
  const double sb = std::sqrt(Sq(sigma_minor) + 0.25);
  const double peak = amplitude * std::clamp(sigma_major * sigma_minor / (sa * sb), 0.6, 1.0);
  const double extent = 3 * sa + 1;
  const int x0 = std::max(0, static_cast<int>(p.x - extent));
  const int x1 = std::min(c.cols - 1, static_cast<int>(p.x + extent));
  const int y0 = std::max(0, static_cast<int>(p.y - extent));
  const int y1 = std::min(c.rows - 1, static_cast<int>(p.y + extent));
  const double ca = std::cos(angle), sn = std::sin(angle);
  for (int y = y0; y <= y1; ++y) {
    float* row = c.lesion[y];
    for (int x = x0; x <= x1; ++x) {
      const double dx = x - p.x, dy = y - p.y;
      const double u = (dx * ca + dy * sn) / sa;
      const double v = (-dx * sn + dy * ca) / sb;
      row[x] += static_cast<float>(peak * std::exp(-0.5 * (u * u + v * v)));
    }
  }
}

cv::Rect2d DrawCalcifications(Canvas& c, const Finding& f, View view, cv::Point2d center,
                              double cluster_r, double pixel_mm, Rng& shape_rng, Rng& view_rng) {
  const double axis = shape_rng.Uniform(0, M_PI) + (view == View::kMLO ? 0.3 : 0.0);
  const cv::Point2d dir(std::cos(axis), std::sin(axis));
  const cv::Point2d normal(-dir.y, dir.x);
  double xmin = 1e18, ymin = 1e18, xmax = -1e18, ymax = -1e18;
  for (int i = 0; i < f.calc_count; ++i) {
    cv::Point2d p;
    switch (f.calc_distribution) {
      case CalcDistribution::kGrouped:
      case CalcDistribution::kRegional: {
        const double rr = cluster_r * std::sqrt(shape_rng.Uniform()) * 0.95;
        const double a = shape_rng.Uniform(0, 2 * M_PI);
        p = center + cv::Point2d(rr * std::cos(a), rr * std::sin(a));
        break;
      }
      case CalcDistribution::kLinear: {
        const double t = shape_rng.Uniform(-1, 1) * cluster_r;
        p = center + dir * t + normal * shape_rng.Normal(0, 0.08 * cluster_r);
        break;
      }
      case CalcDistribution::kSegmental: {
        // A wedge that widens away from its apex.
        const double t = shape_rng.Uniform(0, 1);
        p = center + dir * ((t - 0.5) * 2 * cluster_r) +
            normal * shape_rng.Uniform(-0.5, 0.5) * t * cluster_r;
        break;
      }
    }
    // Per-view jitter of the projection.
    p += cv::Point2d(view_rng.Normal(0, 0.04 * cluster_r), view_rng.Normal(0, 0.04 * cluster_r));
    const double size_px = f.speck_mm * shape_rng.Uniform(0.6, 1.4) / pixel_mm;
    const double sigma = std::max(0.25, size_px / 2.355);
    double elong = 1;
    double angle = shape_rng.Uniform(0, M_PI);
    switch (f.calc_morphology) {
      case CalcMorphology::kPunctate: elong = 1; break;
      case CalcMorphology::kAmorphous: elong = 1.2; break;
      case CalcMorphology::kFinePleomorphic: elong = shape_rng.Uniform(1, 2.2); break;
      case CalcMorphology::kFineLinearBranching:
        elong = shape_rng.Uniform(2, 3.2);
        angle = axis + shape_rng.Normal(0, 0.25);
        break;
    }
    const double amp = f.contrast * shape_rng.Uniform(0.7, 1.2);
    DrawSpeck(c, p, sigma * std::sqrt(elong), sigma / std::sqrt(elong), angle, amp);
    const double reach = 2 * std::sqrt(Sq(sigma * std::sqrt(elong)) + 0.25) + 1;
    xmin = std::min(xmin, p.x - reach);
    xmax = std::max(xmax, p.x + reach);
    ymin = std::min(ymin, p.y - reach);
    ymax = std::max(ymax, p.y + reach);
  }
  return {xmin, ymin, xmax - xmin, ymax - ymin};
}

cv::Rect2d DrawAsymmetry(Canvas& c, const Finding& f, View view, cv::Point2d center, double r_px,
                         const cv::Mat1f& texture) {
  const double theta = f.angle_rad + (view == View::kMLO ? 0.35 : 0.0);
  const double ct = std::cos(theta), st = std::sin(theta);
  const double aspect = 0.7;
  const double extent = 1.6 * r_px + 2;
  const int x0 = std::max(0, static_cast<int>(center.x - extent));
  const int x1 = std::min(c.cols - 1, static_cast<int>(center.x + extent));
  const int y0 = std::max(0, static_cast<int>(center.y - extent));
  const int y1 = std::min(c.rows - 1, static_cast<int>(center.y + extent));
  for (int y = y0; y <= y1; ++y) {
    float* row = c.lesion[y];
    const float* tex = texture[y];
    for (int x = x0; x <= x1; ++x) {
      const double dx = x - center.x, dy = y - center.y;
      const double u = dx * ct + dy * st;
      const double v = (-dx * st + dy * ct) / aspect;
      const double rho = std::hypot(u, v) / r_px;
      const double profile = std::exp(-rho * rho * rho);
      row[x] += static_cast<float>(f.contrast * profile * (0.75 + 0.25 * std::tanh(tex[x])));
    }
  }
  const double hx = std::hypot(r_px * ct, r_px * aspect * st);
  const double hy = std::hypot(r_px * st, r_px * aspect * ct);
  return {center.x - hx, center.y - hy, 2 * hx, 2 * hy};
}

cv::Rect2d DrawDistortion(Canvas& c, const Finding& f, cv::Point2d center, double r_px,
                          Rng& shape_rng) {
  const int n = static_cast<int>(shape_rng.UniformInt(14, 22));
  for (int i = 0; i < n; ++i) {
    const double phi = shape_rng.Uniform(0, 2 * M_PI);
    const double len = r_px * shape_rng.Uniform(0.5, 1.0);
    const cv::Point2d dir(std::cos(phi), std::sin(phi));
    const cv::Point2d p0 = center + dir * (0.1 * r_px);
    const cv::Point2d p1 = center + dir * len;
    const double base = std::max(0.6, 0.05 * r_px);
    const int x0 = std::max(0, static_cast<int>(std::min(p0.x, p1.x) - 3 * base - 1));
    const int x1 = std::min(c.cols - 1, static_cast<int>(std::max(p0.x, p1.x) + 3 * base + 1));
    const int y0 = std::max(0, static_cast<int>(std::min(p0.y, p1.y) - 3 * base - 1));
    const int y1 = std::min(c.rows - 1, static_cast<int>(std::max(p0.y, p1.y) + 3 * base + 1));
    const cv::Point2d d = p1 - p0;
    const double len2 = std::max(1e-9, d.dot(d));
    for (int y = y0; y <= y1; ++y) {
      float* row = c.lesion[y];
      for (int x = x0; x <= x1; ++x) {
        const double t = std::clamp(((x - p0.x) * d.x + (y - p0.y) * d.y) / len2, 0.0, 1.0);
        const double dist = std::hypot(x - (p0.x + t * d.x), y - (p0.y + t * d.y));
        const double w = base * (1 - 0.6 * t);
        const double value = f.contrast * (1 - 0.6 * t) * std::exp(-0.5 * Sq(dist / w));
        row[x] = std::max(row[x], static_cast<float>(value));
      }
    }
  }
  return {center.x - r_px, center.y - r_px, 2 * r_px, 2 * r_px};
}

void DrawVessels(cv::Mat1f& tissue, const Outline& outline, Rng& rng, double pixel_mm, double amp) {
  const int rows = tissue.rows, cols = tissue.cols;
  cv::Mat1b canvas = cv::Mat1b::zeros(rows, cols);
  const int n = static_cast<int>(rng.UniformInt(3, 6));
  const int thickness = std::max(1, static_cast<int>(std::lround(0.8 / pixel_mm)));
  for (int i = 0; i < n; ++i) {
    double x = rng.Uniform(0.03, 0.3) * outline.nipple_x();
    auto [top, bottom] = outline.RangeAt(x);
    if (top > bottom) continue;
    double y = rng.Uniform(top + 0.1 * (bottom - top), bottom - 0.1 * (bottom - top));
    double heading = std::atan2(outline.nipple_y() - y, outline.nipple_x() - x) + rng.Normal(0, 0.3);
    const double length = rng.Uniform(0.3, 0.7) * outline.nipple_x();
    const int steps = 24;
    std::vector<cv::Point> pts;
    for (int s = 0; s <= steps; ++s) {
      pts.emplace_back(static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y)));
      heading += rng.Normal(0, 0.12);
      x += std::cos(heading) * length / steps;
      y += std::sin(heading) * length / steps;
    }
    cv::polylines(canvas, pts, false, cv::Scalar(255), thickness, cv::LINE_AA);
  }
  cv::Mat1f vessels;
  canvas.convertTo(vessels, CV_32F, amp / 255.0);
  tissue += vessels;
}

}  // namespace

RenderedView RenderView(const Breast& breast, View view, int rows, int cols, double pixel_mm,
                        const Appearance& appearance, uint64_t seed) {
  const BreastShape& shape = breast.shape;
  const Outline outline(shape, view, rows, cols);
  Rng rng(seed);

  // Breast mask, anti-aliased coverage and distance to the skin.
  cv::Mat1b mask(rows, cols);
  cv::Mat1f alpha(rows, cols);
  for (int y = 0; y < rows; ++y) {
    const double e = outline.Edge(y);
    uint8_t* m = mask[y];
    float* a = alpha[y];
    for (int x = 0; x < cols; ++x) {
      const double cover = std::clamp(e - x + 0.5, 0.0, 1.0);
      a[x] = static_cast<float>(cover);
      m[x] = cover > 0.5 ? 255 : 0;
    }
  }
  cv::Mat1f dist;
  cv::distanceTransform(mask, dist, cv::DIST_L2, cv::DIST_MASK_3);

  // Fibroglandular tissue is smooth at the scale of a few millimetres, so its
  // layout is computed on a coarse grid (about 128 rows) and upsampled: an
  // envelope away from the skin plus multi-scale noise, thresholded so the
  // dense fraction matches the density category.
  const int factor = std::max(1, static_cast<int>(std::lround(rows / 128.0)));
  const int lr = (rows + factor - 1) / factor;
  const int lc = (cols + factor - 1) / factor;
  cv::Mat1f small_dist;
  cv::resize(dist, small_dist, cv::Size(lc, lr), 0, 0, cv::INTER_AREA);
  cv::Mat1f coarse = SmoothNoise(rng, lr, lc, lr / 10.0);
  cv::Mat1f mid = SmoothNoise(rng, lr, lc, lr / 22.0);
  cv::Mat1f fine_noise = SmoothNoise(rng, lr, lc, lr / 45.0);
  const double nx = std::max(1.0, outline.nipple_x());
  const cv::Point2d nipple_small(nx / factor, outline.nipple_y() / factor);
  cv::Mat1f streaks = RadialNoise(rng, lr, lc, nipple_small, 0.5 * nx / factor,
                                  4.0 / pixel_mm / factor, 18.0 / pixel_mm / factor);
  std::vector<double> column_weight(lc);
  for (int x = 0; x < lc; ++x) column_weight[x] = std::exp(-Sq(((x + 0.5) * factor / nx - 0.5) / 0.45));
  cv::Mat1f score(lr, lc);
  std::vector<float> samples;
  samples.reserve(lr * lc + 1);
  for (int y = 0; y < lr; ++y) {
    float* sc = score[y];
    const float* d = small_dist[y];
    const float* n1 = coarse[y];
    const float* n2 = mid[y];
    const float* n3 = fine_noise[y];
    const float* n4 = streaks[y];
    const double px = outline.PectoralX((y + 0.5) * factor);
    for (int x = 0; x < lc; ++x) {
      const double envelope = Smoothstep(0, 0.22 * nx, d[x] * factor) * column_weight[x];
      const double noise = 0.4 * n1[x] + 0.25 * n2[x] + 0.1 * n3[x] + 0.35 * n4[x];
      sc[x] = static_cast<float>(1.6 * envelope + 0.8 * noise);
      if (d[x] > 0.5 && (x + 0.5) * factor > px) samples.push_back(sc[x]);
    }
  }
  static constexpr double kDenseFraction[] = {0.12, 0.32, 0.58, 0.82};
  float threshold = 0;
  if (!samples.empty()) {
    const size_t k = static_cast<size_t>((1 - kDenseFraction[std::clamp(breast.density, 0, 3)]) *
                                         (samples.size() - 1));
    std::nth_element(samples.begin(), samples.begin() + k, samples.end());
    threshold = samples[k];
  }
  cv::Mat1f small_dense(lr, lc);
  for (int y = 0; y < lr; ++y) {
    const float* sc = score[y];
    float* g = small_dense[y];
    for (int x = 0; x < lc; ++x) g[x] = static_cast<float>(1 / (1 + std::exp(-(sc[x] - threshold) / 0.3)));
  }
  cv::Mat1f dense, texture_field;
  cv::resize(small_dense, dense, cv::Size(cols, rows), 0, 0, cv::INTER_LINEAR);
  cv::resize(mid, texture_field, cv::Size(cols, rows), 0, 0, cv::INTER_LINEAR);

  // Fine parenchymal grain at full resolution.
  const double texture = appearance.texture_strength();
  cv::Mat1f grain = SmoothNoise(rng, rows, cols, std::max(1.6, 1.6 / pixel_mm));
  cv::Mat1f grain2 = RadialNoise(rng, rows, cols, cv::Point2d(nx, outline.nipple_y()), 0.5 * nx,
                                 std::max(1.5, 1.2 / pixel_mm), std::max(4.0, 8.0 / pixel_mm));
  cv::Mat1f tissue(rows, cols);
  const double fat = shape.fat_level;
  const double gland = shape.gland_level;
  const double tex_amp = texture * 0.035;
  for (int y = 0; y < rows; ++y) {
    float* t = tissue[y];
    const float* g = dense[y];
    const float* g1 = grain[y];
    const float* g2 = grain2[y];
    for (int x = 0; x < cols; ++x) {
      t[x] = static_cast<float>(fat + gland * g[x] + tex_amp * (0.4 + g[x]) * (0.6 * g1[x] + 0.4 * g2[x]));
    }
  }
  DrawVessels(tissue, outline, rng, pixel_mm, 0.035 * std::max(texture, 0.3));

  // Findings, in a separate layer so that they survive the thickness falloff.
  cv::Mat1f lesion = cv::Mat1f::zeros(rows, cols);
  Canvas canvas{lesion, rows, cols};
  RenderedView out;
  for (size_t i = 0; i < breast.findings.size(); ++i) {
    const Finding& f = breast.findings[i];
    if (!(view == View::kCC ? f.visible_cc : f.visible_mlo)) continue;
    Rng shape_rng(f.seed);
    Rng view_rng(DeriveSeed(f.seed, {static_cast<uint64_t>(view) + 1}));
    const double r_px = 0.5 * f.size_mm / pixel_mm * view_rng.Uniform(0.95, 1.05);
    const cv::Point2d center = PlaceLesion(outline, f, view, r_px);
    cv::Rect2d box;
    switch (f.type) {
      case FindingType::kMass:
        box = DrawMass(canvas, f, view, center, r_px, shape_rng, view_rng);
        break;
      case FindingType::kCalcification:
        box = DrawCalcifications(canvas, f, view, center, r_px, pixel_mm, shape_rng, view_rng);
        break;
      case FindingType::kFocalAsymmetry:
      case FindingType::kAsymmetry:
        box = DrawAsymmetry(canvas, f, view, center, r_px, texture_field);
        break;
      case FindingType::kArchitecturalDistortion:
        box = DrawDistortion(canvas, f, center, r_px, shape_rng);
        break;
    }
    FindingBox fb;
    fb.finding_index = static_cast<int>(i);
    fb.type = f.type;
    fb.xmin = std::clamp(box.x, 0.0, cols - 1.0);
    fb.ymin = std::clamp(box.y, 0.0, rows - 1.0);
    fb.xmax = std::clamp(box.x + box.width, 0.0, cols - 1.0);
    fb.ymax = std::clamp(box.y + box.height, 0.0, rows - 1.0);
    out.boxes.push_back(fb);
  }
  if (breast.coarse_benign_calcs) {
    // Coarse benign specks at fixed anatomical positions (same in both views).
    Rng benign_rng(DeriveSeed(breast.seed, {991}));
    const int n = static_cast<int>(benign_rng.UniformInt(1, 3));
    for (int i = 0; i < n; ++i) {
      Finding spot;
      spot.depth = benign_rng.Uniform(0.15, 0.85);
      spot.medial = benign_rng.Uniform(-0.8, 0.8);
      spot.superior = benign_rng.Uniform(-0.8, 0.8);
      const double size_px = benign_rng.Uniform(1.5, 3.0) / pixel_mm;
      const double amp = benign_rng.Uniform(0.3, 0.5);
      const cv::Point2d p = PlaceLesion(outline, spot, view, size_px);
      DrawSpeck(canvas, p, size_px / 2.355, size_px / 2.355 * benign_rng.Uniform(0.6, 1.0),
                benign_rng.Uniform(0, M_PI), amp);
    }
  }

  // Compose: thickness falloff towards the skin, skin line, pectoral muscle,
  // detector noise. Both radial profiles are tabulated over the distance.
  const double d0 = 0.05 * nx;
  const double skin_w = std::max(0.8, 1.2 / pixel_mm);
  constexpr int kLutPerPixel = 8;
  const int lut_size = static_cast<int>(std::max(6 * d0, 6 * skin_w) * kLutPerPixel) + 2;
  std::vector<float> thick_lut(lut_size), skin_lut(lut_size);
  for (int i = 0; i < lut_size; ++i) {
    const double d = static_cast<double>(i) / kLutPerPixel;
    thick_lut[i] = static_cast<float>(0.55 + 0.45 * (1 - std::exp(-d / d0)));
    skin_lut[i] = static_cast<float>(0.07 * std::exp(-0.5 * Sq((d - skin_w) / skin_w)));
  }
  const double muscle_level = rng.Uniform(0.6, 0.7);
  const float noise_sd = static_cast<float>(appearance.quantum_noise());
  cv::Mat1f noise(rows, cols);
  cv::RNG cv_rng(rng.NextU64());
  cv_rng.fill(noise, cv::RNG::NORMAL, 0.0, 1.0);
  cv::Mat1f image(rows, cols);
  for (int y = 0; y < rows; ++y) {
    float* o = image[y];
    const float* t = tissue[y];
    const float* l = lesion[y];
    const float* d = dist[y];
    const float* a = alpha[y];
    const float* mtex = texture_field[y];
    const float* nz = noise[y];
    const double px = outline.PectoralX(y);
    for (int x = 0; x < cols; ++x) {
      const int li = std::min(lut_size - 1, static_cast<int>(d[x] * kLutPerPixel));
      const float thick = thick_lut[li];  // 0.55 at the skin .. 1 inside
      float v = t[x] * thick;
      if (px > 0 && x < px + 2) {
        const float m = static_cast<float>(Smoothstep(-1.5, 1.5, px - x));
        v = v * (1 - m) + m * (static_cast<float>(muscle_level) + 0.03f * mtex[x]) *
                              (0.82f + 0.18f * thick);
      }
      v += skin_lut[li];
      v += l[x] * (0.2f + 0.8f * thick);
      v = a[x] * v + noise_sd * (a[x] > 0 ? 1.0f : 0.3f) * nz[x];
      o[x] = std::clamp(v, 0.0f, 1.0f);
    }
  }

  if (breast.side == Side::kRight) {
    cv::flip(image, image, 1);
    cv::flip(mask, mask, 1);
    for (FindingBox& b : out.boxes) {
      const double xmin = cols - 1 - b.xmax;
      const double xmax = cols - 1 - b.xmin;
      b.xmin = xmin;
      b.xmax = xmax;
    }
  }
  out.image = image;
  out.breast_mask = mask;
  return out;
}

StoredImage QuantizeForDetector(const cv::Mat1f& image, const cv::Mat1b& breast_mask,
                                int bits_stored, bool monochrome1, uint64_t seed) {
  Rng rng(seed);
  const double maxval = static_cast<double>((1 << bits_stored) - 1);
  const double gain = rng.Uniform(0.82, 0.95);
  const double offset = rng.Uniform(0.005, 0.03);
  StoredImage out;
  out.pixels.create(image.rows, image.cols);
  std::vector<uint16_t> tissue_values;
  tissue_values.reserve(image.rows * image.cols / 8 + 8);
  for (int y = 0; y < image.rows; ++y) {
    const float* in = image[y];
    const uint8_t* m = breast_mask[y];
    uint16_t* o = out.pixels[y];
    for (int x = 0; x < image.cols; ++x) {
      const double v = std::clamp(in[x] * gain + offset, 0.0, 1.0) * maxval;
      uint16_t s = static_cast<uint16_t>(std::lround(v));
      if (monochrome1) s = static_cast<uint16_t>(maxval - s);
      o[x] = s;
      if (m[x] && ((x + y) & 7) == 0) tissue_values.push_back(s);
    }
  }
  if (!tissue_values.empty()) {
    std::sort(tissue_values.begin(), tissue_values.end());
    const double lo = tissue_values[tissue_values.size() / 100];
    const double hi = tissue_values[tissue_values.size() * 995 / 1000];
    out.window_center = std::round(0.5 * (lo + hi));
    out.window_width = std::max(1.0, std::round(hi - lo));
  } else {
    out.window_center = maxval / 2;
    out.window_width = maxval;
  }
  return out;
}

void BurnInMarker(cv::Mat1f& image, Side side, View view) {
  const std::string text = std::string(SideLetter(side)) + " " + ViewName(view);
  const double scale = image.rows / 700.0;
  const int thickness = std::max(1, image.rows / 400);
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline);
  const int margin = std::max(2, image.cols / 40);
  // Chest wall is on the left for left breasts, so the marker goes right.
  const int x = side == Side::kLeft ? image.cols - margin - size.width : margin;
  const int y = std::max(size.height + 1, image.rows / 18);
  cv::Mat1b canvas = cv::Mat1b::zeros(image.rows, image.cols);
  cv::putText(canvas, text, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255),
              thickness, cv::LINE_AA);
  for (int r = 0; r < image.rows; ++r) {
    const uint8_t* c = canvas[r];
    float* o = image[r];
    for (int col = 0; col < image.cols; ++col) {
      if (c[col]) o[col] = std::max(o[col], 0.95f * c[col] / 255.0f);
    }
  }
}

}  // namespace mammovl::data
