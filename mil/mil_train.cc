#include "mil/mil_train.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <glog/logging.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <utility>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "core/proto_config.h"
#include "core/state_dict.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "data/datasets/datasets.h"
#include "eval/metrics.h"
#include "mil/boxes.h"
#include "mil/heatmaps.h"
#include "mil/mil_model.h"
#include "mil/splits.h"
#include "train/trainer.h"
#include "vision/image_encoder.h"

namespace mammovl::mil {
namespace {

// State-dict prefix of the backbone in best_model.safetensors (the
// reference's online model: `inst_encoder.backbone.*`; the encoder's own
// names start with `backbone.`).
constexpr char kBackbonePrefix[] = "inst_encoder.";

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string JoinPath(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  return a.back() == '/' ? a + b : a + "/" + b;
}

std::vector<int> MapIndices(const MilFeaturesConfig& features, int available) {
  if (features.maps_size() > 0) return {features.maps().begin(), features.maps().end()};
  std::vector<int> last;
  for (int i = std::max(0, available - 2); i < available; ++i) last.push_back(i);
  return last;
}

absl::Status CheckRange(bool ok, const std::string& field, double value, const std::string& rule) {
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " ", rule, " (got ", value, ")"));
}

}  // namespace

absl::Status ValidateMilPipelineConfig(const MilPipelineConfig& config) {
  if (config.output_dir().empty()) {
    return absl::InvalidArgumentError("output_dir must be set");
  }
  if (config.target().empty()) return absl::InvalidArgumentError("target must be set");
  MVL_RETURN_IF_ERROR(data::ValidateDatasetConfig(config.data()));
  MVL_RETURN_IF_ERROR(ValidatePatchingConfig(config.patching()));
  const MilFeaturesConfig& f = config.features();
  if (!f.has_backbone()) {
    return absl::InvalidArgumentError("features.backbone must be set");
  }
  MVL_RETURN_IF_ERROR(vision::ValidateVisionConfig(f.backbone()));
  MVL_RETURN_IF_ERROR(CheckRange(f.batch_patches() > 0, "features.batch_patches",
                                 f.batch_patches(), "must be > 0"));
  MVL_RETURN_IF_ERROR(CheckRange(f.num_shards() > 0, "features.num_shards", f.num_shards(),
                                 "must be > 0"));
  MVL_RETURN_IF_ERROR(CheckRange(f.shard() >= 0 && f.shard() < f.num_shards(),
                                 "features.shard", f.shard(), "must be in [0, num_shards)"));
  if (f.trainable() && !f.cache_dir().empty()) {
    return absl::InvalidArgumentError(
        "features.cache_dir: offline feature files are of a frozen backbone, "
        "features.trainable fine-tunes it online");
  }
  if (f.trainable() && f.standardize()) {
    return absl::InvalidArgumentError(
        "features.standardize: fixed feature statistics need a frozen backbone "
        "(features.trainable is set)");
  }
  if (config.training().flip_augmentation() && !f.trainable()) {
    return absl::InvalidArgumentError(
        "training.flip_augmentation needs features.trainable (offline features are of "
        "unflipped images)");
  }
  if (!config.model().fpn()) {
    return absl::InvalidArgumentError("model.fpn must be true: mil_main feeds backbone maps");
  }
  MVL_RETURN_IF_ERROR(ValidateMilModelConfig(config.model(), config.patching()));
  if (static_cast<size_t>(f.maps_size()) != 0 &&
      static_cast<size_t>(f.maps_size()) != BackboneChannelsOf(config.model()).size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "features.maps has ", f.maps_size(), " entries but model.backbone_channels ",
        BackboneChannelsOf(config.model()).size()));
  }
  const MilTrainingConfig& t = config.training();
  MVL_RETURN_IF_ERROR(CheckRange(t.epochs() > 0, "training.epochs", t.epochs(), "must be > 0"));
  MVL_RETURN_IF_ERROR(
      CheckRange(t.batch_size() > 0, "training.batch_size", t.batch_size(), "must be > 0"));
  MVL_RETURN_IF_ERROR(CheckRange(t.pos_weight() >= 0 && std::isfinite(t.pos_weight()),
                                 "training.pos_weight", t.pos_weight(), "must be >= 0"));
  MVL_RETURN_IF_ERROR(CheckRange(t.valid_splits() >= 2, "training.valid_splits",
                                 t.valid_splits(), "must be >= 2"));
  MVL_RETURN_IF_ERROR(CheckRange(t.eval_every_epochs() >= 1, "training.eval_every_epochs",
                                 t.eval_every_epochs(), "must be >= 1"));
  MVL_RETURN_IF_ERROR(CheckRange(t.threshold() > 0 && t.threshold() < 1, "training.threshold",
                                 t.threshold(), "must be in (0, 1)"));
  train::TrainConfig trainer = t.trainer();
  trainer.set_max_steps(std::numeric_limits<int32_t>::max());
  MVL_RETURN_IF_ERROR(train::ValidateTrainConfig(trainer));
  const RoiEvalConfig& r = config.roi_eval();
  MVL_RETURN_IF_ERROR(CheckRange(r.overlap() >= 0 && r.overlap() < 1, "roi_eval.overlap",
                                 r.overlap(), "must be in [0, 1)"));
  MVL_RETURN_IF_ERROR(
      CheckRange(r.overlays() >= 0, "roi_eval.overlays", r.overlays(), "must be >= 0"));
  MVL_RETURN_IF_ERROR(ValidateHeatmapConfig(r.heatmap()));
  MVL_RETURN_IF_ERROR(ValidateBoxExtractionConfig(r.boxes()));
  MVL_RETURN_IF_ERROR(ValidateBoxMatchingConfig(r.matching()));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MilImage>> LoadMilImages(const MilPipelineConfig& config) {
  data::DatasetConfig dc = config.data();
  dc.mutable_split()->set_part(data::SplitConfig::ALL);
  MVL_ASSIGN_OR_RETURN(data::Dataset dataset, data::BuildDataset(dc));
  std::vector<MilImage> images;
  for (const data::Sample& s : dataset.samples) {
    if (s.images.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("sample ", s.id, " has no image"));
    }
    const float label = s.Label(config.target(), -1);
    if (label != 0 && label != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sample ", s.id, ": label '", config.target(), "' is ", label, ", expected 0 or 1"));
    }
    MilImage image;
    image.id = s.images[0].image_id.empty() ? s.id : s.images[0].image_id;
    image.patient_id = s.patient_id;
    image.path = s.images[0].path;
    image.label = static_cast<int>(label);
    image.test = s.split == "test";
    for (const data::Box& b : s.boxes) {
      if (b.category == config.roi_eval().box_category()) {
        image.boxes.push_back({b.xmin, b.ymin, b.xmax, b.ymax});
      }
    }
    images.push_back(std::move(image));
  }
  if (images.empty()) {
    return absl::FailedPreconditionError("the table gave no images");
  }
  return images;
}

absl::StatusOr<at::Tensor> ReadGreyImage(const std::string& path) {
  cv::Mat raw = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (raw.empty()) {
    return absl::DataLossError(absl::StrCat(path, ": not a readable image"));
  }
  if (raw.channels() == 3) cv::cvtColor(raw, raw, cv::COLOR_BGR2GRAY);
  if (raw.channels() == 4) cv::cvtColor(raw, raw, cv::COLOR_BGRA2GRAY);
  double scale = 1.0 / 255.0;
  if (raw.depth() == CV_16U) {
    scale = 1.0 / 65535.0;
  } else if (raw.depth() != CV_8U) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": 8- or 16-bit image expected"));
  }
  cv::Mat f;
  raw.convertTo(f, CV_32F, scale);
  return at::from_blob(f.ptr<float>(), {f.rows, f.cols}, at::kFloat).clone();
}

// ---------------------------------------------------------------------------
// Frozen backbone.

struct FeatureExtractor::Impl {
  vision::ImageEncoder encoder{nullptr};
  std::vector<int> maps;
};

FeatureExtractor::~FeatureExtractor() = default;

absl::StatusOr<std::unique_ptr<FeatureExtractor>> FeatureExtractor::Create(
    const MilPipelineConfig& config) {
  auto extractor = std::unique_ptr<FeatureExtractor>(new FeatureExtractor());
  extractor->impl_ = std::make_unique<Impl>();
  {
    // A backbone without a checkpoint keeps its random initialisation: the
    // same seed gives the same weights in every run and mode.
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_current_seed(config.features().init_seed());
  }
  MVL_ASSIGN_OR_RETURN(extractor->impl_->encoder,
                       vision::BuildImageEncoder(config.features().backbone()));
  vision::ImageEncoder& encoder = extractor->impl_->encoder;
  encoder->eval();
  extractor->trainable_ = config.features().trainable();
  for (at::Tensor& p : encoder->parameters()) p.set_requires_grad(extractor->trainable_);
  const std::vector<int64_t> available = encoder->backbone().map_channels();
  extractor->impl_->maps = MapIndices(config.features(), static_cast<int>(available.size()));
  const std::vector<int64_t> expected = BackboneChannelsOf(config.model());
  if (extractor->impl_->maps.size() != expected.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the backbone gives ", available.size(), " maps; features.maps selects ",
        extractor->impl_->maps.size(), " but the model expects ", expected.size()));
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    const int m = extractor->impl_->maps[i];
    if (m < 0 || m >= static_cast<int>(available.size())) {
      return absl::InvalidArgumentError(absl::StrCat("features.maps[", i, "] = ", m,
                                                     " but the backbone has ",
                                                     available.size(), " maps"));
    }
    if (available[m] != expected[i]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "backbone map ", m, " has ", available[m], " channels but model.backbone_channels[",
          i, "] is ", expected[i]));
    }
    extractor->channels_.push_back(available[m]);
  }
  extractor->batch_patches_ = config.features().batch_patches();
  return extractor;
}

absl::StatusOr<ImageFeatures> FeatureExtractor::Extract(const at::Tensor& image,
                                                        const PatchingConfig& patching) {
  MVL_ASSIGN_OR_RETURN(PatchBag bag, MakePatchBag(image, patching));
  ImageFeatures out;
  out.coords = bag.coords;
  out.padding = bag.padding;
  out.padded_height = bag.padded_height;
  out.padded_width = bag.padded_width;
  const bool was_training = is_training();
  SetTraining(false);
  at::NoGradGuard no_grad;
  absl::StatusOr<std::vector<at::Tensor>> maps = Maps(bag.patches);
  SetTraining(was_training);
  if (!maps.ok()) return maps.status();
  out.maps = *std::move(maps);
  return out;
}

absl::StatusOr<std::vector<at::Tensor>> FeatureExtractor::Maps(const at::Tensor& patches) {
  std::vector<at::Tensor> out;
  MVL_RETURN_IF_ERROR(core::RunTorch("backbone features", [&]() -> absl::Status {
    const int64_t n = patches.size(0);
    std::vector<std::vector<at::Tensor>> parts(impl_->maps.size());
    for (int64_t start = 0; start < n; start += batch_patches_) {
      const int64_t end = std::min<int64_t>(n, start + batch_patches_);
      at::Tensor x = patches.slice(0, start, end);
      if (x.size(1) == 1) x = x.expand({x.size(0), 3, x.size(2), x.size(3)});
      vision::EncoderOutput enc = impl_->encoder->forward(x.contiguous());
      for (size_t i = 0; i < impl_->maps.size(); ++i) {
        parts[i].push_back(enc.features.maps.at(impl_->maps[i]).contiguous());
      }
    }
    for (auto& p : parts) out.push_back(p.size() == 1 ? p[0] : at::cat(p, 0).contiguous());
    return absl::OkStatus();
  }));
  return out;
}

void FeatureExtractor::SetTraining(bool training) {
  impl_->encoder->train(training && trainable_);
}

bool FeatureExtractor::is_training() const { return impl_->encoder->is_training(); }

namespace {
std::vector<std::pair<std::string, at::Tensor>> WithBackbonePrefix(
    const torch::OrderedDict<std::string, at::Tensor>& items) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : items) out.emplace_back(kBackbonePrefix + item.key(), item.value());
  return out;
}
}  // namespace

std::vector<std::pair<std::string, at::Tensor>> FeatureExtractor::NamedParameters() const {
  return WithBackbonePrefix(impl_->encoder->named_parameters());
}

std::vector<std::pair<std::string, at::Tensor>> FeatureExtractor::NamedBuffers() const {
  return WithBackbonePrefix(impl_->encoder->named_buffers());
}

// ---------------------------------------------------------------------------
// Offline feature files.

std::string FeatureFilePath(const std::string& dir, const MilImage& image) {
  return JoinPath(JoinPath(dir, image.patient_id), image.id + ".safetensors");
}

absl::Status WriteFeatureFile(const std::string& path, const ImageFeatures& features) {
  core::StateDict state;
  for (size_t i = 0; i < features.maps.size(); ++i) {
    state.emplace_back(absl::StrCat("map_", i), features.maps[i]);
  }
  at::Tensor coords = at::empty({static_cast<int64_t>(features.coords.size()), 2}, at::kLong);
  for (size_t i = 0; i < features.coords.size(); ++i) {
    coords[i][0] = features.coords[i].x;
    coords[i][1] = features.coords[i].y;
  }
  state.emplace_back("coords", coords);
  const Padding& p = features.padding;
  state.emplace_back("frame", at::tensor(std::vector<int64_t>{p.left, p.right, p.top, p.bottom,
                                                              features.padded_height,
                                                              features.padded_width},
                                         at::kLong));
  MVL_RETURN_IF_ERROR(core::MakeDirectories(Dirname(path)));
  return core::WriteStateDict(path, state);
}

absl::StatusOr<ImageFeatures> ReadFeatureFile(const std::string& path) {
  MVL_ASSIGN_OR_RETURN(core::StateDict state, core::LoadStateDict(path));
  ImageFeatures out;
  at::Tensor coords, frame;
  std::map<int, at::Tensor> maps;
  for (auto& [name, t] : state) {
    if (name == "coords") {
      coords = t;
    } else if (name == "frame") {
      frame = t;
    } else if (name.rfind("map_", 0) == 0) {
      maps[std::atoi(name.c_str() + 4)] = t;
    }
  }
  if (!coords.defined() || !frame.defined() || maps.empty() || frame.numel() != 6 ||
      coords.dim() != 2 || coords.size(1) != 2) {
    return absl::DataLossError(absl::StrCat(path, ": not a feature file (coords, frame, map_i)"));
  }
  for (auto& [i, t] : maps) {
    if (i != static_cast<int>(out.maps.size()) || t.dim() != 4 || t.size(0) != coords.size(0)) {
      return absl::DataLossError(absl::StrCat(path, ": map_", i, " does not fit the patches"));
    }
    out.maps.push_back(t.to(at::kFloat).contiguous());
  }
  const at::Tensor c = coords.to(at::kLong).contiguous();
  for (int64_t i = 0; i < c.size(0); ++i) {
    out.coords.push_back({c[i][0].item<int64_t>(), c[i][1].item<int64_t>()});
  }
  const at::Tensor f = frame.to(at::kLong).contiguous();
  out.padding = {f[0].item<int64_t>(), f[1].item<int64_t>(), f[2].item<int64_t>(),
                 f[3].item<int64_t>()};
  out.padded_height = f[4].item<int64_t>();
  out.padded_width = f[5].item<int64_t>();
  return out;
}

absl::StatusOr<std::vector<ImageFeatures>> ExtractAllFeatures(
    const MilPipelineConfig& config, const std::vector<MilImage>& images,
    const ExtractionOptions& options) {
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<FeatureExtractor> extractor,
                       FeatureExtractor::Create(config));
  const MilFeaturesConfig& f = config.features();
  if (!f.cache_dir().empty()) {
    MVL_ASSIGN_OR_RETURN(const int64_t stale, core::RemoveStaleTempFiles(f.cache_dir(), true));
    LOG_IF(INFO, stale > 0) << "removed " << stale
                            << " temporary files left by an interrupted run in " << f.cache_dir();
  }
  std::vector<ImageFeatures> all(images.size());
  core::ProgressOptions progress_options;
  progress_options.unit = "img";
  core::ProgressReporter progress("mil features", static_cast<int64_t>(images.size()),
                                  progress_options);
  int64_t done = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    if (static_cast<int>(i % f.num_shards()) != f.shard()) continue;
    const std::string path =
        f.cache_dir().empty() ? std::string() : FeatureFilePath(f.cache_dir(), images[i]);
    bool have = false;
    if (!path.empty() && core::PathExists(path)) {
      absl::StatusOr<ImageFeatures> cached = ReadFeatureFile(path);
      if (cached.ok() && cached->maps.size() == extractor->channels().size()) {
        all[i] = *std::move(cached);
        have = true;
      } else {
        // The path names the patient; the image id is enough here.
        LOG(WARNING) << "re-extracting the features of image " << images[i].id << ": "
                     << (cached.ok() ? "wrong number of maps"
                                     : absl::StatusCodeToString(cached.status().code()));
      }
    }
    if (!have) {
      MVL_ASSIGN_OR_RETURN(at::Tensor grey, ReadGreyImage(images[i].path));
      absl::StatusOr<ImageFeatures> features = extractor->Extract(grey, config.patching());
      if (!features.ok()) {
        return absl::Status(features.status().code(),
                            absl::StrCat("image ", images[i].id, ": ",
                                         features.status().message()));
      }
      if (!path.empty()) MVL_RETURN_IF_ERROR(WriteFeatureFile(path, *features));
      all[i] = *std::move(features);
    }
    progress.Add();
    ++done;
    if (options.after_image && !options.after_image(done)) {
      return absl::CancelledError(absl::StrCat("feature extraction stopped after ", done,
                                               " images"));
    }
  }
  progress.Finish();
  return all;
}

// ---------------------------------------------------------------------------
// Training and evaluation.

namespace {

struct Predictions {
  std::vector<int> labels;
  std::map<std::string, std::vector<double>> heads;  // head name → probabilities
};

std::vector<at::Tensor> BatchMaps(const std::vector<ImageFeatures>& features,
                                  const std::vector<int>& indices) {
  std::vector<at::Tensor> maps;
  const size_t levels = features[indices[0]].maps.size();
  for (size_t l = 0; l < levels; ++l) {
    std::vector<at::Tensor> parts;
    for (int i : indices) {
      const at::Tensor& m = features[i].maps[l];
      TORCH_CHECK(m.sizes() == features[indices[0]].maps[l].sizes(),
                  "images of one batch have bags of different sizes (", m.sizes(), " vs ",
                  features[indices[0]].maps[l].sizes(), "); use batch_size 1");
      parts.push_back(m);
    }
    maps.push_back(at::stack(parts, 0));
  }
  return maps;
}

// Backbone maps of a batch of images, [B, N, C_i, h_i, w_i] per level.
using BatchMapsFn =
    std::function<absl::StatusOr<std::vector<at::Tensor>>(const std::vector<int>& batch)>;

// Online extraction: reads the batch's images, flips them at random when
// `flip_rng` is given, patches them and runs the backbone in its current
// mode (with gradients when grad mode is on and it is trainable).
absl::StatusOr<std::vector<at::Tensor>> OnlineBatchMaps(FeatureExtractor& extractor,
                                                        const std::vector<MilImage>& images,
                                                        const std::vector<int>& batch,
                                                        const PatchingConfig& patching,
                                                        std::mt19937_64* flip_rng) {
  std::vector<at::Tensor> patches;
  int64_t n = -1;
  for (int i : batch) {
    MVL_ASSIGN_OR_RETURN(at::Tensor grey, ReadGreyImage(images[i].path));
    if (flip_rng != nullptr) {
      if ((*flip_rng)() & 1) grey = grey.flip({1});
      if ((*flip_rng)() & 1) grey = grey.flip({0});
    }
    absl::StatusOr<PatchBag> bag = MakePatchBag(grey, patching);
    if (!bag.ok()) {
      return absl::Status(bag.status().code(),
                          absl::StrCat("image ", images[i].id, ": ", bag.status().message()));
    }
    if (n >= 0 && bag->patches.size(0) != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "images of one batch have bags of different sizes (image ", images[i].id, ": ",
          bag->patches.size(0), " patches, before it ", n, "); use batch_size 1"));
    }
    n = bag->patches.size(0);
    patches.push_back(bag->patches);
  }
  MVL_ASSIGN_OR_RETURN(std::vector<at::Tensor> maps,
                       extractor.Maps(patches.size() == 1 ? patches[0] : at::cat(patches, 0)));
  const int64_t b = static_cast<int64_t>(batch.size());
  for (at::Tensor& m : maps) m = m.view({b, n, m.size(1), m.size(2), m.size(3)});
  return maps;
}

at::Tensor WeightedBce(const at::Tensor& logits, const at::Tensor& y, double pos_weight) {
  const at::Tensor z = at::nan_to_num(logits);
  // −[w·y·log σ(z) + (1−y)·log(1−σ(z))], mean over the batch.
  return -(pos_weight * y * at::log_sigmoid(z) + (1 - y) * at::log_sigmoid(-z)).mean();
}

std::vector<std::string> HeadNames(const MilModel& model) {
  std::vector<std::string> names;
  for (int64_t s : model->layout().scales) names.push_back(std::to_string(s));
  names.push_back("aggregated");
  return names;
}

// Probabilities of every head on `indices`, in eval mode (the model and an
// online backbone, if any), without gradients.
absl::StatusOr<Predictions> Predict(MilModel& model, FeatureExtractor* online,
                                    const BatchMapsFn& batch_maps,
                                    const std::vector<MilImage>& images,
                                    const std::vector<int>& indices, int batch_size) {
  Predictions out;
  const std::vector<std::string> names = HeadNames(model);
  const bool was_training = model->is_training();
  const bool backbone_was_training = online != nullptr && online->is_training();
  model->eval();
  if (online != nullptr) online->SetTraining(false);
  const absl::Status status = core::RunTorch("MIL evaluation", [&]() -> absl::Status {
    at::NoGradGuard no_grad;
    for (size_t start = 0; start < indices.size(); start += batch_size) {
      const size_t end = std::min(indices.size(), start + batch_size);
      const std::vector<int> batch(indices.begin() + start, indices.begin() + end);
      MVL_ASSIGN_OR_RETURN(std::vector<at::Tensor> maps, batch_maps(batch));
      MilOutput o = model->Forward(maps);
      for (size_t b = 0; b < batch.size(); ++b) {
        out.labels.push_back(images[batch[b]].label);
        for (size_t s = 0; s < o.side_logits.size(); ++s) {
          out.heads[names[s]].push_back(
              at::sigmoid(at::nan_to_num(o.side_logits[s][b])).item<double>());
        }
        out.heads["aggregated"].push_back(at::nan_to_num(o.probabilities[b]).item<double>());
      }
    }
    return absl::OkStatus();
  });
  model->train(was_training);
  if (online != nullptr) online->SetTraining(backbone_was_training);
  MVL_RETURN_IF_ERROR(status);
  return out;
}

SplitMetrics Score(const Predictions& p, double threshold) {
  SplitMetrics m;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& [name, probs] : p.heads) {
    HeadMetrics h;
    absl::StatusOr<double> auc = eval::RocAuc(p.labels, probs);
    h.auc = auc.ok() ? *auc : nan;
    std::vector<int> pred;
    for (double v : probs) pred.push_back(v > threshold ? 1 : 0);
    eval::PrecisionRecallFOptions opts;
    opts.average = eval::Average::kWeighted;
    opts.zero_division = eval::ZeroDivision::kOne;
    absl::StatusOr<eval::PrecisionRecallF> f1 = eval::ComputePrecisionRecallF(p.labels, pred, opts);
    h.f1 = f1.ok() ? f1->avg_f_score : nan;
    absl::StatusOr<double> bacc = eval::BalancedAccuracy(p.labels, pred);
    h.bacc = bacc.ok() ? *bacc : nan;
    m.heads[name] = h;
  }
  return m;
}

// The live parameters (or buffers) of the MIL model and, when fine-tuned,
// of the backbone (`inst_encoder.backbone.*`).
train::NamedTensors Collect(MilModel& model, const FeatureExtractor* online, bool buffers) {
  train::NamedTensors out;
  for (const auto& t : buffers ? model->named_buffers() : model->named_parameters()) {
    out.emplace_back(t.key(), t.value());
  }
  if (online != nullptr) {
    for (auto& t : buffers ? online->NamedBuffers() : online->NamedParameters()) {
      out.push_back(std::move(t));
    }
  }
  return out;
}
train::NamedTensors Parameters(MilModel& model, const FeatureExtractor* online) {
  return Collect(model, online, /*buffers=*/false);
}
train::NamedTensors Buffers(MilModel& model, const FeatureExtractor* online) {
  return Collect(model, online, /*buffers=*/true);
}

core::StateDict ModelState(MilModel& model, const FeatureExtractor* online) {
  core::StateDict state;
  for (const train::NamedTensors& list : {Parameters(model, online), Buffers(model, online)}) {
    for (const auto& [name, t] : list) state.emplace_back(name, t.detach().clone());
  }
  return state;
}

absl::Status LoadModelState(MilModel& model, const FeatureExtractor* online,
                            const core::StateDict& state, const std::string& source) {
  std::map<std::string, at::Tensor> by_name(state.begin(), state.end());
  at::NoGradGuard no_grad;
  size_t used = 0;
  auto load = [&](const std::string& name, at::Tensor target) -> absl::Status {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": missing tensor ", name));
    }
    if (it->second.sizes() != target.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": ", name, " has shape ",
                                                     c10::str(it->second.sizes()), ", model ",
                                                     c10::str(target.sizes())));
    }
    target.copy_(it->second);
    ++used;
    return absl::OkStatus();
  };
  for (const train::NamedTensors& list : {Parameters(model, online), Buffers(model, online)}) {
    for (const auto& [name, t] : list) MVL_RETURN_IF_ERROR(load(name, t));
  }
  if (used != by_name.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": ", by_name.size() - used, " tensors the model does not have",
        online == nullptr ? " (weights of a fine-tuned backbone need features.trainable)" : ""));
  }
  return absl::OkStatus();
}

std::string MetricsCsv(const std::map<std::string, SplitMetrics>& splits) {
  std::string csv = "split,head,auc,f1_weighted,balanced_accuracy\n";
  for (const auto& [split, m] : splits) {
    for (const auto& [head, h] : m.heads) {
      absl::StrAppendFormat(&csv, "%s,%s,%.6f,%.6f,%.6f\n", split, head, h.auc, h.f1, h.bacc);
    }
  }
  return csv;
}

std::string BestModelPath(const MilPipelineConfig& config) {
  return JoinPath(config.output_dir(), "best_model.safetensors");
}

// Per-channel mean and standard deviation of each map.
struct FeatureStats {
  std::vector<at::Tensor> mean, std;  // [C_l] per level
};

std::string StatsPath(const MilPipelineConfig& config) {
  return JoinPath(config.output_dir(), "feature_stats.safetensors");
}

FeatureStats ComputeStats(const std::vector<ImageFeatures>& features,
                          const std::vector<int>& indices) {
  FeatureStats stats;
  const size_t levels = features[indices[0]].maps.size();
  for (size_t l = 0; l < levels; ++l) {
    at::Tensor sum, sq;
    double count = 0;
    for (int i : indices) {
      const at::Tensor m = features[i].maps[l].to(at::kDouble);
      const at::Tensor s1 = m.sum({0, 2, 3}), s2 = (m * m).sum({0, 2, 3});
      sum = sum.defined() ? sum + s1 : s1;
      sq = sq.defined() ? sq + s2 : s2;
      count += static_cast<double>(m.numel() / m.size(1));
    }
    const at::Tensor mean = sum / count;
    const at::Tensor var = (sq / count - mean * mean).clamp_min(0);
    stats.mean.push_back(mean.to(at::kFloat));
    stats.std.push_back(var.sqrt().clamp_min(1e-6).to(at::kFloat));
  }
  return stats;
}

void Standardize(ImageFeatures& f, const FeatureStats& stats) {
  for (size_t l = 0; l < f.maps.size() && l < stats.mean.size(); ++l) {
    const int64_t c = stats.mean[l].numel();
    f.maps[l] = ((f.maps[l] - stats.mean[l].view({1, c, 1, 1})) / stats.std[l].view({1, c, 1, 1}))
                    .contiguous();
  }
}

absl::Status WriteStats(const std::string& path, const FeatureStats& stats) {
  core::StateDict state;
  for (size_t l = 0; l < stats.mean.size(); ++l) {
    state.emplace_back(absl::StrCat("mean_", l), stats.mean[l]);
    state.emplace_back(absl::StrCat("std_", l), stats.std[l]);
  }
  return core::WriteStateDict(path, state);
}

absl::StatusOr<FeatureStats> ReadStats(const std::string& path, size_t levels) {
  MVL_ASSIGN_OR_RETURN(core::StateDict state, core::LoadStateDict(path));
  std::map<std::string, at::Tensor> by_name(state.begin(), state.end());
  FeatureStats stats;
  for (size_t l = 0; l < levels; ++l) {
    auto m = by_name.find(absl::StrCat("mean_", l)), s = by_name.find(absl::StrCat("std_", l));
    if (m == by_name.end() || s == by_name.end() || m->second.numel() != s->second.numel()) {
      return absl::DataLossError(absl::StrCat(path, ": no mean_", l, "/std_", l));
    }
    stats.mean.push_back(m->second.to(at::kFloat));
    stats.std.push_back(s->second.to(at::kFloat));
  }
  return stats;
}

absl::Status RoiEval(const MilPipelineConfig& config, MilModel& model,
                     FeatureExtractor& extractor, const std::vector<MilImage>& images,
                     const FeatureStats* stats, MilRunResult& result) {
  const RoiEvalConfig& roi = config.roi_eval();
  if (config.model().pooling().has_mean() || config.model().pooling().has_max()) {
    return absl::FailedPreconditionError("roi_eval needs attention pooling (mean/max give none)");
  }
  PatchingConfig patching = config.patching();
  patching.set_overlap(roi.overlap());
  const std::vector<std::string> names = HeadNames(model);
  std::vector<DetectionAccumulator> acc(names.size(), DetectionAccumulator(roi.matching()));
  std::vector<int> chosen;
  for (size_t i = 0; i < images.size(); ++i) {
    if (images[i].test && images[i].label == 1 && !images[i].boxes.empty()) chosen.push_back(i);
  }
  if (chosen.empty()) {
    return absl::FailedPreconditionError("roi_eval: no positive test image with a target box");
  }
  const std::string overlay_dir = JoinPath(config.output_dir(), "overlays");
  core::ProgressOptions progress_options;
  progress_options.unit = "img";
  core::ProgressReporter progress("mil roi_eval", static_cast<int64_t>(chosen.size()),
                                  progress_options);
  const bool was_training = model->is_training();
  model->eval();
  int64_t boxes = 0;
  for (size_t k = 0; k < chosen.size(); ++k) {
    const MilImage& image = images[chosen[k]];
    MVL_ASSIGN_OR_RETURN(at::Tensor grey, ReadGreyImage(image.path));
    MVL_ASSIGN_OR_RETURN(ImageFeatures f, extractor.Extract(grey, patching));
    if (stats != nullptr) Standardize(f, *stats);
    MilOutput out;
    MVL_RETURN_IF_ERROR(core::RunTorch("roi_eval forward", [&]() -> absl::Status {
      at::NoGradGuard no_grad;
      std::vector<at::Tensor> maps;
      for (const at::Tensor& m : f.maps) maps.push_back(m.unsqueeze(0));
      out = model->Forward(maps);
      return absl::OkStatus();
    }));
    std::vector<at::Tensor> attention;
    for (const at::Tensor& a : out.instance_attention) attention.push_back(a[0].to(at::kFloat));
    std::vector<double> weights;
    const at::Tensor w = out.scale_weights[0].to(at::kDouble).contiguous();
    for (int64_t s = 0; s < w.numel(); ++s) weights.push_back(w[s].item<double>());
    const cv::Mat grey8_unpadded = [&] {
      cv::Mat m(grey.size(0), grey.size(1), CV_32F, grey.data_ptr<float>());
      cv::Mat u8;
      m.convertTo(u8, CV_8U, 255.0);  // the reference truncates; OpenCV rounds
      return u8;
    }();
    cv::Mat mask;
    if (roi.heatmap().tissue_mask().enabled()) {
      MVL_ASSIGN_OR_RETURN(cv::Mat unpadded, TissueMask(grey8_unpadded, roi.heatmap().tissue_mask()));
      mask = cv::Mat::zeros(f.padded_height, f.padded_width, CV_8UC1);
      unpadded.copyTo(mask(cv::Rect(f.padding.left, f.padding.top, unpadded.cols, unpadded.rows)));
    }
    MVL_ASSIGN_OR_RETURN(
        ImageHeatmaps maps,
        BuildHeatmaps(attention, model->layout().grid_sides, f.coords, patching.patch_size(),
                      f.padded_height, f.padded_width, mask, weights, roi.heatmap()));
    std::vector<BoxF> gt;
    for (const BoxF& b : image.boxes) gt.push_back(ToPaddedFrame(b, f.padding));
    boxes += static_cast<int64_t>(gt.size());
    std::vector<cv::Mat> panels;
    std::vector<std::string> titles;
    cv::Mat grey8 = cv::Mat::zeros(f.padded_height, f.padded_width, CV_8UC1);
    grey8_unpadded.copyTo(
        grey8(cv::Rect(f.padding.left, f.padding.top, grey8_unpadded.cols, grey8_unpadded.rows)));
    for (size_t m = 0; m < names.size(); ++m) {
      const cv::Mat& heatmap = m + 1 < names.size() ? maps.per_scale[m] : maps.aggregated;
      MVL_ASSIGN_OR_RETURN(std::vector<ScoredBox> detected, BoxesFromHeatmap(heatmap, roi.boxes()));
      acc[m].AddImage(detected, gt);
      if (static_cast<int>(k) < roi.overlays()) {
        panels.push_back(RenderOverlay(grey8, heatmap, detected, gt));
        titles.push_back(names[m]);
      }
    }
    if (!panels.empty()) {
      MVL_RETURN_IF_ERROR(core::MakeDirectories(overlay_dir));
      MVL_RETURN_IF_ERROR(WritePanels(
          JoinPath(overlay_dir, absl::StrCat(k, "_", image.id, ".png")), panels, titles));
    }
    progress.Add();
  }
  progress.Finish();
  model->train(was_training);
  std::string csv = "map,ap,ap_11_point,detections,true_positives,ground_truth\n";
  for (size_t m = 0; m < names.size(); ++m) {
    MVL_ASSIGN_OR_RETURN(AveragePrecisionResult ap, acc[m].Result());
    result.roi_ap[names[m]] = ap.ap;
    absl::StrAppendFormat(&csv, "%s,%.6f,%.6f,%d,%d,%d\n", names[m], ap.ap, ap.ap_11_point,
                          ap.num_detections, ap.num_true_positives, ap.num_ground_truth);
    LOG(INFO) << "roi_eval " << names[m] << ": AP " << ap.ap << " (" << ap.num_true_positives
              << " TP of " << ap.num_detections << " detections, " << ap.num_ground_truth
              << " boxes)";
  }
  result.roi_images = static_cast<int64_t>(chosen.size());
  result.roi_boxes = boxes;
  return core::WriteFileAtomically(JoinPath(config.output_dir(), "roi_eval_results.csv"), csv);
}

}  // namespace

absl::StatusOr<MilRunResult> RunMilPipeline(const MilPipelineConfig& config,
                                            const std::string& mode) {
  if (mode != "train" && mode != "evaluate" && mode != "extract_features" &&
      mode != "roi_eval") {
    return absl::InvalidArgumentError(absl::StrCat(
        "mode '", mode, "': expected train, evaluate, extract_features or roi_eval"));
  }
  MVL_RETURN_IF_ERROR(ValidateMilPipelineConfig(config));
  MVL_RETURN_IF_ERROR(core::MakeDirectories(config.output_dir()));
  MVL_ASSIGN_OR_RETURN(std::vector<MilImage> images, LoadMilImages(config));
  MilRunResult result;
  if (mode == "extract_features") {
    if (config.features().cache_dir().empty()) {
      return absl::InvalidArgumentError("extract_features needs features.cache_dir");
    }
    if (config.features().trainable()) {
      return absl::InvalidArgumentError(
          "extract_features: features.trainable fine-tunes the backbone online; offline "
          "features are of a frozen backbone");
    }
    MVL_RETURN_IF_ERROR(ExtractAllFeatures(config, images).status());
    return result;
  }
  MVL_ASSIGN_OR_RETURN(MilModel model, BuildMilModel(config.model(), config.patching()));
  const size_t levels = BackboneChannelsOf(config.model()).size();
  std::optional<FeatureStats> stats;
  if (config.features().standardize() && mode != "train") {
    MVL_ASSIGN_OR_RETURN(stats, ReadStats(StatsPath(config), levels));
  }
  // A fine-tuned backbone is part of the model from the start; a frozen one
  // is built when detection needs it (offline features need none).
  std::unique_ptr<FeatureExtractor> extractor;
  if (config.features().trainable()) {
    MVL_ASSIGN_OR_RETURN(extractor, FeatureExtractor::Create(config));
  }
  FeatureExtractor* const online = extractor.get();
  auto detection_backbone = [&]() -> absl::StatusOr<FeatureExtractor*> {
    if (extractor == nullptr) {
      MVL_ASSIGN_OR_RETURN(extractor, FeatureExtractor::Create(config));
    }
    return extractor.get();
  };
  if (mode == "roi_eval") {
    MVL_ASSIGN_OR_RETURN(core::StateDict best, core::LoadStateDict(BestModelPath(config)));
    MVL_RETURN_IF_ERROR(LoadModelState(model, online, best, BestModelPath(config)));
    MVL_ASSIGN_OR_RETURN(FeatureExtractor * backbone, detection_backbone());
    MVL_RETURN_IF_ERROR(
        RoiEval(config, model, *backbone, images, stats ? &*stats : nullptr, result));
    return result;
  }
  if (config.features().num_shards() != 1) {
    return absl::InvalidArgumentError("features.num_shards > 1 is for extract_features only");
  }
  std::vector<ImageFeatures> features;
  if (online == nullptr) {
    MVL_ASSIGN_OR_RETURN(features, ExtractAllFeatures(config, images));
  }
  const BatchMapsFn batch_maps = [&](const std::vector<int>& batch)
      -> absl::StatusOr<std::vector<at::Tensor>> {
    if (online != nullptr) {
      return OnlineBatchMaps(*online, images, batch, config.patching(), nullptr);
    }
    std::vector<at::Tensor> maps;
    MVL_RETURN_IF_ERROR(core::RunTorch("batch of features", [&]() -> absl::Status {
      maps = BatchMaps(features, batch);
      return absl::OkStatus();
    }));
    return maps;
  };

  // Split: test = the table's test images; validation = the first
  // StratifiedGroupKFold fold of the rest by patient.
  std::vector<int> dev, train_idx, valid_idx, test_idx;
  for (size_t i = 0; i < images.size(); ++i) {
    (images[i].test ? test_idx : dev).push_back(static_cast<int>(i));
  }
  const MilTrainingConfig& t = config.training();
  {
    std::vector<int> labels;
    std::vector<std::string> groups;
    for (int i : dev) {
      labels.push_back(images[i].label);
      groups.push_back(images[i].patient_id);
    }
    MVL_ASSIGN_OR_RETURN(std::vector<int> folds,
                         StratifiedGroupKFold(labels, groups, t.valid_splits()));
    for (size_t k = 0; k < dev.size(); ++k) (folds[k] == 0 ? valid_idx : train_idx).push_back(dev[k]);
  }
  result.train_images = static_cast<int64_t>(train_idx.size());
  result.valid_images = static_cast<int64_t>(valid_idx.size());
  result.test_images = static_cast<int64_t>(test_idx.size());
  LOG(INFO) << "images: train " << train_idx.size() << ", valid " << valid_idx.size()
            << ", test " << test_idx.size();
  if (config.features().standardize()) {
    if (mode == "train") {
      if (train_idx.empty()) return absl::FailedPreconditionError("no training images");
      stats = ComputeStats(features, train_idx);
      MVL_RETURN_IF_ERROR(WriteStats(StatsPath(config), *stats));
    }
    for (ImageFeatures& f : features) {
      if (!f.maps.empty()) Standardize(f, *stats);
    }
  }

  if (mode == "train") {
    if (static_cast<int>(train_idx.size()) < t.batch_size()) {
      return absl::FailedPreconditionError(absl::StrCat(
          train_idx.size(), " training images, fewer than one batch of ", t.batch_size()));
    }
    double pos_weight = t.pos_weight();
    if (pos_weight == 0) {
      int64_t pos = 0;
      for (int i : train_idx) pos += images[i].label;
      if (pos == 0) return absl::FailedPreconditionError("no positive training image");
      pos_weight = static_cast<double>(train_idx.size() - pos) / static_cast<double>(pos);
    }
    const int64_t per_epoch = static_cast<int64_t>(train_idx.size()) / t.batch_size();
    train::TrainConfig tc = t.trainer();
    tc.set_max_steps(per_epoch * t.epochs());
    train::NamedTensors params = Parameters(model, online);
    train::NamedTensors buffers = Buffers(model, online);
    const std::string run_dir = JoinPath(config.output_dir(), "train");
    train::TrainerOptions options;
    options.run_dir = run_dir;
    options.config_text = core::ToTextProto(config);
    absl::Status eval_status;
    double best_auc = -1;
    core::StateDict best_state;
    options.after_step = [&](int64_t done) {
      if (!eval_status.ok() || done % per_epoch != 0) return;
      const int64_t epoch = done / per_epoch;
      if (epoch % t.eval_every_epochs() != 0 && done != tc.max_steps()) return;
      absl::StatusOr<Predictions> p =
          Predict(model, online, batch_maps, images, valid_idx, t.batch_size());
      if (!p.ok()) {
        eval_status = p.status();
        return;
      }
      const SplitMetrics m = Score(*p, t.threshold());
      const double auc = m.heads.at("aggregated").auc;
      LOG(INFO) << "epoch " << epoch << ": validation AUC " << auc;
      if (std::isfinite(auc) && auc > best_auc) {
        best_auc = auc;
        best_state = ModelState(model, online);
        result.best_epoch = static_cast<int>(epoch);
        result.best_valid_auc = auc;
        result.valid = m;
        eval_status = core::WriteStateDict(BestModelPath(config), best_state);
      }
    };
    MVL_ASSIGN_OR_RETURN(std::unique_ptr<train::Trainer> trainer,
                         train::Trainer::Create(tc, params, buffers, options));
    model->train();
    if (online != nullptr) online->SetTraining(true);
    std::mt19937_64 rng(tc.seed());
    std::mt19937_64 flip_rng(tc.seed() + 1);
    std::vector<std::vector<int>> orders;  // per epoch, drawn on first use
    auto order_of = [&](int64_t epoch) -> const std::vector<int>& {
      while (static_cast<int64_t>(orders.size()) <= epoch) {
        std::vector<int> order = train_idx;
        std::shuffle(order.begin(), order.end(), rng);
        orders.push_back(std::move(order));
      }
      return orders[epoch];
    };
    const std::vector<std::string> names = HeadNames(model);
    auto step = [&](const train::StepContext& ctx) -> absl::StatusOr<train::StepOutput> {
      const int64_t batch_index = ctx.step * ctx.grad_accum_steps + ctx.micro_step;
      const int64_t epoch = batch_index / per_epoch;
      const int64_t offset = (batch_index % per_epoch) * t.batch_size();
      const std::vector<int>& order = order_of(epoch);
      const std::vector<int> batch(order.begin() + offset, order.begin() + offset + t.batch_size());
      train::StepOutput so;
      std::vector<at::Tensor> maps;
      if (online != nullptr) {
        MVL_ASSIGN_OR_RETURN(maps, OnlineBatchMaps(*online, images, batch, config.patching(),
                                                   t.flip_augmentation() ? &flip_rng : nullptr));
      } else {
        MVL_ASSIGN_OR_RETURN(maps, batch_maps(batch));
      }
      MVL_RETURN_IF_ERROR(core::RunTorch("MIL training step", [&]() -> absl::Status {
        std::vector<float> y;
        for (int i : batch) y.push_back(static_cast<float>(images[i].label));
        const at::Tensor target = at::tensor(y);
        MilOutput o = model->Forward(maps);
        at::Tensor loss = at::zeros({}, at::kFloat);
        if (o.logits.defined()) {
          const at::Tensor final_loss = WeightedBce(o.logits, target, pos_weight);
          so.metrics.emplace_back("loss_aggregated", final_loss.item<double>());
          loss = loss + final_loss;
        }
        for (size_t s = 0; s < o.side_logits.size(); ++s) {
          const at::Tensor side = WeightedBce(o.side_logits[s], target, pos_weight);
          so.metrics.emplace_back("loss_" + names[s], side.item<double>());
          loss = loss + side;
        }
        so.loss = loss;
        return absl::OkStatus();
      }));
      so.samples = static_cast<int64_t>(batch.size());
      return so;
    };
    MVL_ASSIGN_OR_RETURN(train::TrainResult tr,
                         trainer->Run(step, train::ResumableState{
                                                [] { return std::string(); },
                                                [](absl::string_view) { return absl::OkStatus(); }}));
    MVL_RETURN_IF_ERROR(eval_status);
    LOG(INFO) << "trained " << tr.steps << " steps; best validation AUC " << best_auc
              << " at epoch " << result.best_epoch;
    if (online != nullptr) online->SetTraining(false);
    if (!best_state.empty()) {
      MVL_RETURN_IF_ERROR(LoadModelState(model, online, best_state, "best weights"));
    } else {
      LOG(WARNING) << "validation AUC undefined (one class in the validation set); "
                      "keeping the last weights";
      MVL_RETURN_IF_ERROR(
          core::WriteStateDict(BestModelPath(config), ModelState(model, online)));
    }
  } else {  // evaluate
    MVL_ASSIGN_OR_RETURN(core::StateDict best, core::LoadStateDict(BestModelPath(config)));
    MVL_RETURN_IF_ERROR(LoadModelState(model, online, best, BestModelPath(config)));
  }

  std::map<std::string, SplitMetrics> summary;
  if (!valid_idx.empty()) {
    MVL_ASSIGN_OR_RETURN(Predictions pv, Predict(model, online, batch_maps, images, valid_idx,
                                                 config.training().batch_size()));
    result.valid = Score(pv, t.threshold());
    summary["valid"] = result.valid;
  }
  if (!test_idx.empty()) {
    MVL_ASSIGN_OR_RETURN(Predictions pt, Predict(model, online, batch_maps, images, test_idx,
                                                 config.training().batch_size()));
    result.test = Score(pt, t.threshold());
    summary["test"] = result.test;
    std::string csv = "image_id,patient_id,label";
    for (const auto& [head, probs] : pt.heads) absl::StrAppend(&csv, ",prob_", head);
    csv += "\n";
    for (size_t k = 0; k < test_idx.size(); ++k) {
      const MilImage& im = images[test_idx[k]];
      absl::StrAppend(&csv, im.id, ",", im.patient_id, ",", im.label);
      for (const auto& [head, probs] : pt.heads) absl::StrAppendFormat(&csv, ",%.6f", probs[k]);
      csv += "\n";
    }
    MVL_RETURN_IF_ERROR(
        core::WriteFileAtomically(JoinPath(config.output_dir(), "predictions_test.csv"), csv));
    LOG(INFO) << "test AUC (aggregated) " << result.test.heads["aggregated"].auc;
  }
  MVL_RETURN_IF_ERROR(core::WriteFileAtomically(
      JoinPath(config.output_dir(), "results_summary.csv"), MetricsCsv(summary)));
  if (mode == "train" && config.roi_eval().after_training()) {
    absl::Status roi = detection_backbone().status();
    if (roi.ok()) {
      roi = RoiEval(config, model, *extractor, images, stats ? &*stats : nullptr, result);
    }
    if (absl::IsFailedPrecondition(roi)) {
      LOG(WARNING) << "no lesion detection: " << roi.message();
    } else if (!roi.ok()) {
      return roi;
    }
  }
  return result;
}

}  // namespace mammovl::mil
