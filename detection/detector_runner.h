// What `detector_main` runs: read the train and test tables, load the
// images into the detector's frame, train the RetinaNet on train/'s Trainer
// (checkpoints, resume, metrics log, loss curve), evaluate on the held-out
// images (VOC AP, COCO AP, FROC), and write metrics.json, predictions.csv,
// eval_curve.csv + ap_curve.png and box overlays into the run folder.
#ifndef MAMMOVL_DETECTION_DETECTOR_RUNNER_H_
#define MAMMOVL_DETECTION_DETECTOR_RUNNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "detection/detector_config.pb.h"
#include "detection/metrics.h"

namespace mammovl::detection {

// One evaluation during training.
struct EvalPoint {
  int64_t step = 0;
  double voc_ap = 0;     // mean VOC AP at the first eval IoU threshold
  double coco_ap50 = 0;  // NaN when COCO metrics are off
};

struct DetectorReport {
  DetectionMetrics metrics;  // final, on test_data
  std::vector<EvalPoint> curve;
  int64_t steps = 0;
  int64_t train_images = 0;
  int64_t test_images = 0;
  double train_seconds = 0;
};

// Checks the whole pipeline config before any work (InvalidArgument naming
// the field): model, input, train, eval, data sources, output_dir.
absl::Status ValidateDetectorPipelineConfig(const DetectorPipelineConfig& config);

// Runs training and evaluation. `config_text` is the effective config saved
// in the run folder. Errors: validation; the dataset adapters'; too many
// unreadable images (FailedPrecondition); FailedPrecondition for an
// output_dir with checkpoints but no `resume`; the trainer's.
absl::StatusOr<DetectorReport> RunDetector(const DetectorPipelineConfig& config,
                                           const std::string& config_text);

}  // namespace mammovl::detection

#endif  // MAMMOVL_DETECTION_DETECTOR_RUNNER_H_
