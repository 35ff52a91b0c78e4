#include "eval/classifier_runner.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/utils.h>

#include <cmath>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/file_io.h"
#include "core/plot.h"
#include "core/progress.h"
#include "core/state_dict.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "data/dicom/pseudonym.h"
#include "data/loader/loader.h"
#include "eval/embedding_export.h"
#include "eval/eval_report.h"
#include "eval/zero_shot.h"
#include "glog/logging.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace mammovl::eval {
namespace {

ImageOutput FeatureKind(const ClassifierConfig& config) {
  return config.features() == ClassifierConfig::PROJECTED
             ? ImageOutput::kProjectedFeatures
             : ImageOutput::kPooledFeatures;
}

// Features of one split, from the cache when it is valid.
absl::StatusOr<SampleEmbeddings> SplitFeatures(
    VisionLanguageModel& model, const std::shared_ptr<const std::vector<data::Sample>>& samples,
    const data::DataConfig& data, const ClassifierConfig& config,
    const ClassifierOptions& options, const std::string& split) {
  const std::string name = split + "_features";
  const std::string salt = config.report().pseudonym_salt();
  const std::string key_path = options.feature_cache_dir + "/" + name + ".key";
  if (!options.feature_cache_dir.empty() && core::PathExists(key_path)) {
    auto key = core::ReadFileToString(key_path);
    auto cached = ReadEmbeddings(options.feature_cache_dir, name);
    if (key.ok() && *key == options.cache_key && cached.ok()) {
      // Rows must be samples of this split, by pseudonym.
      absl::flat_hash_map<std::string, int64_t> position;
      for (size_t i = 0; i < samples->size(); ++i) {
        position[data::Pseudonymize(salt, (*samples)[i].id)] = static_cast<int64_t>(i);
      }
      SampleEmbeddings out;
      out.values = cached->embeddings;
      bool valid = !cached->index.columns.empty() && cached->index.columns[0] == "sample";
      for (const auto& row : cached->index.rows) {
        auto it = valid ? position.find(row[0]) : position.end();
        if (it == position.end()) {
          valid = false;
          break;
        }
        out.sample_indices.push_back(it->second);
      }
      if (valid) {
        LOG(INFO) << "linear probe: " << split << " features from the cache ("
                  << out.sample_indices.size() << " rows)";
        return out;
      }
    }
    LOG(INFO) << "linear probe: the " << split << " feature cache is stale; recomputing";
  }
  MVL_ASSIGN_OR_RETURN(SampleEmbeddings features,
                       EmbedSamples(model, samples, data, FeatureKind(config),
                                    split + " features"));
  if (!options.feature_cache_dir.empty()) {
    std::vector<const data::Sample*> rows;
    for (int64_t i : features.sample_indices) rows.push_back(&(*samples)[i]);
    MVL_RETURN_IF_ERROR(WriteEmbeddings(options.feature_cache_dir, name, features.values,
                                        SampleIndex(rows, {config.label()}, salt)));
    MVL_RETURN_IF_ERROR(core::WriteFileAtomically(key_path, options.cache_key));
  }
  return features;
}

absl::StatusOr<FeatureSet> SplitFeatureSet(
    VisionLanguageModel& model, const std::shared_ptr<const std::vector<data::Sample>>& samples,
    const data::DataConfig& data, const ClassifierConfig& config,
    const ClassifierOptions& options, const std::string& split) {
  if (samples == nullptr || samples->empty()) {
    return absl::FailedPreconditionError(absl::StrCat("classifier: the ", split,
                                                      " split has no samples"));
  }
  MVL_ASSIGN_OR_RETURN(SampleEmbeddings features,
                       SplitFeatures(model, samples, data, config, options, split));
  MVL_ASSIGN_OR_RETURN(FeatureSet set, MakeFeatureSet(*samples, features, config.label(),
                                                      config.num_classes()));
  if (set.labels.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "classifier: no ", split, " sample has the label ", config.label()));
  }
  return set;
}

// Parameters and buffers of the tower and the head, under Mammo-CLIP's
// names (the tower's as the model names them).
core::StateDict ClassifierState(VisionLanguageModel& model, ClassifierHead& head,
                                bool with_tower) {
  core::StateDict state;
  if (with_tower) {
    for (const auto& item : model.ImageParameters()) state.push_back(item);
    for (const auto& item : model.ImageBuffers()) state.push_back(item);
  }
  for (const auto& item : head->named_parameters()) {
    state.emplace_back("classifier." + item.key(), item.value());
  }
  return state;
}

core::StateDict CloneState(const core::StateDict& state) {
  core::StateDict copy;
  for (const auto& [name, t] : state) copy.emplace_back(name, t.detach().clone());
  return copy;
}

void RestoreState(core::StateDict& live, const core::StateDict& saved) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < live.size(); ++i) live[i].second.copy_(saved[i].second);
}

absl::Status WriteOutputs(const ClassifierOptions& options, const ClassifierConfig& config,
                          ClassifierResult& result, const core::StateDict& state) {
  if (options.out_dir.empty()) return absl::OkStatus();
  EvalReport report;
  report.title = config.mode() == ClassifierConfig::FINE_TUNE ? "Fine-tuned classifier"
                                                               : "Linear probe";
  report.context = options.context;
  report.context.emplace_back("best epoch", absl::StrCat(result.best_epoch));
  report.predictions = {result.test_predictions};
  report.metrics = {result.test_metrics};
  MVL_RETURN_IF_ERROR(WriteEvalReport(options.out_dir, report, config.report()));
  std::vector<core::Series> curves(3);
  curves[0].name = "train loss";
  curves[1].name = "validation loss";
  curves[2].name = config.select_by_auc() ? "validation AUC" : "validation accuracy";
  for (const EpochLog& log : result.history) {
    for (auto& c : curves) c.x.push_back(log.epoch);
    curves[0].y.push_back(log.train_loss);
    curves[1].y.push_back(log.val_loss);
    curves[2].y.push_back(log.val_metric);
  }
  core::PlotOptions plot;
  plot.title = absl::StrCat(report.title, ": ", config.label());
  plot.x_label = "Epoch";
  plot.y_label = "Loss / metric";
  MVL_RETURN_IF_ERROR(
      core::WriteLinePlot(options.out_dir + "/training_curve.png", curves, plot));
  return core::WriteStateDict(options.out_dir + "/classifier.safetensors", state);
}

absl::StatusOr<ClassifierResult> RunLinearProbe(VisionLanguageModel& model,
                                                const ClassifierSplits& splits,
                                                const data::DataConfig& data,
                                                const ClassifierConfig& config,
                                                const ClassifierOptions& options) {
  MVL_ASSIGN_OR_RETURN(FeatureSet train,
                       SplitFeatureSet(model, splits.train, data, config, options, "train"));
  MVL_ASSIGN_OR_RETURN(FeatureSet val,
                       SplitFeatureSet(model, splits.val, data, config, options, "val"));
  MVL_ASSIGN_OR_RETURN(FeatureSet test,
                       SplitFeatureSet(model, splits.test, data, config, options, "test"));
  MVL_ASSIGN_OR_RETURN(TrainedHead trained, TrainLinearProbe(train, val, config));
  ClassifierResult result;
  result.history = trained.history;
  result.best_epoch = trained.best_epoch;
  result.best_val_metric = trained.best_val_metric;
  MVL_ASSIGN_OR_RETURN(result.test_predictions,
                       PredictFeatures(trained.head, test, config.label(), ClassNames(config)));
  MVL_ASSIGN_OR_RETURN(result.test_metrics, EvaluateTask(result.test_predictions,
                                                         config.grouping(), config.report()));
  MVL_RETURN_IF_ERROR(WriteOutputs(options, config, result,
                                   ClassifierState(model, trained.head, /*with_tower=*/false)));
  return result;
}

absl::StatusOr<ClassifierResult> RunFineTune(VisionLanguageModel& model,
                                             const ClassifierSplits& splits,
                                             const data::DataConfig& data,
                                             const ClassifierConfig& config,
                                             const ClassifierOptions& options) {
  if (splits.train == nullptr || splits.val == nullptr || splits.test == nullptr) {
    return absl::InvalidArgumentError("fine-tune: train, val and test splits are needed");
  }
  // Training rows: the samples with the label.
  std::vector<data::Sample> labelled;
  std::vector<int> labels;
  for (const data::Sample& s : *splits.train) {
    const float value = s.Label(config.label(), NAN);
    if (std::isnan(value)) continue;
    if (value != std::floor(value) || value < 0 || value >= config.num_classes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fine-tune: train sample ", labelled.size(), " has ", config.label(), " = ",
          value, ", not a class in 0..", config.num_classes() - 1));
    }
    labelled.push_back(s);
    labels.push_back(static_cast<int>(value));
  }
  if (labelled.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("fine-tune: no train sample has the label ", config.label()));
  }
  data::DataConfig train_data = data;
  train_data.mutable_loader()->clear_label_names();
  train_data.mutable_loader()->add_label_names(config.label());
  std::vector<data::TransformConfig> transforms(train_data.transforms().begin(),
                                                train_data.transforms().end());
  torch::manual_seed(config.seed());
  const bool projected = config.features() == ClassifierConfig::PROJECTED;
  for (auto& [name, p] : model.ImageParameters()) p.set_requires_grad(true);

  // The feature width, from one image.
  auto first = std::make_shared<std::vector<data::Sample>>(labelled.begin(), labelled.begin() + 1);
  MVL_ASSIGN_OR_RETURN(SampleEmbeddings probe, EmbedSamples(model, first, data,
                                                            FeatureKind(config), "feature width"));
  MVL_ASSIGN_OR_RETURN(ClassifierHead head, BuildClassifierHead(config, probe.values.size(1)));
  train::NamedTensors params;
  for (const auto& item : model.ImageParameters()) params.push_back(item);
  for (const auto& item : head->named_parameters()) {
    params.emplace_back("classifier." + item.key(), item.value());
  }
  const int64_t batches = data::BatchesPerEpoch(static_cast<int64_t>(labelled.size()),
                                                train_data.loader().batch_size(),
                                                train_data.loader().drop_last(), {});
  if (batches == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "fine-tune: ", labelled.size(), " labelled train samples make no full batch of ",
        train_data.loader().batch_size()));
  }
  train::TrainConfig optim = config.optimizer();
  optim.set_max_steps(batches * config.epochs());
  MVL_ASSIGN_OR_RETURN(auto groups, train::MakeParamGroups(params, optim));
  MVL_ASSIGN_OR_RETURN(auto optimizer, train::BuildOptimizer(optim, groups));
  MVL_ASSIGN_OR_RETURN(train::LrSchedule schedule,
                       train::BuildLrSchedule(optim.schedule(), train::OptimizerBaseLr(optim),
                                              optim.max_steps()));
  core::StateDict live = ClassifierState(model, head, /*with_tower=*/true);
  core::StateDict best;
  EarlyStopping stopping(config.patience());
  ClassifierResult result;
  std::mt19937_64 rng(config.seed());
  ReportConfig no_bootstrap = config.report();
  no_bootstrap.set_bootstrap_resamples(0);
  int64_t step = 0;
  for (int epoch = 0; epoch < config.epochs(); ++epoch) {
    auto epoch_samples = std::make_shared<std::vector<data::Sample>>();
    for (int64_t i : EpochOrder(labels, config.num_classes(), config.balanced_sampling(), rng)) {
      epoch_samples->push_back(labelled[i]);
    }
    data::LoaderConfig loader_config = train_data.loader();
    loader_config.set_seed(config.seed() + static_cast<uint64_t>(epoch));
    MVL_ASSIGN_OR_RETURN(std::unique_ptr<data::Loader> loader,
                         data::Loader::Create(loader_config, epoch_samples,
                                              train_data.pairing(), transforms));
    EpochLog log;
    log.epoch = epoch;
    double loss_sum = 0;
    int64_t seen = 0;
    core::ProgressOptions progress_options;
    progress_options.unit = "img";
    core::ProgressReporter progress(absl::StrCat("fine-tune epoch ", epoch),
                                    loader->batches_per_epoch() * loader_config.batch_size(),
                                    progress_options);
    for (int64_t b = 0; b < loader->batches_per_epoch(); ++b) {
      MVL_ASSIGN_OR_RETURN(data::Batch batch, loader->Next());
      if (batch.size() == 0) continue;
      model.SetTraining(true);
      head->train();
      torch::AutoGradMode grad(true);
      MVL_ASSIGN_OR_RETURN(at::Tensor features, model.ImageFeatures(batch.images[0], projected));
      MVL_RETURN_IF_ERROR(core::RunTorch("fine-tune step", [&]() -> absl::Status {
        head->to(features.device());
        at::Tensor y = batch.labels.select(1, 0).to(features.device()).to(at::kLong);
        at::Tensor loss = ClassifierLoss(head->forward(features), y, config);
        optimizer->ZeroGrad();
        loss.backward();
        const double value = loss.item<double>();
        if (!std::isfinite(value)) {
          return absl::InternalError(absl::StrCat("fine-tune: non-finite loss at epoch ",
                                                  epoch, " batch ", b));
        }
        loss_sum += value * batch.size();
        seen += batch.size();
        return optimizer->Step(schedule(step++));
      }));
      progress.Add(batch.size());
    }
    progress.Finish();
    log.train_loss = seen > 0 ? loss_sum / seen : NAN;
    MVL_ASSIGN_OR_RETURN(FeatureSet val, SplitFeatureSet(model, splits.val, data, config,
                                                         ClassifierOptions(), "val"));
    MVL_ASSIGN_OR_RETURN(TaskPredictions p,
                         PredictFeatures(head, val, config.label(), ClassNames(config)));
    MVL_ASSIGN_OR_RETURN(TaskMetrics m, EvaluateTask(p, config.grouping(), no_bootstrap));
    MVL_ASSIGN_OR_RETURN(log.val_loss, core::RunTorch("validation loss", [&] {
      torch::NoGradGuard no_grad;
      std::vector<int64_t> y(val.labels.begin(), val.labels.end());
      at::Tensor logits = head->forward(val.features.to(head->parameters()[0].device()));
      return ClassifierLoss(logits, at::tensor(y, at::kLong).to(logits.device()), config)
          .item<double>();
    }));
    log.val_metric = SelectionMetric(m, log.val_loss, config);
    result.history.push_back(log);
    LOG(INFO) << "fine-tune epoch " << epoch << ": train loss " << log.train_loss
              << ", val loss " << log.val_loss << ", val metric " << log.val_metric;
    if (stopping.Update(epoch, log.val_metric)) best = CloneState(live);
    if (stopping.ShouldStop()) break;
  }
  MVL_RETURN_IF_ERROR(core::RunTorch("restoring the best epoch", [&] { RestoreState(live, best); }));
  result.best_epoch = stopping.best_epoch();
  result.best_val_metric = stopping.best_metric();
  MVL_ASSIGN_OR_RETURN(FeatureSet test, SplitFeatureSet(model, splits.test, data, config,
                                                        ClassifierOptions(), "test"));
  MVL_ASSIGN_OR_RETURN(result.test_predictions,
                       PredictFeatures(head, test, config.label(), ClassNames(config)));
  MVL_ASSIGN_OR_RETURN(result.test_metrics, EvaluateTask(result.test_predictions,
                                                         config.grouping(), config.report()));
  MVL_RETURN_IF_ERROR(WriteOutputs(options, config, result, live));
  return result;
}

}  // namespace

absl::StatusOr<FeatureSet> MakeFeatureSet(const std::vector<data::Sample>& samples,
                                          const SampleEmbeddings& embeddings,
                                          const std::string& label, int num_classes) {
  FeatureSet set;
  set.rows_without_label = embeddings.failures;
  std::vector<int64_t> rows;
  for (size_t r = 0; r < embeddings.sample_indices.size(); ++r) {
    const int64_t index = embeddings.sample_indices[r];
    const data::Sample& s = samples[index];
    const float value = s.Label(label, NAN);
    if (std::isnan(value)) {
      ++set.rows_without_label;
      continue;
    }
    if (value != std::floor(value) || value < 0 || value >= num_classes) {
      return absl::InvalidArgumentError(absl::StrCat("sample ", index, " has ", label, " = ",
                                                     value, ", not a class in 0..",
                                                     num_classes - 1));
    }
    rows.push_back(static_cast<int64_t>(r));
    set.labels.push_back(static_cast<int>(value));
    set.sample_ids.push_back(s.id);
    set.patient_ids.push_back(s.patient_id);
    set.lateralities.push_back(s.laterality);
  }
  MVL_ASSIGN_OR_RETURN(set.features, core::RunTorch("selecting labelled rows", [&] {
                         return embeddings.values.index_select(0, at::tensor(rows, at::kLong));
                       }));
  return set;
}

absl::StatusOr<ClassifierResult> RunClassifier(VisionLanguageModel& model,
                                               const ClassifierSplits& splits,
                                               const data::DataConfig& data,
                                               const ClassifierConfig& config,
                                               const ClassifierOptions& options) {
  MVL_RETURN_IF_ERROR(ValidateClassifierConfig(config));
  MVL_RETURN_IF_ERROR(ValidateReportConfig(config.report(), "classifier.report"));
  if (config.mode() == ClassifierConfig::LINEAR_PROBE) {
    return RunLinearProbe(model, splits, data, config, options);
  }
  return RunFineTune(model, splits, data, config, options);
}

}  // namespace mammovl::eval
