#include "eval/linear_probe.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/utils.h>

#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "glog/logging.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace mammovl::eval {
namespace {

absl::Status CheckSet(const FeatureSet& set, const char* name,
                      int num_classes) {
  if (!set.features.defined() || set.features.dim() != 2 ||
      set.features.size(0) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " features must be a non-empty [N, D] tensor"));
  }
  const size_t n = static_cast<size_t>(set.features.size(0));
  if (set.labels.size() != n || set.sample_ids.size() != n ||
      set.patient_ids.size() != n || set.lateralities.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": ", n, " feature rows but ", set.labels.size(),
        " labels / ", set.sample_ids.size(), " ids"));
  }
  for (size_t i = 0; i < n; ++i) {
    if (set.labels[i] < 0 || set.labels[i] >= num_classes) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " row ", i, ": label ", set.labels[i],
                       " outside 0..", num_classes - 1));
    }
  }
  return absl::OkStatus();
}

at::Tensor LabelTensor(const std::vector<int>& labels) {
  std::vector<int64_t> v(labels.begin(), labels.end());
  return at::tensor(v, at::kLong);
}

}  // namespace

std::vector<std::string> ClassNames(const ClassifierConfig& config) {
  std::vector<std::string> names(config.class_names().begin(),
                                 config.class_names().end());
  if (names.empty()) {
    for (int c = 0; c < config.num_classes(); ++c) {
      names.push_back(absl::StrCat("class ", c));
    }
  }
  return names;
}

double SelectionMetric(const TaskMetrics& metrics, double val_loss,
                       const ClassifierConfig& config) {
  const double value = metrics.Get(config.select_by_auc() ? "roc_auc"
                                                           : "accuracy");
  return std::isfinite(value) ? value : -val_loss;
}

absl::StatusOr<TaskPredictions> PredictFeatures(
    ClassifierHead& head, const FeatureSet& set, const std::string& task,
    const std::vector<std::string>& class_names, int positive_class) {
  MVL_RETURN_IF_ERROR(
      CheckSet(set, "prediction", static_cast<int>(class_names.size())));
  MVL_ASSIGN_OR_RETURN(
      at::Tensor probs, core::RunTorch("linear probe prediction", [&] {
        torch::NoGradGuard no_grad;
        head->eval();
        return ClassProbabilities(head->forward(set.features.to(at::kFloat)))
            .contiguous();
      }));
  TaskPredictions p;
  p.task = task;
  p.class_names = class_names;
  p.positive_class = positive_class;
  p.rows_without_label = set.rows_without_label;
  const int64_t c = probs.size(1);
  const double* data = probs.data_ptr<double>();
  for (int64_t i = 0; i < probs.size(0); ++i) {
    p.Add(std::vector<double>(data + i * c, data + (i + 1) * c), set.labels[i],
          set.sample_ids[i], set.patient_ids[i], set.lateralities[i]);
  }
  return p;
}

absl::StatusOr<TrainedHead> TrainLinearProbe(const FeatureSet& train,
                                             const FeatureSet& val,
                                             const ClassifierConfig& config) {
  MVL_RETURN_IF_ERROR(ValidateClassifierConfig(config));
  MVL_RETURN_IF_ERROR(CheckSet(train, "train", config.num_classes()));
  MVL_RETURN_IF_ERROR(CheckSet(val, "validation", config.num_classes()));
  if (train.features.size(1) != val.features.size(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "train features are ", train.features.size(1),
        " wide but validation features ", val.features.size(1)));
  }
  torch::manual_seed(config.seed());
  MVL_ASSIGN_OR_RETURN(ClassifierHead head,
                       BuildClassifierHead(config, train.features.size(1)));
  train::NamedTensors params;
  for (const auto& item : head->named_parameters()) {
    params.emplace_back(item.key(), item.value());
  }
  train::TrainConfig optim = config.optimizer();
  const int64_t n = train.features.size(0);
  const int64_t batches = (n + config.batch_size() - 1) / config.batch_size();
  optim.set_max_steps(batches * config.epochs());
  MVL_ASSIGN_OR_RETURN(auto groups, train::MakeParamGroups(params, optim));
  MVL_ASSIGN_OR_RETURN(auto optimizer, train::BuildOptimizer(optim, groups));
  MVL_ASSIGN_OR_RETURN(
      train::LrSchedule schedule,
      train::BuildLrSchedule(optim.schedule(), train::OptimizerBaseLr(optim),
                             optim.max_steps()));

  const at::Tensor x_train = train.features.to(at::kFloat).contiguous();
  const at::Tensor y_train = LabelTensor(train.labels);
  const at::Tensor x_val = val.features.to(at::kFloat);
  const at::Tensor y_val = LabelTensor(val.labels);
  const std::vector<std::string> class_names = ClassNames(config);
  std::mt19937_64 rng(config.seed());
  EarlyStopping stopping(config.patience());
  TrainedHead result;
  std::vector<at::Tensor> best_state;
  ReportConfig no_bootstrap = config.report();
  no_bootstrap.set_bootstrap_resamples(0);
  int64_t step = 0;
  for (int epoch = 0; epoch < config.epochs(); ++epoch) {
    const std::vector<int64_t> order = EpochOrder(
        train.labels, config.num_classes(), config.balanced_sampling(), rng);
    EpochLog log;
    log.epoch = epoch;
    MVL_RETURN_IF_ERROR(core::RunTorch("linear probe epoch", [&] {
      torch::AutoGradMode grad(true);
      head->train();
      double loss_sum = 0;
      for (int64_t b = 0; b < batches; ++b) {
        const int64_t begin = b * config.batch_size();
        const int64_t end = std::min<int64_t>(n, begin + config.batch_size());
        at::Tensor idx = at::tensor(
            std::vector<int64_t>(order.begin() + begin, order.begin() + end),
            at::kLong);
        at::Tensor loss = ClassifierLoss(head->forward(x_train.index_select(0, idx)),
                                         y_train.index_select(0, idx), config);
        optimizer->ZeroGrad();
        loss.backward();
        loss_sum += loss.item<double>() * (end - begin);
        MVL_RETURN_IF_ERROR(optimizer->Step(schedule(step++)));
      }
      log.train_loss = loss_sum / static_cast<double>(n);
      torch::NoGradGuard no_grad;
      head->eval();
      log.val_loss = ClassifierLoss(head->forward(x_val), y_val, config)
                         .item<double>();
      return absl::OkStatus();
    }));
    MVL_ASSIGN_OR_RETURN(TaskPredictions p,
                         PredictFeatures(head, val, config.label(), class_names));
    MVL_ASSIGN_OR_RETURN(TaskMetrics m,
                         EvaluateTask(p, config.grouping(), no_bootstrap));
    log.val_metric = SelectionMetric(m, log.val_loss, config);
    result.history.push_back(log);
    VLOG(1) << "linear probe epoch " << epoch << ": train loss "
            << log.train_loss << ", val loss " << log.val_loss
            << ", val metric " << log.val_metric;
    if (stopping.Update(epoch, log.val_metric)) {
      best_state.clear();
      for (const auto& t : head->parameters()) {
        best_state.push_back(t.detach().clone());
      }
    }
    if (stopping.ShouldStop()) {
      LOG(INFO) << "linear probe: early stop after epoch " << epoch
                << " (best epoch " << stopping.best_epoch() << ")";
      break;
    }
  }
  MVL_RETURN_IF_ERROR(core::RunTorch("restoring the best epoch", [&] {
    torch::NoGradGuard no_grad;
    auto current = head->parameters();
    for (size_t i = 0; i < current.size(); ++i) current[i].copy_(best_state[i]);
  }));
  head->eval();
  result.head = head;
  result.best_epoch = stopping.best_epoch();
  result.best_val_metric = stopping.best_metric();
  LOG(INFO) << "linear probe: best epoch " << result.best_epoch
            << ", validation metric " << result.best_val_metric;
  return result;
}

}  // namespace mammovl::eval
