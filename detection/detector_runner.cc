#include "detection/detector_runner.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <malloc.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <utility>

#include <glog/logging.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_io.h"
#include "core/plot.h"
#include "core/status_macros.h"
#include "core/thread_pool.h"
#include "core/torch_status.h"
#include "data/datasets/datasets.h"
#include "detection/detection_data.h"
#include "detection/retinanet.h"
#include "detection/retinanet_loss.h"
#include "train/loss_curve.h"
#include "train/trainer.h"

namespace mammovl::detection {
namespace {

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::vector<std::string> Classes(const RetinaNetConfig& model) {
  return {model.classes().begin(), model.classes().end()};
}

struct DetectionBatch {
  at::Tensor images;  // [B, 3, H, W]
  std::vector<ImageTargets> targets;
  int64_t size = 0;
};

ImageTargets ToTargets(const ImageGroundTruth& truth) {
  const int64_t n = static_cast<int64_t>(truth.boxes.size());
  ImageTargets t;
  t.boxes = at::empty({n, 4}, at::kFloat);
  t.labels = at::empty({n}, at::kLong);
  float* b = t.boxes.data_ptr<float>();
  int64_t* l = t.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    b[4 * i] = truth.boxes[i].x1;
    b[4 * i + 1] = truth.boxes[i].y1;
    b[4 * i + 2] = truth.boxes[i].x2;
    b[4 * i + 3] = truth.boxes[i].y2;
    l[i] = truth.labels[i];
  }
  return t;
}

// Epoch-shuffled batches with random flips; the position is "epoch:index"
// and every random choice derives from (seed, epoch, index), so a resumed
// run sees the same batches.
class TrainBatches : public train::DataSource<DetectionBatch> {
 public:
  TrainBatches(const DetectionSet& set, const DetectorPipelineConfig& config)
      : set_(set), config_(config) {
    Shuffle();
  }

  absl::StatusOr<DetectionBatch> Next() override {
    const int64_t n = static_cast<int64_t>(set_.images.size());
    const int64_t batch = std::min<int64_t>(config_.batch_size(), n);
    const int h = config_.input().height(), w = config_.input().width();
    DetectionBatch out;
    out.images = at::empty({batch, 3, h, w}, at::kFloat);
    float* dst = out.images.data_ptr<float>();
    for (int64_t b = 0; b < batch; ++b) {
      if (index_ >= n) {
        ++epoch_;
        index_ = 0;
        Shuffle();
      }
      const DetectionImage& image = set_.images[order_[index_]];
      std::mt19937_64 rng(config_.train().seed() * 1000003u + epoch_ * 7919u + index_);
      std::uniform_real_distribution<double> u(0, 1);
      const bool hflip = u(rng) < config_.input().hflip_probability();
      const bool vflip = u(rng) < config_.input().vflip_probability();
      const cv::Mat1f* pixels = &image.image;
      const ImageGroundTruth* truth = &image.truth;
      cv::Mat1f warped;
      ImageGroundTruth warped_truth;
      if (AffineEnabled(config_.input())) {
        const AffineDraw draw = DrawAffine(config_.input(), w, h, [&] { return u(rng); });
        // The image minimum after min-max and normalisation.
        const float fill =
            static_cast<float>(-config_.input().mean() / config_.input().std());
        ApplyAffine(image.image, image.truth, AffineMatrix(draw, w, h), fill, &warped,
                    &warped_truth, nullptr);
        pixels = &warped;
        truth = &warped_truth;
      }
      WritePlanes(*pixels, hflip, vflip, dst + b * 3 * h * w);
      out.targets.push_back(ToTargets(FlipTruth(*truth, hflip, vflip, w, h)));
      ++index_;
    }
    out.size = batch;
    return out;
  }

  std::string Position() const override { return absl::StrCat(epoch_, ":", index_); }

  absl::Status Seek(absl::string_view position) override {
    std::vector<std::string> parts = absl::StrSplit(position, ':');
    int64_t epoch = 0, index = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &epoch) ||
        !absl::SimpleAtoi(parts[1], &index) || epoch < 0 || index < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("detector data position '", position, "' is not epoch:index"));
    }
    epoch_ = epoch;
    index_ = index;
    Shuffle();
    return absl::OkStatus();
  }

 private:
  void Shuffle() {
    order_.resize(set_.images.size());
    std::iota(order_.begin(), order_.end(), 0);
    std::mt19937_64 rng(config_.train().seed() + 0x9e3779b97f4a7c15ull * (epoch_ + 1));
    std::shuffle(order_.begin(), order_.end(), rng);
  }

  const DetectionSet& set_;
  const DetectorPipelineConfig& config_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0;
  int64_t index_ = 0;
};

// Detections for every image of `set`, in the input frame.
absl::StatusOr<std::vector<ImageDetections>> Predict(RetinaNet& model, const DetectionSet& set,
                                                     const DetectorPipelineConfig& config) {
  std::vector<ImageDetections> all;
  const int h = config.input().height(), w = config.input().width();
  const int64_t n = static_cast<int64_t>(set.images.size());
  model->SetTraining(false);
  at::NoGradGuard no_grad;
  for (int64_t start = 0; start < n; start += config.batch_size()) {
    const int64_t batch = std::min<int64_t>(config.batch_size(), n - start);
    at::Tensor images = at::empty({batch, 3, h, w}, at::kFloat);
    for (int64_t b = 0; b < batch; ++b) {
      WritePlanes(set.images[start + b].image, false, false,
                  images.data_ptr<float>() + b * 3 * h * w);
    }
    MVL_ASSIGN_OR_RETURN(RetinaNetOutput out,
                         core::RunTorch("detector forward", [&] { return model->forward(images); }));
    MVL_ASSIGN_OR_RETURN(std::vector<ImageDetections> d, model->Detect(out, h, w));
    for (auto& x : d) all.push_back(std::move(x));
  }
  return all;
}

std::vector<ImageGroundTruth> Truths(const DetectionSet& set) {
  std::vector<ImageGroundTruth> t;
  for (const DetectionImage& image : set.images) t.push_back(image.truth);
  return t;
}

absl::StatusOr<DetectionSet> LoadSplit(const data::DatasetConfig& data_config,
                                       const DetectorPipelineConfig& config, const char* what) {
  MVL_ASSIGN_OR_RETURN(data::Dataset dataset, data::BuildDataset(data_config));
  LOG(INFO) << what << ": " << dataset.samples.size() << " images from " << dataset.name
            << " (" << dataset.skipped.size() << " rows skipped)";
  MVL_ASSIGN_OR_RETURN(DetectionSet set,
                       LoadDetectionSet(dataset.samples, Classes(config.model()), config.input(),
                                        config.num_loader_threads(),
                                        config.max_unreadable_fraction()));
  LOG(INFO) << what << ": " << set.images.size() << " images, " << set.boxes_kept << " boxes";
  return set;
}

std::string Csv(double v) {
  return std::isfinite(v) ? absl::StrCat(v) : std::string();
}

absl::Status WritePredictions(const std::string& path, const DetectionSet& set,
                              const std::vector<ImageDetections>& detections,
                              const DetectorPipelineConfig& config) {
  std::string out =
      "image_id,class,label,score,x1,y1,x2,y2\n";  // original image frame
  const std::vector<ImageDetections> kept =
      FilterDetections(detections, config.eval().score_threshold(),
                       config.eval().max_detections_per_image());
  for (size_t i = 0; i < set.images.size(); ++i) {
    const DetectionImage& image = set.images[i];
    const double sx = static_cast<double>(image.original_width) / config.input().width();
    const double sy = static_cast<double>(image.original_height) / config.input().height();
    const ImageDetections& d = kept[i];
    for (size_t k = 0; k < d.boxes.size(); ++k) {
      absl::StrAppend(&out, image.image_id, ",", config.model().classes(d.labels[k]), ",",
                      d.labels[k], ",", d.scores[k], ",", d.boxes[k].x1 * sx, ",",
                      d.boxes[k].y1 * sy, ",", d.boxes[k].x2 * sx, ",", d.boxes[k].y2 * sy, "\n");
    }
  }
  return core::WriteFileAtomically(path, out);
}

// A file name from a table id: path separators and odd characters become
// '_', and a trailing image extension is dropped.
std::string FileStem(const std::string& id) {
  std::string stem = id;
  for (const char* ext : {".png", ".dcm", ".jpg"}) {
    if (absl::EndsWith(stem, ext)) stem.resize(stem.size() - std::strlen(ext));
  }
  for (char& c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return stem;
}

absl::Status WriteOverlays(const std::string& dir, const DetectionSet& set,
                           const std::vector<ImageDetections>& detections,
                           const DetectorPipelineConfig& config) {
  const int n = std::min<int>(config.num_overlays(), static_cast<int>(set.images.size()));
  if (n <= 0) return absl::OkStatus();
  MVL_RETURN_IF_ERROR(core::MakeDirectories(dir));
  // The highest-scoring boxes only, so that the true box stays visible.
  constexpr int kMaxDrawn = 3;
  const std::vector<ImageDetections> kept =
      FilterDetections(detections, config.eval().score_threshold(), kMaxDrawn);
  // Small input frames are enlarged so boxes and scores stay legible.
  const double zoom = std::max(1.0, std::floor(512.0 / config.input().height()));
  auto rect = [zoom](const Box& b) {
    return cv::Rect(cv::Point(static_cast<int>(std::lround(b.x1 * zoom)),
                              static_cast<int>(std::lround(b.y1 * zoom))),
                    cv::Point(static_cast<int>(std::lround(b.x2 * zoom)),
                              static_cast<int>(std::lround(b.y2 * zoom))));
  };
  for (int i = 0; i < n; ++i) {
    const DetectionImage& image = set.images[i];
    cv::Mat gray, bgr;
    cv::normalize(image.image, gray, 0, 255, cv::NORM_MINMAX, CV_8U);
    cv::resize(gray, gray, cv::Size(), zoom, zoom, cv::INTER_LINEAR);
    cv::cvtColor(gray, bgr, cv::COLOR_GRAY2BGR);
    for (size_t k = 0; k < kept[i].boxes.size(); ++k) {
      const cv::Rect r = rect(kept[i].boxes[k]);
      cv::rectangle(bgr, r, cv::Scalar(0, 0, 255), 2);
      char label[16];
      std::snprintf(label, sizeof(label), "%.2f", kept[i].scores[k]);
      cv::putText(bgr, label, cv::Point(r.x, std::max(12, r.y - 3)), cv::FONT_HERSHEY_SIMPLEX,
                  0.45, cv::Scalar(0, 0, 255), 1);
    }
    for (const Box& b : image.truth.boxes) cv::rectangle(bgr, rect(b), cv::Scalar(0, 200, 0), 2);
    std::vector<uchar> png;
    if (!cv::imencode(".png", bgr, png)) {
      return absl::InternalError(absl::StrCat("cannot encode the overlay of ", image.image_id));
    }
    MVL_RETURN_IF_ERROR(core::WriteFileAtomically(
        JoinPath(dir, absl::StrCat(i, "_", FileStem(image.image_id), ".png")),
        absl::string_view(reinterpret_cast<const char*>(png.data()), png.size())));
  }
  return absl::OkStatus();
}

// The points of an earlier eval_curve.csv with step <= `max_step`.
absl::StatusOr<std::vector<EvalPoint>> ReadCurve(const std::string& path, int64_t max_step) {
  MVL_ASSIGN_OR_RETURN(const std::string text, core::ReadFileToString(path));
  std::vector<EvalPoint> curve;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (++line_number == 1) continue;  // header
    const std::vector<std::string> f = absl::StrSplit(line, ',');
    EvalPoint p;
    auto number = [](const std::string& v, double* out) {
      if (v.empty()) {
        *out = std::numeric_limits<double>::quiet_NaN();
        return true;
      }
      return absl::SimpleAtod(v, out);
    };
    if (f.size() != 3 || !absl::SimpleAtoi(f[0], &p.step) || !number(f[1], &p.voc_ap) ||
        !number(f[2], &p.coco_ap50)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number, ": expected step,voc_ap,coco_ap50"));
    }
    if (p.step <= max_step) curve.push_back(p);
  }
  return curve;
}

absl::Status WriteCurve(const std::string& dir, const std::vector<EvalPoint>& curve) {
  std::string csv = "step,voc_ap,coco_ap50\n";
  core::Series voc, coco;
  voc.name = "VOC AP (test)";
  coco.name = "COCO AP50 (test)";
  for (const EvalPoint& p : curve) {
    absl::StrAppend(&csv, p.step, ",", Csv(p.voc_ap), ",", Csv(p.coco_ap50), "\n");
    if (std::isfinite(p.voc_ap)) {
      voc.x.push_back(p.step);
      voc.y.push_back(p.voc_ap);
    }
    if (std::isfinite(p.coco_ap50)) {
      coco.x.push_back(p.step);
      coco.y.push_back(p.coco_ap50);
    }
  }
  MVL_RETURN_IF_ERROR(core::WriteFileAtomically(JoinPath(dir, "eval_curve.csv"), csv));
  if (voc.x.size() < 2) return absl::OkStatus();
  core::PlotOptions options;
  options.title = "Held-out detection AP during training";
  options.x_label = "step";
  options.y_label = "AP";
  options.y_min = 0;
  options.y_max = 1;
  std::vector<core::Series> series = {voc};
  if (!coco.x.empty()) series.push_back(coco);
  return core::WriteLinePlot(JoinPath(dir, "ap_curve.png"), series, options);
}

std::string ReportJson(const DetectorReport& report, const DetectionMetrics& metrics) {
  return absl::StrCat("{\"steps\": ", report.steps, ", \"train_images\": ", report.train_images,
                      ", \"test_images\": ", report.test_images,
                      ", \"train_seconds\": ", report.train_seconds,
                      ", \"test\": ", DetectionMetricsToJson(metrics), "}\n");
}

}  // namespace

absl::Status ValidateDetectorPipelineConfig(const DetectorPipelineConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateRetinaNetConfig(config.model()));
  MVL_RETURN_IF_ERROR(ValidateDetectorInputConfig(config.input()));
  MVL_RETURN_IF_ERROR(train::ValidateTrainConfig(config.train()));
  MVL_RETURN_IF_ERROR(ValidateDetectionEvalConfig(config.eval()));
  if (!config.has_train_data()) return absl::InvalidArgumentError("train_data: not set");
  if (!config.has_test_data()) return absl::InvalidArgumentError("test_data: not set");
  MVL_RETURN_IF_ERROR(data::ValidateDatasetConfig(config.train_data()));
  MVL_RETURN_IF_ERROR(data::ValidateDatasetConfig(config.test_data()));
  if (config.batch_size() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size must be >= 1 (got ", config.batch_size(), ")"));
  }
  if (config.output_dir().empty()) return absl::InvalidArgumentError("output_dir: not set");
  if (config.eval_every_n_steps() < 0 || config.num_overlays() < 0) {
    return absl::InvalidArgumentError("eval_every_n_steps and num_overlays must be >= 0");
  }
  if (!(config.max_unreadable_fraction() >= 0 && config.max_unreadable_fraction() <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("max_unreadable_fraction must be in [0, 1] (got ",
                                                   config.max_unreadable_fraction(), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<DetectorReport> RunDetector(const DetectorPipelineConfig& config,
                                           const std::string& config_text) {
  MVL_RETURN_IF_ERROR(ValidateDetectorPipelineConfig(config));
  // Keep freed activations in the heap: glibc would otherwise unmap every
  // large block and page-fault it in again at the next step.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  at::set_num_threads(config.train().num_threads() > 0 ? config.train().num_threads()
                                                      : core::ThreadPool::HardwareThreads());
  at::manual_seed(config.train().seed());
  // The model first: a config the builder rejects fails before any file work.
  MVL_ASSIGN_OR_RETURN(RetinaNet model, BuildRetinaNet(config.model()));
  DetectionEvalConfig eval_config = config.eval();
  if (eval_config.class_names_size() == 0) {
    *eval_config.mutable_class_names() = config.model().classes();
  }
  MVL_RETURN_IF_ERROR(core::MakeDirectories(config.output_dir()));

  MVL_ASSIGN_OR_RETURN(const DetectionSet train_set, LoadSplit(config.train_data(), config, "train"));
  MVL_ASSIGN_OR_RETURN(const DetectionSet test_set, LoadSplit(config.test_data(), config, "test"));
  if (train_set.images.empty()) {
    return absl::FailedPreconditionError("train_data: no readable images");
  }
  std::string skipped = "path,reason\n";
  for (const auto* set : {&train_set, &test_set}) {
    for (const auto& [path, why] : set->skipped) absl::StrAppend(&skipped, path, ",", why, "\n");
  }
  MVL_RETURN_IF_ERROR(
      core::WriteFileAtomically(JoinPath(config.output_dir(), "skipped_images.csv"), skipped));

  train::NamedTensors parameters, buffers;
  for (const auto& p : model->named_parameters()) parameters.emplace_back(p.key(), p.value());
  for (const auto& b : model->named_buffers()) buffers.emplace_back(b.key(), b.value());

  DetectorReport report;
  report.train_images = static_cast<int64_t>(train_set.images.size());
  report.test_images = static_cast<int64_t>(test_set.images.size());
  const std::vector<ImageGroundTruth> test_truth = Truths(test_set);
  const int num_classes = config.model().classes_size();

  auto evaluate = [&]() -> absl::StatusOr<std::pair<std::vector<ImageDetections>, DetectionMetrics>> {
    MVL_ASSIGN_OR_RETURN(std::vector<ImageDetections> d, Predict(model, test_set, config));
    MVL_ASSIGN_OR_RETURN(DetectionMetrics m,
                         EvaluateDetections(d, test_truth, num_classes, eval_config));
    return std::make_pair(std::move(d), std::move(m));
  };
  auto point = [](int64_t step, const DetectionMetrics& m) {
    EvalPoint p;
    p.step = step;
    p.voc_ap = m.mean_voc_ap.empty() ? std::numeric_limits<double>::quiet_NaN() : m.mean_voc_ap[0];
    p.coco_ap50 = m.coco ? m.mean_coco_ap50 : std::numeric_limits<double>::quiet_NaN();
    return p;
  };

  train::TrainerOptions options;
  options.run_dir = config.output_dir();
  options.resume = config.resume();
  options.config_text = config_text;
  options.on_finish = [](const train::MetricsSeries& series, const std::string& dir) {
    return train::WriteLossCurve(series, dir);
  };
  absl::Status eval_status;
  options.after_step = [&](int64_t step) {
    if (config.eval_every_n_steps() <= 0 || step % config.eval_every_n_steps() != 0 ||
        step == config.train().max_steps() || !eval_status.ok()) {
      return;
    }
    auto result = evaluate();
    if (!result.ok()) {
      eval_status = result.status();
      return;
    }
    report.curve.push_back(point(step, result->second));
    LOG(INFO) << "step " << step << ": held-out VOC AP " << report.curve.back().voc_ap;
  };
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<train::Trainer> trainer,
                       train::Trainer::Create(config.train(), parameters, buffers, options));
  // A resumed run keeps the evaluations made before its checkpoint.
  const std::string curve_path = JoinPath(config.output_dir(), "eval_curve.csv");
  if (trainer->step() > 0 && core::PathExists(curve_path)) {
    MVL_ASSIGN_OR_RETURN(report.curve, ReadCurve(curve_path, trainer->step()));
  }
  TrainBatches batches(train_set, config);
  const auto start = std::chrono::steady_clock::now();
  MVL_ASSIGN_OR_RETURN(
      train::TrainResult trained,
      trainer->Run(batches, [&](DetectionBatch& batch,
                                const train::StepContext&) -> absl::StatusOr<train::StepOutput> {
        model->SetTraining(true);
        return core::RunTorch("detector training step", [&]() -> absl::StatusOr<train::StepOutput> {
          RetinaNetOutput out = model->forward(batch.images);
          MVL_ASSIGN_OR_RETURN(
              RetinaLoss loss,
              ComputeRetinaLoss(out.classification, out.regression, out.anchors, batch.targets,
                                config.model().loss(), config.model().assigner(),
                                config.model().box_coder()));
          at::Tensor total = loss.total;
          // A batch without positives still needs a graph for backward().
          if (!total.requires_grad()) total = total + 0 * out.classification.sum();
          train::StepOutput step;
          step.loss = total;
          step.metrics = {{"loss_classification", loss.classification.item<double>()},
                          {"loss_regression", loss.regression.item<double>()},
                          {"positive_anchors", static_cast<double>(loss.num_positive_anchors)}};
          step.samples = batch.size;
          return step;
        });
      }));
  MVL_RETURN_IF_ERROR(eval_status);
  report.train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.steps = trained.steps;

  MVL_ASSIGN_OR_RETURN(auto final_eval, evaluate());
  report.metrics = final_eval.second;
  report.curve.push_back(point(trained.steps, report.metrics));
  const std::string& dir = config.output_dir();
  MVL_RETURN_IF_ERROR(
      core::WriteFileAtomically(JoinPath(dir, "metrics.json"), ReportJson(report, report.metrics)));
  MVL_RETURN_IF_ERROR(
      WritePredictions(JoinPath(dir, "predictions.csv"), test_set, final_eval.first, config));
  MVL_RETURN_IF_ERROR(WriteOverlays(JoinPath(dir, "overlays"), test_set, final_eval.first, config));
  MVL_RETURN_IF_ERROR(WriteCurve(dir, report.curve));
  LOG(INFO) << "held-out VOC AP@" << report.metrics.voc_iou_thresholds.front() << " "
            << report.curve.back().voc_ap << ", COCO AP50 " << report.curve.back().coco_ap50
            << " on " << report.test_images << " images after " << report.steps << " steps ("
            << report.train_seconds << " s)";
  return report;
}

}  // namespace mammovl::detection
