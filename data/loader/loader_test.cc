#include "data/loader/loader.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace mammovl::data {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::HasSubstr;

template <typename T>
T Proto(const std::string& text) {
  T m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

// 24 breasts with a CC and an MLO PNG each (64×48), labels and two texts.
std::shared_ptr<std::vector<Sample>> MakeSamples(int n = 24) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/loader_images");
  cv::Mat img(64, 48, CV_8UC1);
  (void)std::system(("mkdir -p " + dir).c_str());
  auto samples = std::make_shared<std::vector<Sample>>();
  cv::RNG rng(1);
  for (int i = 0; i < n; ++i) {
    Sample s;
    s.id = absl::StrCat("s", i);
    s.patient_id = absl::StrCat("p", i / 2);
    s.laterality = i % 2 ? "L" : "R";
    for (const char* view : {"CC", "MLO"}) {
      rng.fill(img, cv::RNG::UNIFORM, 0, 256);
      img.colRange(0, 8) = i;  // encodes the sample index
      const std::string path = absl::StrCat(dir, "/", s.id, "_", view, ".png");
      EXPECT_TRUE(cv::imwrite(path, img));
      s.images.push_back({path, s.id, view, s.laterality});
    }
    s.texts = {absl::StrCat("findings of ", i), absl::StrCat("impression of ", i)};
    s.labels["mass"] = static_cast<float>(i % 3 == 0);
    if (i % 4 == 0) s.labels["density"] = 2;
    samples->push_back(s);
  }
  return samples;
}

const TransformConfig kEval = Proto<TransformConfig>("mammoclip { height: 64 width: 48 } train: false");
const TransformConfig kTrain = Proto<TransformConfig>("mammoclip { height: 64 width: 48 }");

std::unique_ptr<Loader> Make(const std::string& config, std::shared_ptr<std::vector<Sample>> samples,
                             const std::string& pairing = "single {}",
                             std::vector<TransformConfig> transforms = {kTrain},
                             LoaderOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Loader>> l =
      Loader::Create(Proto<LoaderConfig>(config), std::move(samples),
                     Proto<PairingConfig>(pairing), transforms, std::move(options));
  EXPECT_TRUE(l.ok()) << l.status();
  return std::move(*l);
}

TEST(LoaderTest, EveryEpochVisitsEachSampleOnceWithTensors) {
  auto samples = MakeSamples();
  auto loader = Make("batch_size: 5 num_workers: 3 label_names: 'mass' label_names: 'density'", samples,
                     "single {}", {kEval});
  EXPECT_EQ(loader->batches_per_epoch(), 4);  // 24 / 5, drop_last
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::set<int64_t> seen;
    for (int b = 0; b < 4; ++b) {
      MVL_ASSERT_OK_AND_ASSIGN(const Batch batch, loader->Next());
      EXPECT_EQ(batch.position, (LoaderPosition{epoch, b}));
      EXPECT_EQ(batch.last_in_epoch, b == 3);
      ASSERT_EQ(batch.images.size(), 1u);
      EXPECT_EQ(batch.images[0].sizes(), (at::IntArrayRef{5, 1, 64, 48}));
      ASSERT_EQ(batch.labels.sizes(), (at::IntArrayRef{5, 2}));
      for (int64_t i = 0; i < batch.size(); ++i) {
        const int64_t idx = batch.sample_indices[i];
        EXPECT_TRUE(seen.insert(idx).second);
        EXPECT_EQ(batch.labels[i][0].item<float>(), (*samples)[idx].Label("mass"));
        EXPECT_EQ(std::isnan(batch.labels[i][1].item<float>()), idx % 4 != 0);
        EXPECT_EQ(batch.texts[0][i], absl::StrCat("findings of ", idx));
      }
    }
    EXPECT_EQ(seen.size(), 20u);
  }
  EXPECT_EQ(loader->position(), (LoaderPosition{2, 0}));
  EXPECT_EQ(loader->stats().samples, 40);
}

TEST(LoaderTest, SameBatchesWhateverTheWorkerCount) {
  auto samples = MakeSamples();
  auto one = Make("batch_size: 4 num_workers: 1 seed: 3", samples);
  auto many = Make("batch_size: 4 num_workers: 4 seed: 3", samples);
  for (int b = 0; b < 8; ++b) {  // crosses into the second epoch
    MVL_ASSERT_OK_AND_ASSIGN(const Batch x, one->Next());
    MVL_ASSERT_OK_AND_ASSIGN(const Batch y, many->Next());
    EXPECT_EQ(x.sample_indices, y.sample_indices);
    EXPECT_TRUE(x.images[0].equal(y.images[0])) << "batch " << b;
  }
}

TEST(LoaderTest, ResumesExactlyFromAPosition) {
  auto samples = MakeSamples();
  auto full = Make("batch_size: 4 seed: 9", samples);
  std::vector<Batch> reference;
  for (int b = 0; b < 9; ++b) {
    MVL_ASSERT_OK_AND_ASSIGN(Batch batch, full->Next());
    reference.push_back(std::move(batch));
  }
  LoaderOptions options;
  options.start = reference[4].position;  // epoch 0, batch 4
  auto resumed = Make("batch_size: 4 seed: 9", samples, "single {}", {kTrain}, options);
  for (int b = 4; b < 9; ++b) {
    MVL_ASSERT_OK_AND_ASSIGN(const Batch batch, resumed->Next());
    EXPECT_EQ(batch.position, reference[b].position);
    EXPECT_EQ(batch.sample_indices, reference[b].sample_indices);
    EXPECT_TRUE(batch.images[0].equal(reference[b].images[0])) << "batch " << b;
  }
  LoaderOptions bad;
  bad.start = {0, 99};
  EXPECT_THAT(Loader::Create(Proto<LoaderConfig>("batch_size: 4"), samples, PairingConfig(), {kTrain}, bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("start position")));
}

TEST(LoaderTest, RanksGetDisjointShards) {
  auto samples = MakeSamples();
  std::set<int64_t> seen;
  for (int rank = 0; rank < 3; ++rank) {
    LoaderOptions options;
    options.shard = {rank, 3};
    auto loader = Make("batch_size: 2", samples, "single {}", {kEval}, options);
    EXPECT_EQ(loader->batches_per_epoch(), 4);
    for (int b = 0; b < 4; ++b) {
      MVL_ASSERT_OK_AND_ASSIGN(const Batch batch, loader->Next());
      for (int64_t i : batch.sample_indices) EXPECT_TRUE(seen.insert(i).second) << i;
    }
  }
  EXPECT_EQ(seen.size(), 24u);
}

TEST(LoaderTest, PrefetchStaysWithinItsByteBudget) {
  auto samples = MakeSamples();
  const int64_t batch_bytes = 4 * 64 * 48 * 4;
  // A slow consumer and a budget of three batches: the loader runs ahead,
  // but never further than the budget.
  auto loader = Make(absl::StrCat("batch_size: 4 num_workers: 3 prefetch_bytes: ", 6 * batch_bytes),
                     samples);
  for (int b = 0; b < 6; ++b) {
    MVL_ASSERT_OK(loader->Next().status());
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  const LoaderStats s = loader->stats();
  EXPECT_LE(s.peak_bytes_in_flight, 6 * batch_bytes);
  EXPECT_GE(s.peak_bytes_in_flight, 4 * batch_bytes);  // it did prefetch
  // A budget below one batch still makes progress, one batch at a time.
  auto tight = Make("batch_size: 4 prefetch_bytes: 1", samples);
  for (int b = 0; b < 3; ++b) MVL_ASSERT_OK(tight->Next().status());
  EXPECT_LE(tight->stats().peak_bytes_in_flight, 2 * batch_bytes);
}

// A consumer that stalls: the workers fill the budget and then wait. The
// buffered bytes never exceed prefetch_bytes, stop growing while the
// consumer sleeps, and drain as it takes batches again.
TEST(LoaderTest, StalledConsumerKeepsBufferedBytesWithinTheBudget) {
  auto samples = MakeSamples();
  const int64_t batch_bytes = 2 * 64 * 48 * 4;
  const int64_t budget = 3 * batch_bytes;
  auto loader = Make(absl::StrCat("batch_size: 2 num_workers: 4 prefetch_bytes: ", budget), samples);
  MVL_ASSERT_OK(loader->Next().status());
  int64_t max_seen = 0;
  for (int round = 0; round < 4; ++round) {
    // Stalled: sample the buffer while the workers have nothing to take.
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    const int64_t a = loader->stats().bytes_in_flight;
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    const int64_t b = loader->stats().bytes_in_flight;
    EXPECT_LE(a, budget);
    EXPECT_EQ(a, b) << "the buffer grew while the consumer was stalled";
    max_seen = std::max(max_seen, b);
    for (int k = 0; k < 3; ++k) MVL_ASSERT_OK(loader->Next().status());
  }
  EXPECT_GE(max_seen, 2 * batch_bytes);  // it did run ahead of the consumer
  EXPECT_LE(loader->stats().peak_bytes_in_flight, budget);
}

// An image larger than max_image_pixels fails its sample with the reason.
TEST(LoaderTest, ImagesOverThePixelLimitAreRefused) {
  auto samples = MakeSamples(4);
  auto fail = Make("batch_size: 4 shuffle: false failure_policy: FAIL max_image_pixels: 3000",
                   samples);  // the images are 48 x 64 = 3072 pixels
  EXPECT_THAT(fail->Next(), StatusIs(absl::StatusCode::kResourceExhausted,
                                     ::testing::AllOf(HasSubstr("sample 's0'"),
                                                      HasSubstr("48x64"),
                                                      HasSubstr("max_image_pixels 3000"))));
  auto ok = Make("batch_size: 4 shuffle: false failure_policy: FAIL max_image_pixels: 3072", samples);
  MVL_EXPECT_OK(ok->Next().status());
}

TEST(LoaderTest, FailedSamplesAreSkippedCountedOrFatal) {
  auto samples = MakeSamples(8);
  (*samples)[3].images[0].path = "/nonexistent/lost.png";
  // One batch in flight at a time, so the count is read before the next
  // epoch revisits the broken sample.
  auto skip = Make("batch_size: 4 shuffle: false prefetch_bytes: 1", samples);
  MVL_ASSERT_OK_AND_ASSIGN(const Batch first, skip->Next());
  EXPECT_EQ(first.size(), 3);
  EXPECT_EQ(first.images[0].size(0), 3);
  EXPECT_EQ(skip->stats().failures, 1);
  EXPECT_THAT(skip->stats().first_failures[0], HasSubstr("lost.png"));
  auto fail = Make("batch_size: 4 shuffle: false failure_policy: FAIL", samples);
  EXPECT_THAT(fail->Next(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("sample 's3'")));
  auto limited = Make("batch_size: 4 shuffle: false max_failures: 0", samples);
  EXPECT_THAT(limited->Next(), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("max_failures")));
  // A batch whose samples all fail is passed over.
  auto broken = MakeSamples(8);
  for (int i = 0; i < 4; ++i) (*broken)[i].images[0].path = "/nonexistent/x.png";
  auto loader = Make("batch_size: 4 shuffle: false", broken);
  MVL_ASSERT_OK_AND_ASSIGN(const Batch next, loader->Next());
  EXPECT_EQ(next.sample_indices.front(), 4);
}

TEST(LoaderTest, MultiViewSlotsTextsAndTokens) {
  auto samples = MakeSamples();
  LoaderOptions options;
  options.tokenize = [](const std::string& text) -> absl::StatusOr<std::vector<int64_t>> {
    std::vector<int64_t> ids = {101};
    for (absl::string_view w : absl::StrSplit(text, ' ')) ids.push_back(static_cast<int64_t>(w.size()));
    ids.push_back(102);
    return ids;
  };
  options.pad_id = 0;
  auto loader = Make("batch_size: 3 max_text_length: 6 output_channels: 3", samples, "mammoclip {}",
                     {kTrain}, options);
  MVL_ASSERT_OK_AND_ASSIGN(const Batch batch, loader->Next());
  ASSERT_EQ(batch.images.size(), 2u);
  EXPECT_EQ(batch.images[1].sizes(), (at::IntArrayRef{3, 3, 64, 48}));
  // The gray image is replicated into the three channels.
  EXPECT_TRUE(batch.images[0][0][0].equal(batch.images[0][0][2]));
  ASSERT_EQ(batch.texts.size(), 2u);
  ASSERT_EQ(batch.token_ids.size(), 2u);
  EXPECT_EQ(batch.token_ids[0].sizes(), (at::IntArrayRef{3, 6}));
  // "findings of N" -> [101, 8, 2, len(N), 102, pad]
  EXPECT_EQ(batch.token_ids[0][0][0].item<int64_t>(), 101);
  EXPECT_EQ(batch.attention_mask[0][0][5].item<int64_t>(), 0);
  EXPECT_EQ(batch.attention_mask[0][0][4].item<int64_t>(), 1);
  // SLIP: one image, three pipelines.
  auto slip = Make("batch_size: 2", samples, "single {}",
                   {Proto<TransformConfig>("clip_view { size: 32 }"),
                    Proto<TransformConfig>("simclr { size: 24 }")});
  MVL_ASSERT_OK_AND_ASSIGN(const Batch views, slip->Next());
  ASSERT_EQ(views.images.size(), 2u);
  EXPECT_EQ(views.images[0].sizes(), (at::IntArrayRef{2, 3, 32, 32}));
  EXPECT_EQ(views.images[1].sizes(), (at::IntArrayRef{2, 3, 24, 24}));
}

TEST(LoaderTest, VariableSizePipelinesCopyPerSampleAndCheckGeometry) {
  auto samples = MakeSamples(4);
  // FPN-MIL keeps the input size: one image of another size cannot join
  // the batch and is skipped as a failed sample.
  const std::string odd = absl::StrCat(::testing::TempDir(), "/odd.png");
  ASSERT_TRUE(cv::imwrite(odd, cv::Mat(30, 20, CV_8UC1, cv::Scalar(7))));
  (*samples)[2].images[0].path = odd;
  auto loader = Make("batch_size: 4 shuffle: false", samples, "single {}",
                     {Proto<TransformConfig>("fpn_mil {}")});
  MVL_ASSERT_OK_AND_ASSIGN(const Batch batch, loader->Next());
  EXPECT_EQ(batch.images[0].sizes(), (at::IntArrayRef{3, 1, 64, 48}));
  EXPECT_EQ(batch.sample_indices, (std::vector<int64_t>{0, 1, 3}));
  EXPECT_THAT(loader->stats().first_failures[0], HasSubstr("s2"));
  // Sample 0's first column holds its index (0) mapped through the
  // normalisation: (0 / 255 - 0.3089279) / 0.2505356.
  EXPECT_NEAR(batch.images[0][0][0][0][0].item<float>(), -1.2331, 1e-3);
  EXPECT_NEAR(batch.images[0][2][0][0][0].item<float>(), (3 / 255.0 - 0.3089279) / 0.2505356, 1e-5);
}

TEST(LoaderTest, RecycledBatchMemoryIsNeverStillInUse) {
  auto samples = MakeSamples();
  auto loader = Make("batch_size: 4 num_workers: 2", samples);
  // Keep a whole batch, and only a view of another: neither may be refilled.
  MVL_ASSERT_OK_AND_ASSIGN(Batch kept, loader->Next());
  const at::Tensor kept_copy = kept.images[0].clone();
  at::Tensor view;
  at::Tensor view_copy;
  {
    MVL_ASSERT_OK_AND_ASSIGN(Batch b, loader->Next());
    view = b.images[0].narrow(0, 1, 2);
    view_copy = view.clone();
  }
  const void* dropped = nullptr;
  for (int i = 0; i < 12; ++i) {
    MVL_ASSERT_OK_AND_ASSIGN(Batch b, loader->Next());
    if (i == 0) dropped = b.images[0].data_ptr();
  }
  EXPECT_TRUE(kept.images[0].equal(kept_copy));
  EXPECT_TRUE(view.equal(view_copy));
  EXPECT_NE(dropped, nullptr);
}

TEST(LoaderTest, RejectsBadConfigs) {
  auto samples = MakeSamples(4);
  EXPECT_THAT(Loader::Create(Proto<LoaderConfig>("batch_size: 0"), samples, PairingConfig(), {kTrain}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("batch_size")));
  EXPECT_THAT(Loader::Create(Proto<LoaderConfig>("output_channels: 2"), samples, PairingConfig(), {kTrain}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("output_channels")));
  EXPECT_THAT(Loader::Create(Proto<LoaderConfig>("batch_size: 8"), samples, PairingConfig(), {kTrain}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no full batch")));
  EXPECT_THAT(Loader::Create(LoaderConfig(), std::make_shared<std::vector<Sample>>(), PairingConfig(), {kTrain}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no samples")));
  LoaderOptions bad;
  bad.shard = {2, 2};
  EXPECT_THAT(Loader::Create(Proto<LoaderConfig>("batch_size: 1"), samples, PairingConfig(), {kTrain}, bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rank")));
}

}  // namespace
}  // namespace mammovl::data
