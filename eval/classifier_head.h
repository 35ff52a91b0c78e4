// The downstream classifier's head and loss, shared by the linear probe and
// fine-tuning: a Linear layer (optionally after dropout), or MedSLIP's two
// stacked Linear layers; one logit for a binary label under weighted BCE or
// focal loss (Mammo-CLIP), C logits under cross-entropy (MaMA, MGCA,
// MedSLIP). Also the epoch order of training rows (shuffled, or balanced by
// class as torch's WeightedRandomSampler) and early stopping.
#ifndef MAMMOVL_EVAL_CLASSIFIER_HEAD_H_
#define MAMMOVL_EVAL_CLASSIFIER_HEAD_H_

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eval/eval_config.pb.h"

namespace mammovl::eval {

// Checks mode, label, classes, head, loss (one of weighted_bce, focal,
// weighted_ce; BCE/focal only for 2 classes; weight counts), epochs, batch
// size, patience and optimiser. InvalidArgument naming the field.
absl::Status ValidateClassifierConfig(const ClassifierConfig& config,
                                      const std::string& field = "classifier");

// Number of logits the head produces for `config` (1 or num_classes).
int64_t NumLogits(const ClassifierConfig& config);

// Input [B, D] float features; output [B, NumLogits] logits. Parameter
// names: `classification_head.{weight,bias}` (linear) or
// `fc1.*`, `fc2.*` (two_linear).
class ClassifierHeadImpl : public torch::nn::Module {
 public:
  ClassifierHeadImpl(int64_t feature_dim, const ClassifierConfig& config);
  at::Tensor forward(const at::Tensor& features);

 private:
  double dropout_ = 0;
  torch::nn::Linear classification_head_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
};
TORCH_MODULE(ClassifierHead);

// Builds the head with torch's default Linear initialisation (seeded by the
// caller). InvalidArgument for a bad config or feature_dim < 1.
absl::StatusOr<ClassifierHead> BuildClassifierHead(
    const ClassifierConfig& config, int64_t feature_dim);

// Loss of `logits` [B, NumLogits] against `labels` [B] int64 in 0..C-1, as
// the config's loss says (0-d, differentiable).
at::Tensor ClassifierLoss(const at::Tensor& logits, const at::Tensor& labels,
                          const ClassifierConfig& config);

// [B, C] float64 class probabilities: sigmoid for one logit ([1 - p, p]),
// softmax otherwise.
at::Tensor ClassProbabilities(const at::Tensor& logits);

// Row order of one training epoch over rows with `labels` (0..C-1):
// a seeded permutation, or with `balanced` N draws with replacement in which
// every present class is equally likely (rows of a class equally likely).
std::vector<int64_t> EpochOrder(const std::vector<int>& labels,
                                int num_classes, bool balanced,
                                std::mt19937_64& rng);

// Tracks the best validation metric; `Update` returns true when the metric
// improved. `ShouldStop` after `patience` epochs without improvement
// (patience 0: never).
class EarlyStopping {
 public:
  explicit EarlyStopping(int patience) : patience_(patience) {}
  bool Update(int epoch, double metric);
  bool ShouldStop() const {
    return patience_ > 0 && epochs_since_best_ >= patience_;
  }
  int best_epoch() const { return best_epoch_; }
  double best_metric() const { return best_; }

 private:
  int patience_;
  int best_epoch_ = -1;
  double best_ = 0;
  int epochs_since_best_ = 0;
};

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_CLASSIFIER_HEAD_H_
