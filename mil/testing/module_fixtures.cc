#include "mil/testing/module_fixtures.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/npy_tensor.h"
#include "gtest/gtest.h"

namespace mammovl::mil::testing {
namespace {

std::map<std::string, at::Tensor> StateDict(const torch::nn::Module& module) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    out[p.key()] = p.value();
  }
  for (const auto& b : module.named_buffers(/*recurse=*/true)) {
    out[b.key()] = b.value();
  }
  return out;
}

}  // namespace

void SinFill(torch::nn::Module& module) {
  at::NoGradGuard no_grad;
  int64_t k = 0;
  for (auto& [name, tensor] : StateDict(module)) {
    const at::Tensor i = at::arange(tensor.numel(), at::kDouble);
    tensor.copy_((0.05 * at::sin(0.1 * i + 0.3 * static_cast<double>(k)))
                     .view(tensor.sizes())
                     .to(tensor.scalar_type()));
    ++k;
  }
}

at::Tensor Inp(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return at::sin(0.013 * at::arange(n, at::kDouble) + 0.5)
      .view(shape)
      .to(at::kFloat);
}

std::vector<std::string> KeysWithShapes(const torch::nn::Module& module) {
  std::vector<std::string> out;
  for (const auto& [name, tensor] : StateDict(module)) {
    std::vector<int64_t> dims(tensor.sizes().begin(), tensor.sizes().end());
    out.push_back(absl::StrCat(name, " ", absl::StrJoin(dims, "x")));
  }
  return out;
}

std::vector<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

at::Tensor Golden(const std::string& group, const std::string& name) {
  const std::string path = absl::StrCat("mil/testdata/", group, "/", name, ".npy");
  absl::StatusOr<at::Tensor> t = core::ReadNpyTensor(path);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : at::zeros({0});
}

int64_t ParameterCount(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

void ExpectClose(const at::Tensor& actual, const at::Tensor& expected,
                 const std::string& what) {
  constexpr double kTol = 1e-5;
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  EXPECT_TRUE(at::allclose(actual.to(at::kFloat), expected.to(at::kFloat), kTol, kTol))
      << what << ": max abs diff "
      << (actual.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace mammovl::mil::testing
