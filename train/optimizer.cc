#include "train/optimizer.h"

#include <ATen/ATen.h>

#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/torch_status.h"
#include "train/name_pattern.h"

namespace mammovl::train {
namespace {

// Name globs of the standard no-decay policy, besides "fewer than 2 dims".
// Norm layers (LayerNorm, BatchNorm, GroupNorm, GPT-2 ln_*, EfficientNet
// _bn*), embedding tables and learned tokens (BERT *embeddings.*, GPT-2
// wte/wpe, ViT pos_embed/cls_token/register_tokens/mask_token) and
// temperatures.
constexpr const char* kStandardNoDecay[] = {
    "*bias",
    "*norm*",
    "*Norm*",
    "ln_*",
    "*.ln_*",
    "*bn*",
    "*embeddings.*",
    "wte.*",
    "*.wte.*",
    "wpe.*",
    "*.wpe.*",
    "*pos_embed*",
    "*cls_token*",
    "*register_tokens*",
    "*mask_token*",
    "*position_embedding*",
    "*token_embedding*",
    "*logit_scale*",
    "*temperature*",
};

// The state of one parameter for one optimiser; undefined tensors until the
// parameter first has a gradient.
using SlotState = std::vector<at::Tensor>;

absl::Status LoadSlots(const std::vector<ParamGroup>& groups,
                       const std::vector<const char*>& slot_names,
                       const NamedTensors& saved,
                       std::vector<std::vector<SlotState>>* state) {
  std::map<std::string, at::Tensor> by_name;
  for (const auto& [name, tensor] : saved) by_name[name] = tensor;
  std::vector<std::vector<SlotState>> loaded(groups.size());
  size_t used = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (const auto& [name, param] : groups[g].params) {
      SlotState slots(slot_names.size());
      size_t present = 0;
      for (size_t s = 0; s < slot_names.size(); ++s) {
        const std::string key = absl::StrCat(name, "/", slot_names[s]);
        auto it = by_name.find(key);
        if (it == by_name.end()) continue;
        ++present;
        const bool scalar_slot = std::string(slot_names[s]) == "step";
        if (!scalar_slot && it->second.sizes() != param.sizes()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "optimizer state '", key, "' has shape ",
              c10::str(it->second.sizes()), " but the parameter has shape ",
              c10::str(param.sizes())));
        }
        slots[s] = it->second.to(scalar_slot ? at::kFloat : param.scalar_type())
                       .clone();
      }
      if (present != 0 && present != slot_names.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("optimizer state for '", name, "' is incomplete (",
                         present, " of ", slot_names.size(), " slots)"));
      }
      if (present == 0) slots.assign(slot_names.size(), at::Tensor());
      used += present;
      loaded[g].push_back(std::move(slots));
    }
  }
  if (used != saved.size()) {
    std::set<std::string> expected;
    for (const ParamGroup& group : groups) {
      for (const auto& [name, param] : group.params) {
        for (const char* slot : slot_names)
          expected.insert(absl::StrCat(name, "/", slot));
      }
    }
    for (const auto& [name, tensor] : saved) {
      if (expected.count(name) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("optimizer state has '", name,
                         "', which does not belong to a trained parameter (was "
                         "the model or the freeze "
                         "list changed?)"));
      }
    }
  }
  *state = std::move(loaded);
  return absl::OkStatus();
}

NamedTensors SlotTensors(const std::vector<ParamGroup>& groups,
                         const std::vector<const char*>& slot_names,
                         const std::vector<std::vector<SlotState>>& state) {
  NamedTensors out;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t i = 0; i < groups[g].params.size(); ++i) {
      const SlotState& slots = state[g][i];
      for (size_t s = 0; s < slot_names.size(); ++s) {
        if (slots[s].defined()) {
          out.emplace_back(
              absl::StrCat(groups[g].params[i].first, "/", slot_names[s]),
              slots[s]);
        }
      }
    }
  }
  return out;
}

std::vector<std::vector<SlotState>> EmptyState(
    const std::vector<ParamGroup>& groups, size_t slots) {
  std::vector<std::vector<SlotState>> state(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    state[g].assign(groups[g].params.size(), SlotState(slots));
  }
  return state;
}

// An optimiser whose state is a fixed list of named slots per parameter.
class SlotOptimizer : public Optimizer {
 public:
  NamedTensors StateTensors() const override {
    return SlotTensors(groups_, slots_, state_);
  }

  absl::Status LoadStateTensors(const NamedTensors& saved) override {
    return core::RunTorch("loading optimizer state", [&] {
      return LoadSlots(groups_, slots_, saved, &state_);
    });
  }

 protected:
  SlotOptimizer(std::vector<ParamGroup> groups, std::vector<const char*> slots)
      : Optimizer(std::move(groups)), slots_(std::move(slots)) {
    state_ = EmptyState(groups_, slots_.size());
  }

  const std::vector<const char*> slots_;
  std::vector<std::vector<SlotState>> state_;
};

// torch.optim.AdamW, `_single_tensor_adamw` with amsgrad, maximize and
// capturable off.
class AdamW : public SlotOptimizer {
 public:
  AdamW(const AdamWConfig& config, std::vector<ParamGroup> groups)
      : SlotOptimizer(std::move(groups), {"step", "exp_avg", "exp_avg_sq"}),
        config_(config) {}

  absl::Status Step(double lr) override {
    return core::RunTorch("AdamW step", [&] {
      at::NoGradGuard no_grad;
      const double beta1 = config_.beta1();
      const double beta2 = config_.beta2();
      for (size_t g = 0; g < groups_.size(); ++g) {
        const double weight_decay = groups_[g].weight_decay;
        for (size_t i = 0; i < groups_[g].params.size(); ++i) {
          at::Tensor param = groups_[g].params[i].second;
          const at::Tensor& grad = param.grad();
          if (!grad.defined()) continue;
          SlotState& s = state_[g][i];
          if (!s[0].defined()) {
            s[0] = at::zeros({}, at::kFloat);
            s[1] = at::zeros_like(param, at::MemoryFormat::Preserve);
            s[2] = at::zeros_like(param, at::MemoryFormat::Preserve);
          }
          at::Tensor& step_t = s[0];
          at::Tensor& exp_avg = s[1];
          at::Tensor& exp_avg_sq = s[2];
          step_t.add_(1);
          param.mul_(1 - lr * weight_decay);
          exp_avg.mul_(beta1).add_(grad, 1 - beta1);
          exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
          const double step = step_t.item<float>();
          const double bias_correction1 = 1 - std::pow(beta1, step);
          const double bias_correction2 = 1 - std::pow(beta2, step);
          const double step_size = lr / bias_correction1;
          const double bias_correction2_sqrt = std::sqrt(bias_correction2);
          // PyTorch computes (exp_avg_sq.sqrt() / c).add_(eps) in fresh
          // tensors; the same element-wise operations in one reused buffer
          // give the same bits without allocating (and page-faulting) two
          // parameter-sized temporaries per tensor and step.
          at::Tensor denom = Scratch(param);
          at::sqrt_out(denom, exp_avg_sq);
          denom.div_(bias_correction2_sqrt).add_(config_.eps());
          param.addcdiv_(exp_avg, denom, -step_size);
        }
      }
    });
  }

 private:
  // A contiguous buffer shaped like `param`, reused across parameters.
  at::Tensor Scratch(const at::Tensor& param) {
    if (!scratch_.defined() || scratch_.numel() < param.numel() ||
        scratch_.scalar_type() != param.scalar_type()) {
      scratch_ =
          at::empty({param.numel()}, param.options().requires_grad(false));
    }
    return scratch_.narrow(0, 0, param.numel()).view(param.sizes());
  }

  AdamWConfig config_;
  at::Tensor scratch_;
};

// torch.optim.SGD, `_single_tensor_sgd` with maximize off.
class Sgd : public SlotOptimizer {
 public:
  Sgd(const SgdConfig& config, std::vector<ParamGroup> groups)
      : SlotOptimizer(std::move(groups), {"momentum_buffer"}),
        config_(config) {}

  absl::Status Step(double lr) override {
    return core::RunTorch("SGD step", [&] {
      at::NoGradGuard no_grad;
      const double momentum = config_.momentum();
      for (size_t g = 0; g < groups_.size(); ++g) {
        const double weight_decay = groups_[g].weight_decay;
        for (size_t i = 0; i < groups_[g].params.size(); ++i) {
          at::Tensor param = groups_[g].params[i].second;
          if (!param.grad().defined()) continue;
          at::Tensor d_p = param.grad();
          if (weight_decay != 0) d_p = d_p.add(param, weight_decay);
          if (momentum != 0) {
            at::Tensor& buf = state_[g][i][0];
            if (!buf.defined()) {
              buf = d_p.clone().detach();
            } else {
              buf.mul_(momentum).add_(d_p, 1 - config_.dampening());
            }
            d_p = config_.nesterov() ? d_p.add(buf, momentum) : buf;
          }
          param.add_(d_p, -lr);
        }
      }
    });
  }

 private:
  SgdConfig config_;
};

absl::Status CheckRange(bool ok, absl::string_view field, double value,
                        absl::string_view range) {
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " must be ", range, " (got ", value, ")"));
}

}  // namespace

bool IsStandardNoDecay(const std::string& name, int64_t dim) {
  if (dim < 2) return true;
  static const std::vector<NamePattern>* const kPatterns = [] {
    auto* patterns = new std::vector<NamePattern>();
    for (const char* glob : kStandardNoDecay) {
      patterns->push_back(
          *NamePattern::Parse(glob, "standard no-decay patterns"));
    }
    return patterns;
  }();
  return MatchesAny(*kPatterns, name);
}

absl::StatusOr<std::vector<ParamGroup>> MakeParamGroups(
    const NamedTensors& trainable, const TrainConfig& config) {
  const WeightDecayGroupsConfig& wd = config.weight_decay_groups();
  MVL_ASSIGN_OR_RETURN(const std::vector<NamePattern> extra,
                       ParseNamePatterns({wd.extra_no_decay().begin(),
                                          wd.extra_no_decay().end()},
                                         "weight_decay_groups.extra_no_decay"));
  if (wd.policy() == WeightDecayGroupsConfig::POLICY_UNSPECIFIED) {
    return absl::InvalidArgumentError("weight_decay_groups.policy must be set");
  }
  const double weight_decay = config.has_sgd() ? config.sgd().weight_decay()
                                               : config.adamw().weight_decay();
  ParamGroup decay{"decay", {}, weight_decay};
  ParamGroup no_decay{"no_decay", {}, 0.0};
  std::set<std::string> seen;
  for (const auto& [name, tensor] : trainable) {
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter name '", name, "' appears twice"));
    }
    const bool exempt =
        MatchesAny(extra, name) ||
        (wd.policy() ==
             WeightDecayGroupsConfig::EXCLUDE_BIAS_NORM_EMBEDDING_TEMPERATURE &&
         IsStandardNoDecay(name, tensor.dim()));
    (exempt ? no_decay : decay).params.emplace_back(name, tensor);
  }
  std::vector<ParamGroup> groups;
  if (!decay.params.empty()) groups.push_back(std::move(decay));
  if (!no_decay.params.empty()) groups.push_back(std::move(no_decay));
  return groups;
}

void Optimizer::ZeroGrad() {
  for (ParamGroup& group : groups_) {
    for (auto& [name, param] : group.params) {
      if (param.grad().defined()) param.mutable_grad().reset();
    }
  }
}

absl::Status ValidateOptimizerConfig(const TrainConfig& config) {
  if (config.has_sgd()) {
    const SgdConfig& c = config.sgd();
    MVL_RETURN_IF_ERROR(CheckRange(c.lr() > 0, "sgd.lr", c.lr(), "> 0"));
    MVL_RETURN_IF_ERROR(CheckRange(c.momentum() >= 0 && c.momentum() < 1,
                                   "sgd.momentum", c.momentum(), "in [0, 1)"));
    MVL_RETURN_IF_ERROR(CheckRange(c.dampening() >= 0 && c.dampening() < 1,
                                   "sgd.dampening", c.dampening(),
                                   "in [0, 1)"));
    MVL_RETURN_IF_ERROR(CheckRange(c.weight_decay() >= 0, "sgd.weight_decay",
                                   c.weight_decay(), ">= 0"));
    if (c.nesterov() && (c.momentum() <= 0 || c.dampening() != 0)) {
      return absl::InvalidArgumentError(
          "sgd.nesterov needs momentum > 0 and dampening 0");
    }
    return absl::OkStatus();
  }
  const AdamWConfig& c = config.adamw();
  MVL_RETURN_IF_ERROR(CheckRange(c.lr() > 0, "adamw.lr", c.lr(), "> 0"));
  MVL_RETURN_IF_ERROR(CheckRange(c.beta1() >= 0 && c.beta1() < 1, "adamw.beta1",
                                 c.beta1(), "in [0, 1)"));
  MVL_RETURN_IF_ERROR(CheckRange(c.beta2() >= 0 && c.beta2() < 1, "adamw.beta2",
                                 c.beta2(), "in [0, 1)"));
  MVL_RETURN_IF_ERROR(CheckRange(c.eps() > 0, "adamw.eps", c.eps(), "> 0"));
  MVL_RETURN_IF_ERROR(CheckRange(c.weight_decay() >= 0, "adamw.weight_decay",
                                 c.weight_decay(), ">= 0"));
  return absl::OkStatus();
}

double OptimizerBaseLr(const TrainConfig& config) {
  return config.has_sgd() ? config.sgd().lr() : config.adamw().lr();
}

absl::StatusOr<std::unique_ptr<Optimizer>> BuildOptimizer(
    const TrainConfig& config, std::vector<ParamGroup> groups) {
  MVL_RETURN_IF_ERROR(ValidateOptimizerConfig(config));
  if (config.has_sgd())
    return std::unique_ptr<Optimizer>(new Sgd(config.sgd(), std::move(groups)));
  return std::unique_ptr<Optimizer>(
      new AdamW(config.adamw(), std::move(groups)));
}

absl::StatusOr<double> ClipGradNorm(const std::vector<at::Tensor>& params,
                                    double max_norm) {
  return core::RunTorch("clipping gradients", [&]() -> double {
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> grads;
    for (const at::Tensor& p : params) {
      if (p.grad().defined()) grads.push_back(p.grad().detach());
    }
    if (grads.empty()) return 0.0;
    std::vector<at::Tensor> norms;
    norms.reserve(grads.size());
    for (const at::Tensor& g : grads) {
      std::vector<int64_t> dims(g.dim());
      for (int64_t d = 0; d < g.dim(); ++d) dims[d] = d;
      norms.push_back(at::norm(g, 2.0, dims, /*keepdim=*/false));
    }
    const at::Tensor stacked = at::stack(norms);
    const at::Tensor total = at::norm(stacked, 2.0, {0}, /*keepdim=*/false);
    if (max_norm > 0) {
      // Python's `max_norm / tensor` is `tensor.reciprocal() * max_norm`.
      const at::Tensor coef =
          ((total + 1e-6).reciprocal() * max_norm).clamp_max(1.0);
      for (at::Tensor& g : grads) g.mul_(coef);
    }
    return total.item<double>();
  });
}

WeightEma::WeightEma(const NamedTensors& tensors, double decay,
                     int64_t start_step)
    : decay_(decay), start_step_(start_step) {
  for (const auto& [name, tensor] : tensors) {
    shadow_.emplace_back(name, tensor.detach().clone());
  }
}

void WeightEma::Update(const NamedTensors& tensors, int64_t step) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < shadow_.size() && i < tensors.size(); ++i) {
    at::Tensor& shadow = shadow_[i].second;
    const at::Tensor current = tensors[i].second.detach();
    if (step < start_step_ || !at::isFloatingType(shadow.scalar_type())) {
      shadow.copy_(current);
    } else {
      shadow.mul_(decay_).add_(current, 1 - decay_);
    }
  }
}

absl::Status WeightEma::Load(const NamedTensors& saved) {
  std::map<std::string, at::Tensor> by_name;
  for (const auto& [name, tensor] : saved) by_name[name] = tensor;
  for (auto& [name, shadow] : shadow_) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("EMA weights lack '", name, "'"));
    }
    if (it->second.sizes() != shadow.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "EMA weight '", name, "' has shape ", c10::str(it->second.sizes()),
          ", expected ", c10::str(shadow.sizes())));
    }
    MVL_RETURN_IF_ERROR(core::RunTorch("loading EMA weights", [&] {
      at::NoGradGuard no_grad;
      shadow.copy_(it->second);
    }));
  }
  return absl::OkStatus();
}

}  // namespace mammovl::train
