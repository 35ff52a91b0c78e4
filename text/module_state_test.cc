#include "text/module_state.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::text {
namespace {

using ::mammovl::core::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct TinyImpl : torch::nn::Module {
  TinyImpl() {
    emb = register_module("emb", torch::nn::Embedding(4, 2));
    fc = register_module("fc", torch::nn::Linear(2, 3));
    register_buffer("counter", at::zeros({1}));
  }
  torch::nn::Embedding emb{nullptr};
  torch::nn::Linear fc{nullptr};
};

NamedTensors Full() {
  return {{"emb.weight", at::ones({4, 2}, at::kDouble)},
          {"fc.weight", at::full({3, 2}, 2.0)},
          {"fc.bias", at::full({3}, 3.0)},
          {"counter", at::full({1}, 7.0)},
          {"extra.weight", at::ones({1})}};
}

TEST(ModuleStateTest, CopiesByNameConvertsDtypesAndReportsExtras) {
  TinyImpl m;
  MVL_ASSERT_OK_AND_ASSIGN(ModuleLoadReport r, LoadModuleState(m, Full()));
  EXPECT_EQ(r.loaded, 4);
  EXPECT_THAT(r.unexpected, ElementsAre("extra.weight"));
  EXPECT_EQ(m.emb->weight.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(m.fc->bias, at::full({3}, 3.0)));
  EXPECT_EQ(m.named_buffers()["counter"].item<float>(), 7.0f);
}

TEST(ModuleStateTest, MissingAndMisShapedTensorsAreErrorsAndCopyNothing) {
  TinyImpl m;
  const at::Tensor before = m.fc->weight.clone();
  NamedTensors missing = Full();
  missing.erase(missing.begin() + 2);  // fc.bias
  EXPECT_THAT(
      LoadModuleState(m, missing),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fc.bias")));
  NamedTensors wrong = Full();
  wrong[1].second = at::ones({2, 3});
  EXPECT_THAT(LoadModuleState(m, wrong),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"fc.weight\" has shape [2, 3]")));
  EXPECT_TRUE(at::equal(m.fc->weight, before));
  ModuleLoadOptions optional;
  optional.optional_substrings = {"bias"};
  MVL_ASSERT_OK_AND_ASSIGN(ModuleLoadReport r,
                           LoadModuleState(m, missing, optional));
  EXPECT_THAT(r.kept, ElementsAre("fc.bias"));
}

TEST(ModuleStateTest, GrowsAllowedRowsKeepingTheRest) {
  TinyImpl m;
  const at::Tensor last_rows = m.emb->weight.narrow(0, 2, 2).clone();
  NamedTensors state = Full();
  state[0].second = at::full({2, 2}, 9.0);
  EXPECT_THAT(LoadModuleState(m, state),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ModuleLoadOptions grow;
  grow.growable_rows = {"emb.weight"};
  MVL_ASSERT_OK_AND_ASSIGN(ModuleLoadReport r, LoadModuleState(m, state, grow));
  ASSERT_EQ(r.grown.size(), 1u);
  EXPECT_EQ(r.grown[0].second, 2);
  EXPECT_TRUE(at::equal(m.emb->weight.narrow(0, 0, 2), at::full({2, 2}, 9.0)));
  EXPECT_TRUE(at::equal(m.emb->weight.narrow(0, 2, 2), last_rows));
}

TEST(ModuleStateTest, StripPrefixKeepsOnlyPrefixedNames) {
  const NamedTensors s = {{"bert.a", at::ones({1})}, {"cls.b", at::ones({1})}};
  const NamedTensors out = StripPrefix(s, "bert.");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "a");
}

}  // namespace
}  // namespace mammovl::text
