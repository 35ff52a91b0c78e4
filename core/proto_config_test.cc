#include "core/proto_config.h"

#include <cstdlib>
#include <string>

#include "core/file_io.h"
#include "core/proto_config_test.pb.h"
#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::mammovl::core::testing::Experiment;
using ::mammovl::core::testing::TrainConfig;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string WriteConfig(const std::string& name, const std::string& text) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  EXPECT_THAT(WriteFileAtomically(path, text), IsOk());
  return path;
}

TEST(ProtoConfigTest, LoadsFileWithDefaultsKept) {
  const std::string path = WriteConfig("a.pbtxt", R"pb(
    name: "demo"  # a comment
    train { optimizer { warmup_steps: 5 } run_dir: "/tmp/x" }
    data { csv: "a.csv" views: [ "CC", "MLO" ] }
  )pb");
  Experiment config;
  MVL_ASSERT_OK(LoadConfig(path, {}, &config));
  EXPECT_EQ(config.name(), "demo");
  EXPECT_EQ(config.train().optimizer().warmup_steps(), 5);
  EXPECT_FLOAT_EQ(config.train().optimizer().lr(), 0.001f);  // schema default
  EXPECT_EQ(config.train().precision(), TrainConfig::FP32);
  ASSERT_EQ(config.data_size(), 1);
  EXPECT_THAT(config.data(0).views(), ElementsAre("CC", "MLO"));
}

TEST(ProtoConfigTest, UnknownFieldInFileNamesFileLineAndPath) {
  const std::string path = WriteConfig("b.pbtxt",
                                       "name: \"x\"\n"
                                       "train {\n"
                                       "  optimizer {\n"
                                       "    lr: 0.1\n"
                                       "    learning_rate: 0.2\n"
                                       "  }\n"
                                       "}\n");
  Experiment config;
  EXPECT_THAT(LoadConfig(path, {}, &config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path + ":5:"), HasSubstr("in 'train.optimizer'"),
                             HasSubstr("learning_rate"))));
}

TEST(ProtoConfigTest, UnknownFieldInsideRepeatedMessageNamesListField) {
  Experiment config;
  EXPECT_THAT(ParseTextProto("data { csv: 'a' }\ndata { cvs: 'b' }", "inline", &config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("inline:2:"), HasSubstr("in 'data'"), HasSubstr("cvs"))));
}

TEST(ProtoConfigTest, BadValueIsInvalidArgument) {
  Experiment config;
  EXPECT_THAT(ParseTextProto("train { optimizer { warmup_steps: \"many\" } }", "f", &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("in 'train.optimizer'")));
  EXPECT_THAT(ParseTextProto("train { precision: FP64 }", "f", &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("FP64")));
}

TEST(ProtoConfigTest, MissingFileIsNotFound) {
  Experiment config;
  EXPECT_THAT(LoadConfig("/nonexistent/c.pbtxt", {}, &config),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/c.pbtxt")));
}

TEST(ProtoConfigTest, PathOverridesSetScalarsEnumsAndStrings) {
  const std::string path = WriteConfig("c.pbtxt", "train { optimizer { lr: 0.5 } }");
  Experiment config;
  MVL_ASSERT_OK(LoadConfig(path,
                           {"train.optimizer.lr: 1e-4", "train.precision: BF16",
                            "name: 'run 7'", "train.run_dir: \"/out\""},
                           &config));
  EXPECT_FLOAT_EQ(config.train().optimizer().lr(), 1e-4f);
  EXPECT_EQ(config.train().precision(), TrainConfig::BF16);
  EXPECT_EQ(config.name(), "run 7");
  EXPECT_EQ(config.train().run_dir(), "/out");
}

TEST(ProtoConfigTest, RepeatedOverrideReplacesList) {
  Experiment config;
  MVL_ASSERT_OK(ParseTextProto("train { optimizer { milestones: [1, 2, 3] } }", "f", &config));
  MVL_ASSERT_OK(ApplyOverride("train.optimizer.milestones: [10, 20]", &config));
  EXPECT_THAT(config.train().optimizer().milestones(), ElementsAre(10, 20));
}

TEST(ProtoConfigTest, OverrideSwitchesOneof) {
  Experiment config;
  MVL_ASSERT_OK(ParseTextProto("train { cosine_steps: 100 }", "f", &config));
  MVL_ASSERT_OK(ApplyOverride("train.step_size: 7", &config));
  EXPECT_EQ(config.train().schedule_case(), TrainConfig::kStepSize);
  EXPECT_EQ(config.train().step_size(), 7);
}

TEST(ProtoConfigTest, FragmentOverrideMerges) {
  Experiment config;
  MVL_ASSERT_OK(ParseTextProto("train { optimizer { lr: 0.5 warmup_steps: 3 } }", "f", &config));
  MVL_ASSERT_OK(ApplyOverride("train { optimizer { lr: 0.25 } }", &config));
  EXPECT_FLOAT_EQ(config.train().optimizer().lr(), 0.25f);
  EXPECT_EQ(config.train().optimizer().warmup_steps(), 3);
  MVL_ASSERT_OK(ApplyOverride("train.optimizer { warmup_steps: 9 }", &config));
  EXPECT_EQ(config.train().optimizer().warmup_steps(), 9);
}

TEST(ProtoConfigTest, OverrideErrorsNameTheFieldPath) {
  Experiment config;
  EXPECT_THAT(ApplyOverride("train.optimizer.lrr: 1", &config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("no field 'lrr' in 'train.optimizer'"),
                             HasSubstr("OptimizerConfig"), HasSubstr("lr, warmup_steps"))));
  EXPECT_THAT(ApplyOverride("name.x: 1", &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'name' is not a single message")));
  EXPECT_THAT(ApplyOverride("data.csv: 'x'", &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'data' is not a single message")));
  EXPECT_THAT(ApplyOverride("train.optimizer.lr: fast", &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad value for 'train.optimizer.lr'")));
  EXPECT_THAT(ApplyOverride("just words", &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected")));
  EXPECT_THAT(ApplyOverride("train { bogus: 1 }", &config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bogus")));
}

TEST(ProtoConfigTest, PrintsParsableText) {
  Experiment config;
  MVL_ASSERT_OK(ParseTextProto("name: 'x' train { optimizer { lr: 0.5 } }", "f", &config));
  Experiment back;
  MVL_ASSERT_OK(ParseTextProto(ToTextProto(config), "printed", &back));
  EXPECT_EQ(back.SerializeAsString(), config.SerializeAsString());
}

}  // namespace
}  // namespace mammovl::core
