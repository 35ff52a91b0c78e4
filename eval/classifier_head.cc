#include "eval/classifier_head.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/dropout.h>

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "losses/classification_losses.h"
#include "train/optimizer.h"

namespace mammovl::eval {

namespace {
bool UsesSingleLogit(const ClassifierConfig& config) {
  return config.loss().has_weighted_bce() || config.loss().has_focal();
}
}  // namespace

absl::Status ValidateClassifierConfig(const ClassifierConfig& config,
                                      const std::string& field) {
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".", what));
  };
  if (config.mode() == ClassifierConfig::MODE_UNSPECIFIED) {
    return bad("mode: unset (LINEAR_PROBE or FINE_TUNE)");
  }
  if (config.label().empty()) return bad("label: empty");
  if (config.num_classes() < 2) {
    return bad(absl::StrCat("num_classes must be >= 2 (got ",
                            config.num_classes(), ")"));
  }
  if (config.class_names_size() != 0 &&
      config.class_names_size() != config.num_classes()) {
    return bad(absl::StrCat("class_names has ", config.class_names_size(),
                            " entries for ", config.num_classes(), " classes"));
  }
  if (config.has_linear() &&
      !(config.linear().dropout() >= 0 && config.linear().dropout() < 1)) {
    return bad(absl::StrCat("linear.dropout must be in [0, 1) (got ",
                            config.linear().dropout(), ")"));
  }
  if (config.has_two_linear() && config.two_linear().hidden() < 1) {
    return bad("two_linear.hidden must be >= 1");
  }
  const auto& loss = config.loss();
  switch (loss.loss_case()) {
    case losses::LossConfig::LOSS_NOT_SET:
      break;
    case losses::LossConfig::kWeightedBce:
    case losses::LossConfig::kFocal:
      if (config.num_classes() != 2) {
        return bad("loss: weighted_bce and focal need num_classes 2 "
                   "(use weighted_ce for more classes)");
      }
      if (loss.has_weighted_bce() && loss.weighted_bce().pos_weight_size() > 1) {
        return bad("loss.weighted_bce.pos_weight: at most one value for a "
                   "single logit");
      }
      break;
    case losses::LossConfig::kWeightedCe:
      if (loss.weighted_ce().class_weight_size() != 0 &&
          loss.weighted_ce().class_weight_size() != config.num_classes()) {
        return bad(absl::StrCat("loss.weighted_ce.class_weight has ",
                                loss.weighted_ce().class_weight_size(),
                                " values for ", config.num_classes(),
                                " classes"));
      }
      break;
    default:
      return bad("loss: only weighted_bce, focal or weighted_ce apply to a "
                 "classifier");
  }
  if (config.epochs() < 1) {
    return bad(absl::StrCat("epochs must be >= 1 (got ", config.epochs(), ")"));
  }
  if (config.batch_size() < 1) {
    return bad(absl::StrCat("batch_size must be >= 1 (got ",
                            config.batch_size(), ")"));
  }
  if (config.patience() < 0) return bad("patience must be >= 0");
  if (config.grouping().level() == GroupingConfig::LEVEL_UNSPECIFIED ||
      config.grouping().reduce() == GroupingConfig::REDUCE_UNSPECIFIED) {
    return bad("grouping: level and reduce must be set");
  }
  if (config.features() == ClassifierConfig::FEATURES_UNSPECIFIED) {
    return bad("features: unset");
  }
  MVL_RETURN_IF_ERROR(train::ValidateOptimizerConfig(config.optimizer()));
  return absl::OkStatus();
}

int64_t NumLogits(const ClassifierConfig& config) {
  return UsesSingleLogit(config) ? 1 : config.num_classes();
}

ClassifierHeadImpl::ClassifierHeadImpl(int64_t feature_dim,
                                       const ClassifierConfig& config) {
  const int64_t out = NumLogits(config);
  if (config.has_two_linear()) {
    fc1_ = register_module(
        "fc1", torch::nn::Linear(feature_dim, config.two_linear().hidden()));
    fc2_ = register_module(
        "fc2", torch::nn::Linear(config.two_linear().hidden(), out));
  } else {
    dropout_ = config.linear().dropout();
    classification_head_ = register_module(
        "classification_head", torch::nn::Linear(feature_dim, out));
  }
}

at::Tensor ClassifierHeadImpl::forward(const at::Tensor& features) {
  TORCH_CHECK(features.dim() == 2, "classifier head expects [B, D], got ",
              features.sizes());
  if (fc1_) return fc2_->forward(fc1_->forward(features));
  at::Tensor x = features;
  if (dropout_ > 0) {
    x = torch::nn::functional::dropout(
        x, torch::nn::functional::DropoutFuncOptions().p(dropout_).training(
               is_training()));
  }
  return classification_head_->forward(x);
}

absl::StatusOr<ClassifierHead> BuildClassifierHead(
    const ClassifierConfig& config, int64_t feature_dim) {
  MVL_RETURN_IF_ERROR(ValidateClassifierConfig(config));
  if (feature_dim < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("classifier head: feature_dim must be >= 1 (got ",
                     feature_dim, ")"));
  }
  std::shared_ptr<ClassifierHeadImpl> impl;
  MVL_RETURN_IF_ERROR(core::RunTorch("building the classifier head", [&] {
    impl = std::make_shared<ClassifierHeadImpl>(feature_dim, config);
  }));
  return ClassifierHead(impl);
}

at::Tensor ClassifierLoss(const at::Tensor& logits, const at::Tensor& labels,
                          const ClassifierConfig& config) {
  const auto& loss = config.loss();
  if (loss.has_weighted_bce() || loss.has_focal()) {
    at::Tensor target = labels.to(logits.scalar_type()).reshape({-1, 1});
    return loss.has_focal() ? losses::FocalLoss(logits, target, loss.focal())
                            : losses::WeightedBceLoss(logits, target,
                                                      loss.weighted_bce());
  }
  return losses::WeightedCeLoss(logits, labels.to(at::kLong),
                                loss.weighted_ce());
}

at::Tensor ClassProbabilities(const at::Tensor& logits) {
  at::Tensor x = logits.detach().to(at::kDouble);
  if (x.size(1) == 1) {
    at::Tensor p = at::sigmoid(x);
    return at::cat({1 - p, p}, 1);
  }
  return at::softmax(x, 1);
}

std::vector<int64_t> EpochOrder(const std::vector<int>& labels,
                                int num_classes, bool balanced,
                                std::mt19937_64& rng) {
  const int64_t n = static_cast<int64_t>(labels.size());
  std::vector<int64_t> order(n);
  if (!balanced) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    return order;
  }
  std::vector<std::vector<int64_t>> by_class(num_classes);
  for (int64_t i = 0; i < n; ++i) by_class[labels[i]].push_back(i);
  std::vector<int> present;
  for (int c = 0; c < num_classes; ++c) {
    if (!by_class[c].empty()) present.push_back(c);
  }
  for (int64_t i = 0; i < n; ++i) {
    const auto& rows = by_class[present[rng() % present.size()]];
    order[i] = rows[rng() % rows.size()];
  }
  return order;
}

bool EarlyStopping::Update(int epoch, double metric) {
  if (best_epoch_ < 0 || metric > best_) {
    best_ = metric;
    best_epoch_ = epoch;
    epochs_since_best_ = 0;
    return true;
  }
  ++epochs_since_best_;
  return false;
}

}  // namespace mammovl::eval
