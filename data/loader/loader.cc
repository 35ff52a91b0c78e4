#include "data/loader/loader.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <utility>

#include <ATen/Context.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/narrow.h>
#include <ATen/ops/full.h>
#include <glog/logging.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/status_macros.h"
#include "core/thread_pool.h"
#include "core/torch_status.h"
#include "data/datasets/pairing.h"
#include "data/loader/png_decoder.h"
#include "data/transforms/pipelines.h"
#include "data/transforms/rng.h"

namespace mammovl::data {
namespace {

struct SampleResult {
  absl::Status status;
  std::vector<cv::Mat> images;  // one per image slot, CV_32FC1 or CV_32FC3
  std::vector<std::string> texts;
  std::vector<std::vector<int64_t>> tokens;
};

struct Pending {
  int64_t global = 0;
  LoaderPosition position;
  bool last_in_epoch = false;
  std::vector<int64_t> indices;
  std::vector<SampleResult> results;
  // Batch tensors allocated up front when every slot has a fixed size:
  // workers write each sample straight into its row.
  std::vector<at::Tensor> tensors;
  std::atomic<int> remaining{0};
  int64_t reserved = 0;
};

// Copies an HWC float image into a CHW slice, replicating one channel to
// `channels` when needed.
void CopyToChw(const cv::Mat& m, int channels, float* out) {
  const int h = m.rows, w = m.cols, src_c = m.channels();
  if (src_c == 1) {
    for (int y = 0; y < h; ++y) {
      std::memcpy(out + static_cast<size_t>(y) * w, m.ptr<float>(y), sizeof(float) * w);
    }
    for (int c = 1; c < channels; ++c) {
      std::memcpy(out + static_cast<size_t>(c) * h * w, out, sizeof(float) * h * w);
    }
    return;
  }
  for (int y = 0; y < h; ++y) {
    const float* in = m.ptr<float>(y);
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < src_c; ++c) {
        out[(static_cast<size_t>(c) * h + y) * w + x] = in[x * src_c + c];
      }
    }
  }
}

}  // namespace

absl::StatusOr<cv::Mat> ReadGrayImage(const std::string& path, int64_t max_pixels) {
  absl::StatusOr<std::string> bytes = core::ReadFileToString(path);
  if (!bytes.ok()) {
    return absl::Status(bytes.status().code(), absl::StrCat("cannot open image '", path, "'"));
  }
  cv::Mat img;
  absl::StatusOr<cv::Mat> fast = DecodeGrayPng(*bytes, path, max_pixels);
  if (fast.ok()) {
    img = std::move(*fast);
  } else if (absl::IsUnimplemented(fast.status()) ||
             bytes->compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
    // Not a PNG the fast decoder handles (or not a PNG at all): OpenCV. A
    // PNG's size was checked against max_pixels from its header above;
    // other formats are checked once decoded.
    const cv::Mat buffer(1, static_cast<int>(bytes->size()), CV_8UC1, bytes->data());
    img = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
    if (img.empty()) return absl::DataLossError(absl::StrCat("cannot decode image '", path, "'"));
    MVL_RETURN_IF_ERROR(CheckImagePixels(img.cols, img.rows, max_pixels, path));
  } else {
    return fast.status();
  }
  if (img.channels() == 3) {
    cv::Mat gray;
    cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
    img = gray;
  } else if (img.channels() != 1) {
    return absl::DataLossError(
        absl::StrCat("image '", path, "' has ", img.channels(), " channels"));
  }
  if (img.depth() == CV_16U) {
    cv::Mat eight;
    img.convertTo(eight, CV_8U, 1.0 / 257.0);
    img = eight;
  } else if (img.depth() != CV_8U) {
    return absl::DataLossError(absl::StrCat("image '", path, "' has an unsupported depth"));
  }
  return img;
}

struct Loader::Impl {
  LoaderConfig config;
  std::shared_ptr<const std::vector<Sample>> samples;
  std::unique_ptr<ExampleDrawer> drawer;
  std::vector<ImageTransform> transforms;
  LoaderOptions options;
  int image_slots = 1;
  int64_t batches_per_epoch = 0;
  // Every slot's transform has a fixed output size: batches are allocated
  // when scheduled and filled in place.
  bool direct = false;
  std::vector<int> slot_channels;  // output channels per slot (direct mode)

  // Scheduling state, touched by the consumer thread only.
  LoaderPosition next_schedule;
  int64_t next_consume = 0;  // global batch index
  std::map<int64_t, std::vector<std::vector<int64_t>>> epochs;

  mutable std::mutex mu;
  std::condition_variable ready_cv;
  std::map<int64_t, std::shared_ptr<Pending>> in_flight;  // not yet assembled
  std::map<int64_t, std::pair<absl::StatusOr<Batch>, int64_t>> ready;  // batch, bytes
  int64_t bytes = 0;
  int64_t peak_bytes = 0;
  int64_t estimate = 0;  // bytes of one batch's tensors, 0 until known
  int64_t failures = 0;
  std::vector<std::string> first_failures;
  int64_t batches_out = 0, samples_out = 0;
  bool stopping = false;
  // The last batch tensors given out. Once the consumer has dropped one
  // (its storage is referenced only from here) it is filled again instead
  // of allocating and page-faulting fresh memory for every batch.
  std::deque<at::Tensor> handed_out;

  std::unique_ptr<core::ThreadPool> pool;

  // Returns a recycled tensor of `shape` or a new one. Requires `mu`.
  at::Tensor AcquireLocked(at::IntArrayRef shape, const at::TensorOptions& options) {
    for (auto it = handed_out.begin(); it != handed_out.end(); ++it) {
      if (it->sizes() == shape && it->storage().use_count() == 1 && it->use_count() == 1) {
        at::Tensor t = std::move(*it);
        handed_out.erase(it);
        return t;
      }
    }
    return at::empty(shape, options);
  }

  const ImageTransform& SlotTransform(int slot) const {
    return transforms[std::min<size_t>(slot, transforms.size() - 1)];
  }

  int64_t Global(const LoaderPosition& p) const { return p.epoch * batches_per_epoch + p.batch; }

  const std::vector<std::vector<int64_t>>& EpochOrder(int64_t epoch) {
    auto it = epochs.find(epoch);
    if (it == epochs.end()) {
      it = epochs
               .emplace(epoch, EpochBatches(static_cast<int64_t>(samples->size()), config.batch_size(),
                                            config.seed(), epoch, config.shuffle(),
                                            config.drop_last(), options.shard))
               .first;
      // Keep the order of the two epochs a consumer and scheduler can span.
      while (epochs.size() > 2) epochs.erase(epochs.begin());
    }
    return it->second;
  }

  // Estimated bytes of one batch (tensors), from the transforms' fixed
  // output sizes; 0 when a transform keeps the input size.
  int64_t StaticEstimate() const {
    int64_t total = 0;
    for (int slot = 0; slot < image_slots; ++slot) {
      const ImageTransform& t = transforms[std::min<size_t>(slot, transforms.size() - 1)];
      if (t.output_size().area() == 0) return 0;
      const int channels = std::max(t.channels(), config.output_channels());
      total += static_cast<int64_t>(config.batch_size()) * channels * t.output_size().area() * 4;
    }
    return total;
  }

  // Schedules batches while the byte budget allows (at least one).
  void Schedule() {
    while (true) {
      std::shared_ptr<Pending> p;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stopping) return;
        const int64_t outstanding = static_cast<int64_t>(in_flight.size() + ready.size());
        // Until a batch has been built its size is unknown: one at a time.
        // Without in-place writing, per-sample images and the batch tensor
        // coexist: count the batch twice.
        const int64_t cost = direct ? estimate : 2 * estimate;
        const bool nothing_pending = outstanding == 0;
        const bool fits = estimate > 0 && bytes + cost <= config.prefetch_bytes();
        // Intermediate per-sample images live until assembly: cap the
        // batches being built to what the workers can work on.
        const bool workers_free =
            static_cast<int64_t>(in_flight.size()) <= pool->num_threads();
        if (!nothing_pending && !(fits && workers_free)) return;
        p = std::make_shared<Pending>();
        p->global = Global(next_schedule);
        p->position = next_schedule;
        p->indices = EpochOrder(next_schedule.epoch)[next_schedule.batch];
        p->last_in_epoch = next_schedule.batch + 1 == batches_per_epoch;
        p->results.resize(p->indices.size());
        if (direct) {
          absl::Status allocated = core::RunTorch("allocating a batch", [&] {
            const bool pin = config.pin_memory() && at::globalContext().hasCUDA();
            for (int slot = 0; slot < image_slots; ++slot) {
              const cv::Size size = SlotTransform(slot).output_size();
              p->tensors.push_back(AcquireLocked(
                  {static_cast<int64_t>(p->indices.size()), slot_channels[slot], size.height, size.width},
                  at::TensorOptions().dtype(at::kFloat).pinned_memory(pin)));
            }
          });
          for (SampleResult& r : p->results) r.status = allocated;
        }
        p->remaining = static_cast<int>(p->indices.size());
        p->reserved = cost;
        bytes += cost;
        peak_bytes = std::max(peak_bytes, bytes);
        in_flight[p->global] = p;
      }
      if (++next_schedule.batch == batches_per_epoch) {
        next_schedule.batch = 0;
        ++next_schedule.epoch;
      }
      for (size_t k = 0; k < p->indices.size(); ++k) {
        pool->Schedule([this, p, k] {
          ProcessSample(*p, k);
          if (--p->remaining == 0) Assemble(p);
        });
      }
    }
  }

  void ProcessSample(Pending& p, size_t k) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return;
    }
    SampleResult& r = p.results[k];
    if (!r.status.ok()) return;  // the batch could not be allocated
    const int64_t index = p.indices[k];
    const Sample& s = (*samples)[index];
    Rng rng(DeriveSeed(config.seed(), {0xA116, static_cast<uint64_t>(p.position.epoch),
                                       static_cast<uint64_t>(index)}));
    absl::StatusOr<Example> ex = drawer->Draw(s, rng);
    if (!ex.ok()) {
      r.status = ex.status();
      return;
    }
    std::vector<std::pair<std::string, cv::Mat>> decoded;  // read each file once
    for (int slot = 0; slot < image_slots; ++slot) {
      const ImageRef& ref = ex->images[std::min<size_t>(slot, ex->images.size() - 1)];
      cv::Mat img;
      for (const auto& [path, m] : decoded) {
        if (path == ref.path) img = m;
      }
      if (img.empty()) {
        absl::StatusOr<cv::Mat> read = ReadGrayImage(ref.path, config.max_image_pixels());
        if (!read.ok()) {
          r.status = absl::Status(read.status().code(),
                                  absl::StrCat("sample '", s.id, "': ", read.status().message()));
          return;
        }
        img = *read;
        decoded.emplace_back(ref.path, img);
      }
      const ImageTransform& t = SlotTransform(slot);
      Rng slot_rng(DeriveSeed(rng.NextU64(), {static_cast<uint64_t>(slot)}));
      absl::Status applied;
      if (direct) {
        at::Tensor& batch = p.tensors[slot];
        float* row = batch.data_ptr<float>() + static_cast<int64_t>(k) * batch.stride(0);
        applied = t.ApplyInto(img, slot_rng, slot_channels[slot], row);
      } else {
        absl::StatusOr<cv::Mat> out = t.Apply(img, slot_rng);
        applied = out.status();
        if (out.ok()) r.images.push_back(std::move(*out));
      }
      if (!applied.ok()) {
        r.status = absl::Status(applied.code(), absl::StrCat("sample '", s.id, "' image '",
                                                             ref.path, "': ", applied.message()));
        return;
      }
    }
    r.texts = ex->texts;
    if (options.tokenize) {
      for (const std::string& text : r.texts) {
        absl::StatusOr<std::vector<int64_t>> ids = options.tokenize(text);
        if (!ids.ok()) {
          r.status = absl::Status(ids.status().code(), absl::StrCat("sample '", s.id,
                                                                    "': tokenizer: ", ids.status().message()));
          return;
        }
        r.tokens.push_back(std::move(*ids));
      }
    }
  }

  void Assemble(const std::shared_ptr<Pending>& p) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return;
    }
    absl::StatusOr<Batch> result = core::RunTorch("building a batch", [&]() -> absl::StatusOr<Batch> {
      return Build(*p);
    });
    int64_t actual = 0;
    if (result.ok()) {
      for (const at::Tensor& t : result->images) actual += static_cast<int64_t>(t.nbytes());
    }
    std::lock_guard<std::mutex> lock(mu);
    bytes += actual - p->reserved;
    peak_bytes = std::max(peak_bytes, bytes);
    if (result.ok() && actual > 0 && result->size() == config.batch_size()) {
      estimate = std::max(estimate, actual);
    } else if (result.ok() && actual > 0 && estimate == 0) {
      estimate = actual * config.batch_size() / std::max<int64_t>(1, result->size());
    }
    in_flight.erase(p->global);
    ready.emplace(p->global, std::make_pair(std::move(result), actual));
    ready_cv.notify_all();
  }

  // Gathers the successful samples of `p` into tensors; failed samples are
  // counted (SKIP) or make the batch an error (FAIL).
  absl::StatusOr<Batch> Build(Pending& p) {
    std::vector<size_t> ok;
    absl::Status first_error;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (size_t k = 0; k < p.results.size(); ++k) {
        SampleResult& r = p.results[k];
        // Every image slot must match the first good sample's geometry.
        if (!direct && r.status.ok() && !ok.empty()) {
          const SampleResult& ref = p.results[ok.front()];
          for (size_t s = 0; s < r.images.size(); ++s) {
            if (r.images[s].size() != ref.images[s].size() ||
                r.images[s].channels() != ref.images[s].channels()) {
              r.status = absl::InvalidArgumentError(absl::StrCat(
                  "sample '", (*samples)[p.indices[k]].id, "': image slot ", s, " is ",
                  r.images[s].cols, "x", r.images[s].rows, ", the batch's is ",
                  ref.images[s].cols, "x", ref.images[s].rows));
            }
          }
        }
        if (r.status.ok()) {
          ok.push_back(k);
          continue;
        }
        ++failures;
        if (first_failures.size() < 20) first_failures.emplace_back(r.status.message());
        if (first_error.ok()) first_error = r.status;
        LOG(WARNING) << "loader: skipping " << r.status.message();
      }
    }
    if (!first_error.ok() && config.failure_policy() == LoaderConfig::FAIL) return first_error;

    Batch batch;
    batch.position = p.position;
    batch.last_in_epoch = p.last_in_epoch;
    const int64_t b = static_cast<int64_t>(ok.size());
    for (size_t k : ok) {
      const Sample& s = (*samples)[p.indices[k]];
      batch.sample_indices.push_back(p.indices[k]);
      batch.sample_ids.push_back(s.id);
      batch.boxes.push_back(s.boxes);
    }
    if (b == 0) return batch;
    if (direct) {
      // Close the gaps of failed samples, then drop the unused rows.
      for (at::Tensor& t : p.tensors) {
        const int64_t row_bytes = t.stride(0) * static_cast<int64_t>(sizeof(float));
        char* base = static_cast<char*>(t.data_ptr());
        for (int64_t i = 0; i < b; ++i) {
          if (static_cast<int64_t>(ok[i]) != i) {
            std::memmove(base + i * row_bytes, base + ok[i] * row_bytes, row_bytes);
          }
        }
        batch.images.push_back(b == t.size(0) ? t : t.narrow(0, 0, b));
      }
      p.tensors.clear();
    }
    const bool pin = config.pin_memory() && at::globalContext().hasCUDA();
    const at::TensorOptions float_options = at::TensorOptions().dtype(at::kFloat).pinned_memory(pin);
    for (int slot = 0; !direct && slot < image_slots; ++slot) {
      const cv::Mat& first = p.results[ok.front()].images[slot];
      const int channels = std::max(first.channels(), config.output_channels());
      at::Tensor t = at::empty({b, channels, first.rows, first.cols}, float_options);
      float* dst = t.data_ptr<float>();
      const size_t plane = static_cast<size_t>(channels) * first.rows * first.cols;
      for (int64_t i = 0; i < b; ++i) {
        CopyToChw(p.results[ok[i]].images[slot], channels, dst + i * plane);
        p.results[ok[i]].images[slot].release();
      }
      batch.images.push_back(std::move(t));
    }
    size_t text_slots = 0;
    for (size_t k : ok) text_slots = std::max(text_slots, p.results[k].texts.size());
    batch.texts.assign(text_slots, std::vector<std::string>(b));
    for (int64_t i = 0; i < b; ++i) {
      const SampleResult& r = p.results[ok[i]];
      for (size_t t = 0; t < r.texts.size(); ++t) batch.texts[t][i] = r.texts[t];
    }
    if (options.tokenize) {
      const int64_t len = config.max_text_length();
      for (size_t t = 0; t < text_slots; ++t) {
        at::Tensor ids = at::full({b, len}, options.pad_id, at::TensorOptions().dtype(at::kLong));
        at::Tensor mask = at::full({b, len}, 0, at::TensorOptions().dtype(at::kLong));
        int64_t* id_ptr = ids.data_ptr<int64_t>();
        int64_t* mask_ptr = mask.data_ptr<int64_t>();
        for (int64_t i = 0; i < b; ++i) {
          const auto& tokens = p.results[ok[i]].tokens;
          if (t >= tokens.size()) continue;
          const int64_t n = std::min<int64_t>(len, static_cast<int64_t>(tokens[t].size()));
          for (int64_t j = 0; j < n; ++j) {
            id_ptr[i * len + j] = tokens[t][j];
            mask_ptr[i * len + j] = 1;
          }
        }
        batch.token_ids.push_back(std::move(ids));
        batch.attention_mask.push_back(std::move(mask));
      }
    }
    if (config.label_names_size() > 0) {
      const int64_t n = config.label_names_size();
      batch.labels = at::empty({b, n}, at::TensorOptions().dtype(at::kFloat));
      float* l = batch.labels.data_ptr<float>();
      for (int64_t i = 0; i < b; ++i) {
        const Sample& s = (*samples)[batch.sample_indices[i]];
        for (int64_t j = 0; j < n; ++j) {
          l[i * n + j] = s.HasLabel(config.label_names(j)) ? s.Label(config.label_names(j))
                                                          : std::numeric_limits<float>::quiet_NaN();
        }
      }
    }
    return batch;
  }
};

Loader::Loader(std::unique_ptr<Impl> impl, int64_t batches_per_epoch)
    : impl_(std::move(impl)), batches_per_epoch_(batches_per_epoch) {}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->pool.reset();  // runs the queued tasks (they return at once) and joins
}

absl::StatusOr<std::unique_ptr<Loader>> Loader::Create(
    const LoaderConfig& config, std::shared_ptr<const std::vector<Sample>> samples,
    const PairingConfig& pairing, const std::vector<TransformConfig>& transforms,
    LoaderOptions options) {
  if (config.batch_size() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("loader.batch_size must be > 0 (got ", config.batch_size(), ")"));
  }
  if (config.num_workers() < 0) return absl::InvalidArgumentError("loader.num_workers must be >= 0");
  if (config.prefetch_bytes() <= 0) return absl::InvalidArgumentError("loader.prefetch_bytes must be > 0");
  if (config.output_channels() != 1 && config.output_channels() != 3) {
    return absl::InvalidArgumentError("loader.output_channels must be 1 or 3");
  }
  if (config.failure_policy() == LoaderConfig::FAILURE_POLICY_UNSPECIFIED) {
    return absl::InvalidArgumentError("loader.failure_policy must be SKIP or FAIL");
  }
  if (config.max_text_length() <= 0) return absl::InvalidArgumentError("loader.max_text_length must be > 0");
  if (options.shard.world_size < 1 || options.shard.rank < 0 ||
      options.shard.rank >= options.shard.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("loader: bad shard rank ", options.shard.rank,
                                                   " of world size ", options.shard.world_size));
  }
  if (samples == nullptr || samples->empty()) {
    return absl::FailedPreconditionError("loader: the dataset has no samples");
  }
  if (transforms.empty()) return absl::InvalidArgumentError("loader: no transform given");
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->samples = std::move(samples);
  MVL_ASSIGN_OR_RETURN(ExampleDrawer drawer, ExampleDrawer::Create(pairing));
  impl->drawer = std::make_unique<ExampleDrawer>(std::move(drawer));
  for (const TransformConfig& t : transforms) {
    MVL_ASSIGN_OR_RETURN(ImageTransform built, ImageTransform::Create(t));
    impl->transforms.push_back(std::move(built));
  }
  impl->options = std::move(options);
  const int pairing_images = pairing.pairing_case() == PairingConfig::kSingle ||
                                     pairing.pairing_case() == PairingConfig::PAIRING_NOT_SET
                                 ? 1
                                 : 2;
  impl->image_slots = std::max<int>(pairing_images, static_cast<int>(impl->transforms.size()));
  impl->batches_per_epoch = BatchesPerEpoch(static_cast<int64_t>(impl->samples->size()),
                                            config.batch_size(), config.drop_last(), impl->options.shard);
  if (impl->batches_per_epoch == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "loader: ", impl->samples->size(), " samples give no full batch of ", config.batch_size(),
        " for this rank (drop_last)"));
  }
  const LoaderPosition start = impl->options.start;
  if (start.epoch < 0 || start.batch < 0 || start.batch >= impl->batches_per_epoch) {
    return absl::InvalidArgumentError(absl::StrCat("loader: start position (", start.epoch, ", ",
                                                   start.batch, ") is outside an epoch of ",
                                                   impl->batches_per_epoch, " batches"));
  }
  impl->direct = true;
  for (int slot = 0; slot < impl->image_slots; ++slot) {
    const ImageTransform& t = impl->SlotTransform(slot);
    impl->direct = impl->direct && t.output_size().area() > 0;
    impl->slot_channels.push_back(std::max(t.channels(), config.output_channels()));
  }
  impl->next_schedule = start;
  impl->next_consume = impl->Global(start);
  impl->estimate = impl->StaticEstimate();
  if (config.opencv_threads() > 0) cv::setNumThreads(config.opencv_threads());
  const int workers = config.num_workers() > 0 ? config.num_workers() : core::ThreadPool::HardwareThreads();
  impl->pool = std::make_unique<core::ThreadPool>(workers);
  const int64_t bpe = impl->batches_per_epoch;
  return std::unique_ptr<Loader>(new Loader(std::move(impl), bpe));
}

absl::StatusOr<Batch> Loader::Next() {
  Impl& m = *impl_;
  while (true) {
    m.Schedule();
    std::pair<absl::StatusOr<Batch>, int64_t> entry{absl::UnknownError(""), 0};
    {
      std::unique_lock<std::mutex> lock(m.mu);
      m.ready_cv.wait(lock, [&] { return m.ready.count(m.next_consume) > 0; });
      auto it = m.ready.find(m.next_consume);
      entry = std::move(it->second);
      m.ready.erase(it);
      m.bytes -= entry.second;
      ++m.next_consume;
      if (m.config.max_failures() >= 0 && m.failures > m.config.max_failures()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "loader: ", m.failures, " samples failed (more than max_failures ",
            m.config.max_failures(), "); first: ", m.first_failures.front()));
      }
      if (entry.first.ok() && entry.first->size() > 0) {
        ++m.batches_out;
        m.samples_out += entry.first->size();
        if (m.direct && entry.first->size() == m.config.batch_size()) {
          for (const at::Tensor& t : entry.first->images) m.handed_out.push_back(t);
          const size_t keep = 2 * static_cast<size_t>(m.image_slots);
          while (m.handed_out.size() > keep) m.handed_out.pop_front();
        }
      }
    }
    if (!entry.first.ok()) return entry.first.status();
    if (entry.first->size() == 0) continue;  // every sample failed: next batch
    m.Schedule();
    return std::move(entry.first);
  }
}

LoaderPosition Loader::position() const {
  const int64_t g = impl_->next_consume;
  return {g / batches_per_epoch_, g % batches_per_epoch_};
}

LoaderStats Loader::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  LoaderStats s;
  s.batches = impl_->batches_out;
  s.samples = impl_->samples_out;
  s.failures = impl_->failures;
  s.bytes_in_flight = impl_->bytes;
  s.peak_bytes_in_flight = impl_->peak_bytes;
  s.first_failures = impl_->first_failures;
  return s;
}

}  // namespace mammovl::data
