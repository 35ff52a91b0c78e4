// Checks detection/metrics against Python implementations of Mammo-CLIP's
// `evaluate()` (VOC all-point AP), of COCOeval (AP@[.5:.95], AP50, AP75, AR)
// and of the lesion-level FROC, on the generated cases in
// detection/testdata/metrics_cases.txt
// (tools/fixtures/make_detection_fixtures.py): every value to 1e-9.
#include <cmath>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "detection/box.h"
#include "detection/metrics.h"
#include "gtest/gtest.h"

namespace mammovl::detection {
namespace {

constexpr char kCasesPath[] = "detection/testdata/metrics_cases.txt";
constexpr double kTolerance = 1e-9;

struct Case {
  int id = -1;
  std::map<std::string, std::string> opts;
  std::vector<ImageDetections> dets;
  std::vector<ImageGroundTruth> gts;
  std::map<std::string, std::vector<double>> outs;

  int IntOpt(const std::string& name) const { return std::stoi(opts.at(name)); }
  double DoubleOpt(const std::string& name) const {
    double v = 0;
    EXPECT_TRUE(absl::SimpleAtod(opts.at(name), &v)) << name;
    return v;
  }
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << "case " << c.id;
}

float ParseFloat(const std::string& s) {
  float v = 0;
  EXPECT_TRUE(absl::SimpleAtof(s, &v)) << s;
  return v;
}

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  absl::StatusOr<std::string> text = core::ReadFileToString(kCasesPath);
  if (!text.ok()) return cases;
  Case current;
  auto image = [&](int i) {
    if (current.dets.size() <= static_cast<size_t>(i)) {
      current.dets.resize(i + 1);
      current.gts.resize(i + 1);
    }
  };
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> tok = absl::StrSplit(line, ' ', absl::SkipEmpty());
    const std::string& kind = tok[0];
    if (kind == "case") {
      current = Case();
      current.id = std::stoi(tok[1]);
    } else if (kind == "opt") {
      current.opts[tok[1]] = tok[2];
      if (tok[1] == "num_images") image(std::stoi(tok[2]) - 1);
    } else if (kind == "gt") {
      const int i = std::stoi(tok[1]);
      image(i);
      current.gts[i].labels.push_back(std::stoi(tok[2]));
      current.gts[i].boxes.push_back({ParseFloat(tok[3]), ParseFloat(tok[4]),
                                      ParseFloat(tok[5]), ParseFloat(tok[6])});
    } else if (kind == "det") {
      const int i = std::stoi(tok[1]);
      image(i);
      current.dets[i].labels.push_back(std::stoi(tok[2]));
      current.dets[i].scores.push_back(ParseFloat(tok[3]));
      current.dets[i].boxes.push_back({ParseFloat(tok[4]), ParseFloat(tok[5]),
                                       ParseFloat(tok[6]), ParseFloat(tok[7])});
    } else if (kind == "out") {
      auto& dst = current.outs[tok[1]];
      for (size_t i = 2; i < tok.size(); ++i) {
        double v = 0;
        if (tok[i] == "nan") {
          v = std::nan("");
        } else if (!absl::SimpleAtod(tok[i], &v)) {
          v = -12345.678;  // fails the comparison
        }
        dst.push_back(v);
      }
    } else if (kind == "end") {
      cases.push_back(current);
    }
  }
  return cases;
}

void ExpectNear(double expected, double actual, const std::string& what,
                const Case& c) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << c << " " << what << ": " << actual;
  } else {
    EXPECT_NEAR(actual, expected, kTolerance) << c << " " << what;
  }
}

TEST(DetectionMetricsParityTest, CasesArePresent) {
  const std::vector<Case> cases = LoadCases();
  EXPECT_GE(cases.size(), 100u);
  int with_empty_image = 0, with_two_classes = 0, with_tied_scores = 0;
  for (const Case& c : cases) {
    bool empty = false;
    for (size_t i = 0; i < c.gts.size(); ++i) {
      empty |= c.gts[i].boxes.empty() || c.dets[i].boxes.empty();
    }
    with_empty_image += empty;
    with_two_classes += c.IntOpt("num_classes") >= 2;
    for (const ImageDetections& d : c.dets) {
      for (size_t j = 1; j < d.scores.size(); ++j) {
        if (d.scores[j] == d.scores[j - 1]) {
          ++with_tied_scores;
          break;
        }
      }
    }
  }
  EXPECT_GE(with_empty_image, 20);
  EXPECT_GE(with_two_classes, 20);
  EXPECT_GE(with_tied_scores, 10);
}

TEST(DetectionMetricsParityTest, MatchesPythonReferences) {
  const std::vector<Case> cases = LoadCases();
  ASSERT_FALSE(cases.empty()) << "cannot read " << kCasesPath;
  for (const Case& c : cases) {
    DetectionEvalConfig config;
    config.set_score_threshold(c.DoubleOpt("score_threshold"));
    config.set_max_detections_per_image(c.IntOpt("max_detections"));
    config.set_froc_iou_threshold(c.DoubleOpt("froc_iou"));
    for (double t : {0.25, 0.5, 0.75}) config.add_voc_iou_thresholds(t);
    const int num_classes = c.IntOpt("num_classes");
    absl::StatusOr<DetectionMetrics> m =
        EvaluateDetections(c.dets, c.gts, num_classes, config);
    ASSERT_TRUE(m.ok()) << c << ": " << m.status();
    ASSERT_EQ(m->classes.size(), static_cast<size_t>(num_classes)) << c;
    for (int k = 0; k < num_classes; ++k) {
      const ClassDetectionMetrics& cm = m->classes[k];
      const std::vector<double>& voc = c.outs.at(absl::StrCat("voc_", k));
      const std::vector<double>& coco = c.outs.at(absl::StrCat("coco_", k));
      const std::vector<double>& froc = c.outs.at(absl::StrCat("froc_", k));
      ASSERT_EQ(cm.voc_ap.size(), 3u);
      for (int t = 0; t < 3; ++t) {
        ExpectNear(voc[t], cm.voc_ap[t], absl::StrCat("voc_", k, "[", t, "]"), c);
      }
      ExpectNear(coco[0], cm.coco.ap, absl::StrCat("coco_ap_", k), c);
      ExpectNear(coco[1], cm.coco.ap50, absl::StrCat("coco_ap50_", k), c);
      ExpectNear(coco[2], cm.coco.ap75, absl::StrCat("coco_ap75_", k), c);
      ExpectNear(coco[3], cm.coco.recall, absl::StrCat("coco_ar_", k), c);
      ASSERT_EQ(cm.froc.sensitivity.size(), 4u);
      for (int r = 0; r < 4; ++r) {
        ExpectNear(froc[r], cm.froc.sensitivity[r],
                   absl::StrCat("froc_", k, "[", r, "]"), c);
      }
      ExpectNear(froc[4], cm.froc.mean_sensitivity, absl::StrCat("froc_mean_", k), c);
    }
    const std::vector<double>& mean = c.outs.at("mean");
    for (int t = 0; t < 3; ++t) {
      ExpectNear(mean[t], m->mean_voc_ap[t], absl::StrCat("mean voc[", t, "]"), c);
    }
    ExpectNear(mean[3], m->mean_coco_ap, "mean coco", c);
    ExpectNear(mean[4], m->mean_coco_ap50, "mean coco50", c);
    ExpectNear(mean[5], m->mean_coco_ap75, "mean coco75", c);
  }
}

}  // namespace
}  // namespace mammovl::detection
