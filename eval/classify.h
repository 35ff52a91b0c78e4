// The library behind classify_main: reads the TRAIN, VALID and TEST parts of
// the configured dataset, loads the pretrained model, and runs the linear
// probe or fine-tune of `classifier_runner.h`, writing the report, training
// curve, weights and the effective config into `out_dir`.
#ifndef MAMMOVL_EVAL_CLASSIFY_H_
#define MAMMOVL_EVAL_CLASSIFY_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eval/classifier_runner.h"
#include "eval/pipeline_config.pb.h"

namespace mammovl::eval {

// Checks the pipeline config without reading files. InvalidArgument naming
// the field.
absl::Status ValidateClassifyConfig(const ClassifyConfig& config);

absl::StatusOr<ClassifierResult> RunClassify(const ClassifyConfig& config);

}  // namespace mammovl::eval

#endif  // MAMMOVL_EVAL_CLASSIFY_H_
