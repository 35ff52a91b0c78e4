// Test helpers shared by the mil/ parity tests: the deterministic weights and
// inputs of fpn_mil.md §8 and the state-dict key lists written by
// tools/fixtures/make_mil_fixtures.py.
#ifndef MAMMOVL_MIL_TESTING_MODULE_FIXTURES_H_
#define MAMMOVL_MIL_TESTING_MODULE_FIXTURES_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>

namespace mammovl::mil::testing {

// The k-th tensor of the module's state dict, in sorted key order, gets
// 0.05·sin(0.1·i + 0.3·k) at flat index i.
void SinFill(torch::nn::Module& module);

// sin(0.013·i + 0.5) at flat index i, float32.
at::Tensor Inp(const std::vector<int64_t>& shape);

// "name AxBxC" per state-dict entry, sorted (the format of *_keys.txt).
std::vector<std::string> KeysWithShapes(const torch::nn::Module& module);

// Lines of a key file under mil/testdata (empty lines dropped).
std::vector<std::string> ReadKeyFile(const std::string& path);

// Reads mil/testdata/<group>/<name>.npy as a tensor (fails the test if
// missing).
at::Tensor Golden(const std::string& group, const std::string& name);

int64_t ParameterCount(const torch::nn::Module& module);

// Expects equal shapes and values within 1e-5 (absolute and relative),
// naming `what` and the largest difference otherwise.
void ExpectClose(const at::Tensor& actual, const at::Tensor& expected,
                 const std::string& what);

}  // namespace mammovl::mil::testing

#endif  // MAMMOVL_MIL_TESTING_MODULE_FIXTURES_H_
