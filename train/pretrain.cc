#include "train/pretrain.h"

#include <ATen/ATen.h>
#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/proto_config.h"
#include "core/status_macros.h"
#include "data/datasets/datasets.h"
#include "data/loader/loader.h"
#include "data/transforms/transform_config.pb.h"
#include "losses/loss_builder.h"
#include "train/distributed.h"
#include "train/loss_curve.h"
#include "train/pretrain_model.h"

namespace mammovl::train {
namespace {

// The loader as a `DataSource`: a position is "epoch:batch", and seeking
// re-creates the loader at that position (it starts its workers there).
class LoaderSource : public DataSource<data::Batch> {
 public:
  using Factory = std::function<absl::StatusOr<std::unique_ptr<data::Loader>>(
      const data::LoaderPosition&)>;

  static absl::StatusOr<std::unique_ptr<LoaderSource>> Create(Factory factory) {
    auto source = std::unique_ptr<LoaderSource>(new LoaderSource(factory));
    MVL_ASSIGN_OR_RETURN(source->loader_, factory(data::LoaderPosition{}));
    return source;
  }

  absl::StatusOr<data::Batch> Next() override { return loader_->Next(); }

  std::string Position() const override {
    const data::LoaderPosition p = loader_->position();
    return absl::StrCat(p.epoch, ":", p.batch);
  }

  absl::Status Seek(absl::string_view position) override {
    std::vector<std::string> parts = absl::StrSplit(position, ':');
    data::LoaderPosition p;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &p.epoch) ||
        !absl::SimpleAtoi(parts[1], &p.batch) || p.epoch < 0 || p.batch < 0) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint data position '", position, "' is not 'epoch:batch'"));
    }
    loader_.reset();  // stop its workers before starting new ones
    MVL_ASSIGN_OR_RETURN(loader_, factory_(p));
    return absl::OkStatus();
  }

 private:
  explicit LoaderSource(Factory factory) : factory_(std::move(factory)) {}
  Factory factory_;
  std::unique_ptr<data::Loader> loader_;
};

}  // namespace

absl::Status ValidateExperiment(const Experiment& experiment) {
  if (experiment.run_dir().empty()) {
    return absl::InvalidArgumentError("run_dir must not be empty");
  }
  if (!experiment.has_data() || !experiment.data().has_dataset()) {
    return absl::InvalidArgumentError("data.dataset is required");
  }
  MVL_RETURN_IF_ERROR(data::ValidateDatasetConfig(experiment.data().dataset()));
  for (int i = 0; i < experiment.extra_datasets_size(); ++i) {
    absl::Status s = data::ValidateDatasetConfig(experiment.extra_datasets(i));
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("extra_datasets[", i, "]: ", s.message()));
    }
  }
  if (experiment.data().transforms_size() == 0) {
    return absl::InvalidArgumentError(
        "data.transforms: at least one transform is required");
  }
  if (!experiment.has_loss()) {
    return absl::InvalidArgumentError("loss is required");
  }
  MVL_RETURN_IF_ERROR(
      ValidatePretrainModelConfig(experiment.model(), experiment.loss()));
  return ValidateTrainConfig(experiment.train());
}

absl::StatusOr<std::shared_ptr<const data::Dataset>> ReadExperimentData(
    const Experiment& experiment) {
  MVL_ASSIGN_OR_RETURN(data::Dataset dataset,
                       data::BuildDataset(experiment.data().dataset()));
  LOG(INFO) << "dataset " << dataset.name << ": " << dataset.samples.size()
            << " samples from " << dataset.rows_read << " rows ("
            << dataset.skipped.size() << " skipped, " << dataset.filtered
            << " filtered)";
  if (experiment.extra_datasets_size() > 0) {
    for (data::Sample& s : dataset.samples) s.id = absl::StrCat("0/", s.id);
  }
  for (int i = 0; i < experiment.extra_datasets_size(); ++i) {
    MVL_ASSIGN_OR_RETURN(data::Dataset extra,
                         data::BuildDataset(experiment.extra_datasets(i)));
    LOG(INFO) << "extra dataset " << extra.name << ": "
              << extra.samples.size() << " samples";
    for (data::Sample& s : extra.samples) {
      s.id = absl::StrCat(i + 1, "/", s.id);
      dataset.samples.push_back(std::move(s));
    }
    dataset.name += "+" + extra.name;
    dataset.rows_read += extra.rows_read;
    dataset.filtered += extra.filtered;
    for (auto& issue : extra.skipped) dataset.skipped.push_back(issue);
  }
  return std::make_shared<const data::Dataset>(std::move(dataset));
}

absl::StatusOr<TrainResult> RunPretraining(const Experiment& experiment,
                                           const PretrainOptions& options) {
  MVL_RETURN_IF_ERROR(ValidateExperiment(experiment));
  const std::string config_text = core::ToTextProto(experiment);
  MVL_ASSIGN_OR_RETURN(const DistributedEnv env,
                       DistributedEnvFromEnvironment());
  MVL_ASSIGN_OR_RETURN(
      std::unique_ptr<Communicator> comm,
      CreateCommunicator(experiment.train().distributed(), env));
  LogInfoOnlyOnMainRank(*comm);
  LOG(INFO) << "experiment " << experiment.name() << " (rank " << comm->rank()
            << " of " << comm->world_size() << "), effective config:\n"
            << config_text;

  MVL_ASSIGN_OR_RETURN(std::shared_ptr<const data::Dataset> dataset,
                       ReadExperimentData(experiment));
  std::shared_ptr<const std::vector<data::Sample>> samples(dataset,
                                                           &dataset->samples);
  const data::DataConfig& dc = experiment.data();
  const std::vector<data::TransformConfig> transforms(dc.transforms().begin(),
                                                      dc.transforms().end());
  const data::ShardSpec shard{comm->rank(), comm->world_size()};
  MVL_ASSIGN_OR_RETURN(
      std::unique_ptr<LoaderSource> source,
      LoaderSource::Create([&, samples, transforms, shard](
                               const data::LoaderPosition& start) {
        data::LoaderOptions lo;
        lo.shard = shard;
        lo.start = start;
        return data::Loader::Create(dc.loader(), samples, dc.pairing(),
                                    transforms, lo);
      }));

  // The same initial weights on every rank and in every run of this seed
  // (the trainer broadcasts rank 0's anyway).
  at::manual_seed(experiment.train().seed());
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<PretrainModel> model,
                       BuildPretrainModel(experiment));
  model->SetTraining(true);
  LOG(INFO) << "model: " << model->Parameters().size() << " parameter tensors, "
            << [&] {
                 int64_t n = 0;
                 for (const auto& [name, t] : model->Parameters())
                   n += t.numel();
                 return n;
               }()
            << " values; loss " << model->loss().name();

  losses::Loss& loss = model->loss();
  int64_t epoch = 0;
  TrainerOptions topts;
  topts.run_dir = experiment.run_dir();
  topts.resume = options.resume;
  topts.config_text = config_text;
  topts.comm = comm.get();
  topts.on_finish = [](const MetricsSeries& series, const std::string& dir) {
    return WriteLossCurve(series, dir);
  };
  topts.after_backward = [&](int64_t step) {
    losses::LossContext context;
    context.global_step = step;
    context.epoch = epoch;
    loss.AfterBackward(context);
  };
  topts.after_step = [&](int64_t completed) {
    loss.AfterOptimizerStep();
    if (options.after_step) options.after_step(completed);
  };
  MVL_ASSIGN_OR_RETURN(
      std::unique_ptr<Trainer> trainer,
      Trainer::Create(experiment.train(), model->Parameters(),
                      model->Buffers(), std::move(topts)));

  Communicator* c = comm.get();
  const uint64_t seed = experiment.train().seed();
  std::vector<std::string> metric_names;
  MVL_ASSIGN_OR_RETURN(
      TrainResult result,
      trainer->Run(*source, [&](data::Batch& batch, const StepContext& ctx)
                                -> absl::StatusOr<StepOutput> {
        epoch = batch.position.epoch;
        losses::LossContext context;
        context.batch.rank = c->rank();
        context.batch.world_size = c->world_size();
        if (c->world_size() > 1) {
          context.batch.gather = [c](const at::Tensor& x) {
            return AllGatherWithGrad(*c, x);
          };
        }
        context.global_step = ctx.step;
        context.epoch = batch.position.epoch;
        context.training = true;
        MVL_ASSIGN_OR_RETURN(
            losses::LossOutput out,
            model->ComputeLoss(batch, context, &dataset->samples, seed));
        StepOutput step;
        step.loss = out.total;
        step.samples = batch.size();
        // Metric names keep their positions from step to step (the trainer
        // averages by position); terms a loss adds later (MaMA's gated
        // terms) are appended, and absent ones read 0.
        std::vector<std::pair<std::string, double>> values;
        for (const losses::LossTerm& term : out.terms) {
          values.emplace_back(term.name, term.value.item<double>());
        }
        for (const auto& [name, p] : loss.parameters()) {
          if (p.numel() == 1) values.emplace_back(name, p.item<double>());
        }
        for (const auto& [name, value] : values) {
          if (std::find(metric_names.begin(), metric_names.end(), name) ==
              metric_names.end()) {
            metric_names.push_back(name);
          }
        }
        for (const std::string& name : metric_names) {
          double v = 0;
          for (const auto& [n, value] : values) {
            if (n == name) v = value;
          }
          step.metrics.emplace_back(name, v);
        }
        return step;
      }));
  LOG(INFO) << "finished " << result.steps << " steps, last loss "
            << result.last_loss << ", checkpoint " << result.last_checkpoint;
  return result;
}

}  // namespace mammovl::train
