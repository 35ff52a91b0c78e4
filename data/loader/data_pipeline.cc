#include "data/loader/data_pipeline.h"

#include <utility>
#include <vector>

#include <glog/logging.h>

#include "core/status_macros.h"
#include "data/datasets/datasets.h"

namespace mammovl::data {

absl::StatusOr<DataPipeline> BuildDataPipeline(const DataConfig& config, LoaderOptions options) {
  if (config.transforms_size() == 0) {
    return absl::InvalidArgumentError("data.transforms: at least one transform is required");
  }
  MVL_ASSIGN_OR_RETURN(Dataset dataset, BuildDataset(config.dataset()));
  LOG(INFO) << "dataset " << dataset.name << ": " << dataset.samples.size() << " samples from "
            << dataset.rows_read << " rows (" << dataset.skipped.size() << " skipped, "
            << dataset.filtered << " filtered)";
  auto shared = std::make_shared<const Dataset>(std::move(dataset));
  // The loader shares the sample vector with the dataset.
  std::shared_ptr<const std::vector<Sample>> samples(shared, &shared->samples);
  const std::vector<TransformConfig> transforms(config.transforms().begin(),
                                                config.transforms().end());
  MVL_ASSIGN_OR_RETURN(std::unique_ptr<Loader> loader,
                       Loader::Create(config.loader(), samples, config.pairing(), transforms,
                                      std::move(options)));
  return DataPipeline{std::move(shared), std::move(loader)};
}

}  // namespace mammovl::data
