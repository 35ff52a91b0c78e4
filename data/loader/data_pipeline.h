// Builds the whole data pipeline of a `DataConfig`: reads the dataset's
// table(s), then creates the loader over its samples. No LibTorch beyond
// the loader's batch type.
#ifndef MAMMOVL_DATA_LOADER_DATA_PIPELINE_H_
#define MAMMOVL_DATA_LOADER_DATA_PIPELINE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "data/datasets/sample.h"
#include "data/loader/data_config.pb.h"
#include "data/loader/loader.h"

namespace mammovl::data {

struct DataPipeline {
  std::shared_ptr<const Dataset> dataset;
  std::unique_ptr<Loader> loader;
};

// Errors from reading the dataset or from the loader's validation, with the
// field or file named.
absl::StatusOr<DataPipeline> BuildDataPipeline(const DataConfig& config,
                                               LoaderOptions options = {});

}  // namespace mammovl::data

#endif  // MAMMOVL_DATA_LOADER_DATA_PIPELINE_H_
