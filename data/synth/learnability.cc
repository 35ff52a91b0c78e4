#include "data/synth/learnability.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include <glog/logging.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "core/state_dict.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "data/datasets/csv.h"
#include "data/transforms/rng.h"
#include "vision/module_weights.h"
#include "vision/plain_cnn.h"

namespace mammovl::data {
namespace {

struct Split {
  std::vector<cv::Mat1b> images;
  std::vector<int> mass, calc;
};

// vision::PlainCnn with its defaults (2×2 space-to-depth, then 3×3
// Conv-BN-ReLU stages of 16, 32, 48, 64 channels with max pooling between):
// specks of one or two pixels survive. Global max and mean pooling of its
// last map and a linear layer give one logit per finding.
struct LesionNetImpl : torch::nn::Module {
  LesionNetImpl() {
    backbone = register_module(
        "backbone", vision::PlainCnn(vision::PlainCnnConfig(), /*channels_last=*/false));
    head = register_module("head", torch::nn::Linear(2 * backbone->feature_dim(), 2));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = backbone->Forward(x.expand({x.size(0), 3, x.size(2), x.size(3)})).head_map.flatten(2);
    x = torch::cat({std::get<0>(x.max(2)), x.mean(2)}, 1);  // [B, 2·C]
    return head->forward(x);                                  // [B, 2]
  }
  vision::PlainCnn backbone{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(LesionNet);

absl::StatusOr<std::pair<Split, Split>> LoadCorpus(const std::string& dir) {
  MVL_ASSIGN_OR_RETURN(const CsvTable table, ReadCsv(absl::StrCat(dir, "/tables/synth/images.csv")));
  MVL_ASSIGN_OR_RETURN(const int png_col, table.Column("png_path"));
  MVL_ASSIGN_OR_RETURN(const int split_col, table.Column("split"));
  MVL_ASSIGN_OR_RETURN(const int mass_col, table.Column("mass"));
  MVL_ASSIGN_OR_RETURN(const int calc_col, table.Column("calcification"));
  Split train, test;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const auto& row = table.rows[i];
    const std::string path = absl::StrCat(dir, "/png/", row[png_col]);
    cv::Mat1b img = cv::imread(path, cv::IMREAD_GRAYSCALE);
    if (img.empty()) return absl::NotFoundError(absl::StrCat(table.Where(i), ": cannot read ", path));
    Split& s = row[split_col] == "test" ? test : train;
    s.images.push_back(img);
    s.mass.push_back(row[mass_col] == "1");
    s.calc.push_back(row[calc_col] == "1");
  }
  if (train.images.empty() || test.images.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": need images in both splits"));
  }
  return std::make_pair(std::move(train), std::move(test));
}

torch::Tensor Batch(const Split& s, const std::vector<int>& idx, size_t begin, size_t end,
                    Rng* flip_rng) {
  const int h = s.images[0].rows, w = s.images[0].cols;
  torch::Tensor x = torch::empty({static_cast<int64_t>(end - begin), 1, h, w});
  float* out = x.data_ptr<float>();
  for (size_t b = begin; b < end; ++b) {
    const cv::Mat1b& img = s.images[idx[b]];
    const bool flip = flip_rng != nullptr && flip_rng->Bernoulli(0.5);
    for (int y = 0; y < h; ++y) {
      const uint8_t* in = img[y];
      for (int xx = 0; xx < w; ++xx) {
        *out++ = (in[flip ? w - 1 - xx : xx] / 255.0f - 0.3f) / 0.25f;
      }
    }
  }
  return x;
}

}  // namespace

double RocAuc(const std::vector<float>& scores, const std::vector<int>& labels) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0;
  int64_t pos = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = 0.5 * (i + 1 + j);  // 1-based ranks i+1..j
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]]) {
        rank_sum += avg_rank;
        ++pos;
      }
    }
    i = j;
  }
  const int64_t neg = static_cast<int64_t>(scores.size()) - pos;
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum - pos * (pos + 1) / 2.0) / (static_cast<double>(pos) * neg);
}

absl::StatusOr<LearnabilityResult> RunLearnabilityCheck(const LearnabilityOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  MVL_ASSIGN_OR_RETURN(auto splits, LoadCorpus(options.corpus_dir));
  const Split& train = splits.first;
  const Split& test = splits.second;
  return core::RunTorch("learnability check", [&]() -> absl::StatusOr<LearnabilityResult> {
    torch::manual_seed(options.seed);
    at::set_num_threads(options.threads > 0 ? options.threads
                                            : static_cast<int>(std::thread::hardware_concurrency()));
    LesionNet net;
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(options.learning_rate));
    Rng rng(options.seed);
    std::vector<int> order(train.images.size());
    std::iota(order.begin(), order.end(), 0);
    LearnabilityResult result;
    result.train_images = static_cast<int>(train.images.size());
    result.test_images = static_cast<int>(test.images.size());
    const int steps_per_epoch =
        static_cast<int>((order.size() + options.batch_size - 1) / options.batch_size);
    const int total_steps = steps_per_epoch * options.epochs;
    int step = 0;
    for (int epoch = 0; epoch < options.epochs; ++epoch) {
      rng.Shuffle(order);
      net->train();
      double loss_sum = 0;
      for (size_t b = 0; b < order.size(); b += options.batch_size) {
        const size_t e = std::min(order.size(), b + options.batch_size);
        torch::Tensor x = Batch(train, order, b, e, &rng);
        std::vector<float> y;
        for (size_t k = b; k < e; ++k) {
          y.push_back(train.mass[order[k]]);
          y.push_back(train.calc[order[k]]);
        }
        torch::Tensor target =
            torch::from_blob(y.data(), {static_cast<int64_t>(e - b), 2}).clone();
        // Cosine learning-rate decay over the whole run.
        const double lr = options.learning_rate * 0.5 * (1 + std::cos(M_PI * step / total_steps));
        for (auto& group : opt.param_groups()) {
          static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
        }
        torch::Tensor loss =
            torch::binary_cross_entropy_with_logits(net->forward(x), target);
        opt.zero_grad();
        loss.backward();
        opt.step();
        loss_sum += loss.item<double>() * (e - b);
        ++step;
        if (step % 20 == 0) {
          VLOG(1) << "step " << step << "/" << total_steps << " loss " << loss.item<double>();
        }
      }
      result.epochs_run = epoch + 1;
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      LOG(INFO) << "learnability epoch " << epoch + 1 << "/" << options.epochs
                << " loss " << loss_sum / order.size() << " elapsed " << elapsed << " s";
      if (options.time_budget_s > 0 && elapsed > options.time_budget_s) break;
    }
    net->eval();
    torch::NoGradGuard no_grad;
    std::vector<int> all(test.images.size());
    std::iota(all.begin(), all.end(), 0);
    std::vector<float> mass_scores, calc_scores;
    for (size_t b = 0; b < all.size(); b += 32) {
      const size_t e = std::min(all.size(), b + 32);
      torch::Tensor logits = net->forward(Batch(test, all, b, e, nullptr)).contiguous();
      const float* p = logits.data_ptr<float>();
      for (size_t k = 0; k < e - b; ++k) {
        mass_scores.push_back(p[2 * k]);
        calc_scores.push_back(p[2 * k + 1]);
      }
    }
    result.mass_auc = RocAuc(mass_scores, test.mass);
    result.calc_auc = RocAuc(calc_scores, test.calc);
    result.test_mass_positive = std::accumulate(test.mass.begin(), test.mass.end(), 0);
    result.test_calc_positive = std::accumulate(test.calc.begin(), test.calc.end(), 0);
    if (!options.save_backbone.empty()) {
      MVL_RETURN_IF_ERROR(
          core::WriteStateDict(options.save_backbone, vision::ModuleStateDict(*net->backbone)));
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  });
}

}  // namespace mammovl::data
