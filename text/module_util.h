// Small helpers shared by the text models.
#ifndef MAMMOVL_TEXT_MODULE_UTIL_H_
#define MAMMOVL_TEXT_MODULE_UTIL_H_

#include <torch/nn/module.h>

#include <memory>
#include <string>

namespace mammovl::text {

// Registers an empty module under `name` that only groups children, so
// parameter names nest as Hugging Face's do ("attention.self.query.weight").
inline std::shared_ptr<torch::nn::Module> RegisterGroup(
    torch::nn::Module* parent, const std::string& name) {
  return parent->register_module(name, std::make_shared<torch::nn::Module>());
}

// True if any parameter of `module` requires grad.
inline bool AnyRequiresGrad(const torch::nn::Module& module) {
  for (const auto& p : module.parameters()) {
    if (p.requires_grad()) return true;
  }
  return false;
}

}  // namespace mammovl::text

#endif  // MAMMOVL_TEXT_MODULE_UTIL_H_
