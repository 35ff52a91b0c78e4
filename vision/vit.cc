#include "vision/vit.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/nn/functional/upsampling.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "vision/fused_ops.h"

namespace mammovl::vision {
namespace {

// y = x·Wᵀ + b with the forward product on oneDNN (ConvLinear) and the
// backward products as plain matrix multiplications (BLAS), which measured
// faster than oneDNN's convolution backward for these shapes.
class OneDnnLinear : public torch::autograd::Function<OneDnnLinear> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx,
                               const torch::Tensor& x,
                               const torch::Tensor& weight,
                               const torch::Tensor& bias) {
    ctx->save_for_backward({x, weight});
    return ConvLinear(x, weight, bias);
  }

  static torch::autograd::variable_list backward(
      torch::autograd::AutogradContext* ctx,
      torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& weight = saved[1];
    const int64_t in = weight.size(1), out = weight.size(0);
    const torch::Tensor g = grads[0].reshape({-1, out});
    torch::Tensor grad_x, grad_w, grad_b;
    if (ctx->needs_input_grad(0)) grad_x = at::mm(g, weight).view(x.sizes());
    if (ctx->needs_input_grad(1)) grad_w = at::mm(g.t(), x.reshape({-1, in}));
    if (ctx->needs_input_grad(2)) grad_b = g.sum(0);
    return {grad_x, grad_w, grad_b};
  }
};

torch::Tensor Linear(const torch::Tensor& x, const torch::nn::Linear& layer) {
  if (!at::GradMode::is_enabled())
    return ConvLinear(x, layer->weight, layer->bias);
  return OneDnnLinear::apply(x, layer->weight, layer->bias);
}

// Runs a segment of blocks without keeping its activations; the backward
// pass runs it again with autograd. The parameters are explicit inputs so
// that their gradients flow even when `x` does not require one.
struct SegmentRunner : torch::CustomClassHolder {
  std::function<torch::Tensor(const torch::Tensor&)> run;
};

class CheckpointedSegment
    : public torch::autograd::Function<CheckpointedSegment> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx,
                               const torch::Tensor& x, at::TensorList params,
                               c10::intrusive_ptr<SegmentRunner> runner) {
    ctx->save_for_backward({x});
    ctx->saved_data["runner"] = c10::IValue::make_capsule(runner);
    ctx->saved_data["params"] = c10::List<at::Tensor>(params.vec());
    return runner->run(x);
  }

  static torch::autograd::variable_list backward(
      torch::autograd::AutogradContext* ctx,
      torch::autograd::variable_list grads) {
    const torch::Tensor x = ctx->get_saved_variables()[0];
    auto runner = c10::static_intrusive_pointer_cast<SegmentRunner>(
        ctx->saved_data["runner"].toCapsule());
    const std::vector<at::Tensor> params =
        ctx->saved_data["params"].toTensorVector();
    torch::Tensor input = x.detach().requires_grad_(x.requires_grad());
    torch::Tensor output;
    {
      at::AutoGradMode enable(true);
      output = runner->run(input);
    }
    std::vector<torch::Tensor> wrt;
    std::vector<size_t> slot;  // index into the result for each entry of `wrt`
    if (input.requires_grad()) {
      wrt.push_back(input);
      slot.push_back(0);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].requires_grad()) {
        wrt.push_back(params[i]);
        slot.push_back(i + 1);
      }
    }
    torch::autograd::variable_list result(params.size() + 2);
    if (wrt.empty() || !output.requires_grad()) return result;
    torch::autograd::variable_list g =
        torch::autograd::grad({output}, wrt, {grads[0]}, /*retain_graph=*/false,
                              /*create_graph=*/false,
                              /*allow_unused=*/true);
    for (size_t i = 0; i < g.size(); ++i) result[slot[i]] = g[i];
    return result;
  }
};

}  // namespace

absl::Status ValidateVitConfig(const VitConfig& c) {
  auto positive = [](const char* name, int64_t v) -> absl::Status {
    if (v > 0) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("vit.", name, " must be > 0 (got ", v, ")"));
  };
  for (auto [name, v] : std::vector<std::pair<const char*, int64_t>>{
           {"patch_size", c.patch_size()},
           {"embed_dim", c.embed_dim()},
           {"depth", c.depth()},
           {"num_heads", c.num_heads()},
           {"pos_embed_grid", c.pos_embed_grid()}}) {
    if (absl::Status s = positive(name, v); !s.ok()) return s;
  }
  if (c.embed_dim() % c.num_heads() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vit.embed_dim (", c.embed_dim(),
        ") must be divisible by vit.num_heads (", c.num_heads(), ")"));
  }
  if (!(c.mlp_ratio() > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("vit.mlp_ratio must be > 0 (got ", c.mlp_ratio(), ")"));
  }
  if (c.num_register_tokens() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("vit.num_register_tokens must be >= 0 (got ",
                     c.num_register_tokens(), ")"));
  }
  if (c.interpolate_offset() < 0) {
    return absl::InvalidArgumentError("vit.interpolate_offset must be >= 0");
  }
  if (c.pooling() == VitConfig::POOLING_UNSPECIFIED) {
    return absl::InvalidArgumentError("vit.pooling is POOLING_UNSPECIFIED");
  }
  if (c.gradient_checkpointing_segments() < 0 ||
      c.gradient_checkpointing_segments() > c.depth()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vit.gradient_checkpointing_segments must be in 0..depth (", c.depth(),
        "), got ", c.gradient_checkpointing_segments()));
  }
  if (c.gradient_checkpointing_segments() > 1 && c.return_block_outputs()) {
    return absl::InvalidArgumentError(
        "vit.return_block_outputs cannot be combined with "
        "gradient_checkpointing_segments");
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------

VitAttentionImpl::VitAttentionImpl(int64_t dim, int64_t heads) : heads_(heads) {
  qkv_ = register_module("qkv", torch::nn::Linear(dim, 3 * dim));
  proj_ = register_module("proj", torch::nn::Linear(dim, dim));
}

torch::Tensor VitAttentionImpl::forward(const torch::Tensor& x,
                                        torch::Tensor* attention) {
  const int64_t b = x.size(0), t = x.size(1), d = x.size(2);
  const int64_t hd = d / heads_;
  // [B, T, 3, H, hd] → [3, B·H, T, hd], one copy for q, k and v.
  torch::Tensor qkv = Linear(x, qkv_)
                          .view({b, t, 3, heads_, hd})
                          .permute({2, 0, 3, 1, 4})
                          .contiguous()
                          .view({3, b * heads_, t, hd});
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  // softmax(q·kᵀ·scale), the scale applied inside the product.
  torch::Tensor scores = at::empty({b * heads_, t, t}, x.options());
  scores.baddbmm_(qkv[0], qkv[1].transpose(1, 2), /*beta=*/0, /*alpha=*/scale);
  torch::Tensor attn = scores.softmax(-1);
  if (attention != nullptr) *attention = attn.view({b, heads_, t, t});
  torch::Tensor out = at::bmm(attn, qkv[2])
                          .view({b, heads_, t, hd})
                          .transpose(1, 2)
                          .reshape({b, t, d});
  return Linear(out, proj_);
}

VitMlpImpl::VitMlpImpl(int64_t dim, int64_t hidden) {
  fc1_ = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2_ = register_module("fc2", torch::nn::Linear(hidden, dim));
}

torch::Tensor VitMlpImpl::forward(const torch::Tensor& x) {
  return Linear(at::gelu(Linear(x, fc1_)), fc2_);
}

LayerScaleImpl::LayerScaleImpl(int64_t dim) {
  gamma = register_parameter("gamma", at::ones({dim}));
}

VitBlockImpl::VitBlockImpl(int64_t dim, int64_t heads, int64_t hidden,
                           bool layer_scale, double eps) {
  auto ln = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
  };
  norm1_ = register_module("norm1", ln());
  attn_ = register_module("attn", VitAttention(dim, heads));
  if (layer_scale) ls1_ = register_module("ls1", LayerScale(dim));
  norm2_ = register_module("norm2", ln());
  mlp_ = register_module("mlp", VitMlp(dim, hidden));
  if (layer_scale) ls2_ = register_module("ls2", LayerScale(dim));
}

torch::Tensor VitBlockImpl::forward(const torch::Tensor& x,
                                    torch::Tensor* attention) {
  torch::Tensor a = attn_->forward(norm1_->forward(x), attention);
  torch::Tensor y = ls1_ ? x + a * ls1_->gamma : x + a;
  torch::Tensor m = mlp_->forward(norm2_->forward(y));
  return ls2_ ? y + m * ls2_->gamma : y + m;
}

// ---------------------------------------------------------------------------

VisionTransformerImpl::VisionTransformerImpl(const VitConfig& config)
    : config_(config) {
  const int64_t d = config.embed_dim();
  const int64_t grid = config.pos_embed_grid();
  auto patch_embed =
      register_module("patch_embed", std::make_shared<torch::nn::Module>());
  patch_proj_ = patch_embed->register_module(
      "proj",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(3, d, config.patch_size())
                            .stride(config.patch_size())));
  cls_token = register_parameter("cls_token", at::zeros({1, 1, d}));
  pos_embed = register_parameter("pos_embed",
                                 at::randn({1, 1 + grid * grid, d}) * 0.02);
  if (config.num_register_tokens() > 0) {
    register_tokens = register_parameter(
        "register_tokens",
        at::randn({1, config.num_register_tokens(), d}) * 1e-6);
  }
  if (config.mask_token()) {
    // Unused in the forward pass (as in DINOv2, where it is frozen); kept so
    // that DINOv2 checkpoints load strictly.
    mask_token = register_parameter("mask_token", at::zeros({1, d}),
                                    /*requires_grad=*/false);
  }
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  const int64_t hidden =
      static_cast<int64_t>(d * static_cast<double>(config.mlp_ratio()));
  for (int i = 0; i < config.depth(); ++i) {
    blocks_->push_back(VitBlock(d, config.num_heads(), hidden,
                                config.layer_scale(),
                                config.layer_norm_epsilon()));
  }
  norm_ = register_module(
      "norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(
                  config.layer_norm_epsilon())));
}

torch::Tensor VisionTransformerImpl::PositionEmbedding(int64_t rows,
                                                       int64_t cols) {
  const int64_t n = pos_embed.size(1) - 1;
  const int64_t m =
      static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(n))));
  TORCH_CHECK(m * m == n, "pos_embed holds ", n,
              " patch positions, not a square grid");
  // DINOv2 keeps the table when the token count matches and the image is
  // square.
  if (rows * cols == n && rows == cols) return pos_embed;
  const int64_t d = pos_embed.size(2);
  torch::Tensor table = pos_embed.to(at::kFloat);
  torch::Tensor grid =
      table.narrow(1, 1, n).reshape({1, m, m, d}).permute({0, 3, 1, 2});
  namespace F = torch::nn::functional;
  F::InterpolateFuncOptions options;
  options.mode(torch::kBicubic)
      .align_corners(false)
      .antialias(config_.interpolate_antialias());
  if (config_.interpolate_offset() > 0) {
    const double off = config_.interpolate_offset();
    options
        .scale_factor(std::vector<double>{(rows + off) / m, (cols + off) / m})
        .recompute_scale_factor(false);
  } else {
    options.size(std::vector<int64_t>{rows, cols});
  }
  torch::Tensor resized = F::interpolate(grid, options);
  TORCH_CHECK(resized.size(2) == rows && resized.size(3) == cols,
              "position embedding interpolated to ", resized.sizes(),
              ", expected grid ", rows, "x", cols);
  resized = resized.permute({0, 2, 3, 1}).reshape({1, rows * cols, d});
  return at::cat({table.narrow(1, 0, 1), resized}, 1)
      .to(pos_embed.scalar_type());
}

torch::Tensor VisionTransformerImpl::RunBlocks(torch::Tensor x,
                                               BackboneOutput* out) {
  const int64_t depth = static_cast<int64_t>(blocks_->size());
  const int64_t segments = config_.gradient_checkpointing_segments();
  int64_t first_plain = 0;
  if (segments > 1 && is_training() && at::GradMode::is_enabled()) {
    // As torch.utils.checkpoint.checkpoint_sequential: segments of depth /
    // segments blocks, all but the last recomputed in the backward pass.
    const int64_t size = depth / segments;
    for (int64_t start = 0; start < size * (segments - 1); start += size) {
      auto runner = c10::make_intrusive<SegmentRunner>();
      std::vector<torch::Tensor> params;
      for (int64_t i = start; i < start + size; ++i) {
        for (const auto& p : blocks_[i]->parameters()) params.push_back(p);
      }
      runner->run = [this, start, size](const torch::Tensor& in) {
        torch::Tensor h = in;
        for (int64_t i = start; i < start + size; ++i) {
          h = blocks_->ptr<VitBlockImpl>(i)->forward(h);
        }
        return h;
      };
      x = CheckpointedSegment::apply(x, at::TensorList(params), runner);
      first_plain = start + size;
    }
  }
  for (int64_t i = first_plain; i < depth; ++i) {
    torch::Tensor* attention =
        (config_.return_last_attention() && i == depth - 1)
            ? &out->last_attention
            : nullptr;
    x = blocks_->ptr<VitBlockImpl>(i)->forward(x, attention);
    if (config_.return_block_outputs()) out->block_outputs.push_back(x);
  }
  return x;
}

BackboneOutput VisionTransformerImpl::Forward(const torch::Tensor& images) {
  const int64_t p = config_.patch_size();
  CheckImages(images, "ViT");
  TORCH_CHECK(images.size(2) % p == 0 && images.size(3) % p == 0, "ViT input ",
              images.size(2), "x", images.size(3),
              " is not a multiple of the patch size ", p);
  const int64_t b = images.size(0);
  const int64_t rows = images.size(2) / p, cols = images.size(3) / p;
  // [B, D, rows, cols] → [B, rows·cols, D]
  torch::Tensor x = patch_proj_->forward(images).flatten(2).transpose(1, 2);
  x = at::cat({cls_token.expand({b, -1, -1}), x}, 1);
  x = x + PositionEmbedding(rows, cols);
  const int64_t r = config_.num_register_tokens();
  if (r > 0) {
    x = at::cat({x.narrow(1, 0, 1), register_tokens.expand({b, -1, -1}),
                 x.narrow(1, 1, rows * cols)},
                1);
  }
  BackboneOutput out;
  x = RunBlocks(x, &out);
  out.prenorm_tokens = x;
  torch::Tensor normed = norm_->forward(x);
  out.cls_token = normed.select(1, 0);
  if (r > 0) out.register_tokens = normed.narrow(1, 1, r);
  out.local = normed.narrow(1, 1 + r, rows * cols);
  out.grid_rows = rows;
  out.grid_cols = cols;
  switch (config_.pooling()) {
    case VitConfig::CLS:
      out.pooled = out.cls_token;
      break;
    case VitConfig::MEAN_PATCH:
      out.pooled = out.local.mean(1);
      break;
    default:
      out.pooled = x.mean(1);
      break;
  }
  return out;
}

}  // namespace mammovl::vision
