#include "vision/efficientnet.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/dropout.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mammovl::vision {
namespace {

struct VariantParams {
  float width;
  float depth;
  int32_t image_size;
  float dropout;
};

VariantParams ParamsOf(EfficientNetConfig::Variant variant) {
  switch (variant) {
    case EfficientNetConfig::B0:
      return {1.0f, 1.0f, 224, 0.2f};
    case EfficientNetConfig::B1:
      return {1.0f, 1.1f, 240, 0.2f};
    case EfficientNetConfig::B2:
      return {1.1f, 1.2f, 260, 0.3f};
    case EfficientNetConfig::B3:
      return {1.2f, 1.4f, 300, 0.3f};
    case EfficientNetConfig::B4:
      return {1.4f, 1.8f, 380, 0.4f};
    case EfficientNetConfig::B5:
      return {1.6f, 2.2f, 456, 0.4f};
    case EfficientNetConfig::B6:
      return {1.8f, 2.6f, 528, 0.5f};
    case EfficientNetConfig::B7:
      return {2.0f, 3.1f, 600, 0.5f};
    default:
      return {0, 0, 0, 0};
  }
}

// The seven base (B0) stages: repeats, kernel, stride, expansion, in, out.
struct BaseStage {
  int repeats, kernel, stride, expand, in, out;
};
constexpr BaseStage kBaseStages[7] = {
    {1, 3, 1, 1, 32, 16},   {2, 3, 2, 6, 16, 24},  {2, 5, 2, 6, 24, 40},
    {3, 3, 2, 6, 40, 80},   {3, 5, 1, 6, 80, 112}, {4, 5, 2, 6, 112, 192},
    {1, 3, 1, 6, 192, 320},
};
constexpr double kSeRatio = 0.25;

// round_filters of the reference. The coefficient is a float in the config;
// Python computes with the double closest to the decimal literal (1.1), so
// round-trip through the shortest decimal to get that double.
double AsPythonDouble(float value) { return std::stod(std::to_string(value)); }

int64_t RoundFilters(int64_t filters, double width) {
  constexpr int64_t kDivisor = 8;
  const double scaled = static_cast<double>(filters) * width;
  int64_t rounded = std::max<int64_t>(
      kDivisor,
      static_cast<int64_t>(scaled + kDivisor / 2.0) / kDivisor * kDivisor);
  if (static_cast<double>(rounded) < 0.9 * scaled) rounded += kDivisor;
  return rounded;
}

int64_t RoundRepeats(int64_t repeats, double depth) {
  return static_cast<int64_t>(std::ceil(depth * static_cast<double>(repeats)));
}

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Symmetric static pads go into the convolution module itself (`pad`, which
// is then symmetric); asymmetric or dynamic ones are applied before it.
torch::nn::Conv2d MakeConv(int64_t in, int64_t out, int64_t kernel,
                           int64_t stride, int64_t groups, bool bias,
                           const Padding2d& pad) {
  torch::nn::Conv2dOptions options(in, out, kernel);
  options.stride(stride).groups(groups).bias(bias);
  options.padding(torch::ExpandingArray<2>({pad.top, pad.left}));
  return torch::nn::Conv2d(options);
}

// The padding a conv module takes itself: the static pad when symmetric.
Padding2d ModulePadding(const Padding2d& pad, bool dynamic) {
  return !dynamic && pad.symmetric() ? pad : Padding2d{};
}

torch::nn::BatchNorm2d MakeBatchNorm(int64_t channels, double eps,
                                     double momentum) {
  return torch::nn::BatchNorm2d(
      torch::nn::BatchNorm2dOptions(channels).momentum(momentum).eps(eps));
}

// Pads `x` by `pad` with zeros (F.pad order: left, right, top, bottom).
torch::Tensor ZeroPad(const torch::Tensor& x, const Padding2d& pad) {
  if (pad.zero()) return x;
  return at::constant_pad_nd(x, {pad.left, pad.right, pad.top, pad.bottom},
                             0.0);
}

// Splits `pad` for the fused path: a symmetric pad goes into the convolution
// call, any other is written explicitly (returned as `explicit_pad`).
std::vector<int64_t> SplitPadding(const Padding2d& pad,
                                  Padding2d* explicit_pad) {
  if (pad.symmetric()) {
    *explicit_pad = Padding2d{};
    return {pad.top, pad.left};
  }
  *explicit_pad = pad;
  return {0, 0};
}

// Folds `bn` (eval statistics) into `conv`.
std::pair<torch::Tensor, torch::Tensor> Fold(const torch::nn::Conv2d& conv,
                                             const torch::nn::BatchNorm2d& bn) {
  return FoldBatchNorm(conv->weight, conv->bias, bn->weight, bn->bias,
                       bn->running_mean, bn->running_var, bn->options.eps());
}

torch::Tensor BatchNormSwish(const torch::Tensor& x,
                             torch::nn::BatchNorm2d bn) {
  return at::silu(bn->forward(x));
}

// Applies a Swish in place when no padding is needed; otherwise writes the
// Swish into the interior of a zero-bordered buffer and returns the buffer.
torch::Tensor SwishInto(torch::Tensor x, const Padding2d& pad,
                        bool channels_last) {
  if (pad.zero()) return at::silu_(x);
  const int64_t h = x.size(2), w = x.size(3);
  torch::Tensor buffer = at::empty(
      {x.size(0), x.size(1), h + pad.top + pad.bottom,
       w + pad.left + pad.right},
      x.options().memory_format(channels_last ? at::MemoryFormat::ChannelsLast
                                              : at::MemoryFormat::Contiguous));
  if (pad.top > 0) buffer.narrow(2, 0, pad.top).zero_();
  if (pad.bottom > 0) buffer.narrow(2, pad.top + h, pad.bottom).zero_();
  torch::Tensor rows = buffer.narrow(2, pad.top, h);
  if (pad.left > 0) rows.narrow(3, 0, pad.left).zero_();
  if (pad.right > 0) rows.narrow(3, pad.left + w, pad.right).zero_();
  torch::Tensor interior = rows.narrow(3, pad.left, w);
  at::silu_out(interior, x);
  return buffer;
}

}  // namespace

EfficientNetConfig ResolveEfficientNetConfig(const EfficientNetConfig& config) {
  EfficientNetConfig resolved = config;
  const VariantParams p = ParamsOf(config.variant());
  if (!resolved.has_width_coefficient())
    resolved.set_width_coefficient(p.width);
  if (!resolved.has_depth_coefficient())
    resolved.set_depth_coefficient(p.depth);
  if (!resolved.has_nominal_image_size())
    resolved.set_nominal_image_size(p.image_size);
  if (!resolved.has_dropout_rate()) resolved.set_dropout_rate(p.dropout);
  return resolved;
}

absl::Status ValidateEfficientNetConfig(const EfficientNetConfig& config) {
  const EfficientNetConfig c = ResolveEfficientNetConfig(config);
  if (c.variant() == EfficientNetConfig::VARIANT_UNSPECIFIED &&
      !(config.has_width_coefficient() && config.has_depth_coefficient() &&
        config.has_nominal_image_size() && config.has_dropout_rate())) {
    return absl::InvalidArgumentError(
        "efficientnet.variant is VARIANT_UNSPECIFIED: set a variant (B0..B7) "
        "or all of "
        "width_coefficient, depth_coefficient, nominal_image_size and "
        "dropout_rate");
  }
  if (!(c.width_coefficient() > 0) || !(c.depth_coefficient() > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("efficientnet.width_coefficient and depth_coefficient "
                     "must be > 0 (got ",
                     c.width_coefficient(), ", ", c.depth_coefficient(), ")"));
  }
  if (c.nominal_image_size() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("efficientnet.nominal_image_size must be > 0 (got ",
                     c.nominal_image_size(), ")"));
  }
  if (!(c.dropout_rate() >= 0 && c.dropout_rate() < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("efficientnet.dropout_rate must be in [0, 1) (got ",
                     c.dropout_rate(), ")"));
  }
  if (!(c.drop_connect_rate() >= 0 && c.drop_connect_rate() < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("efficientnet.drop_connect_rate must be in [0, 1) (got ",
                     c.drop_connect_rate(), ")"));
  }
  if (!(c.batch_norm_epsilon() > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("efficientnet.batch_norm_epsilon must be > 0 (got ",
                     c.batch_norm_epsilon(), ")"));
  }
  if (!(c.batch_norm_momentum() > 0 && c.batch_norm_momentum() <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("efficientnet.batch_norm_momentum must be in (0, 1] (got ",
                     c.batch_norm_momentum(), ")"));
  }
  if (c.padding() == EfficientNetConfig::PADDING_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "efficientnet.padding is PADDING_UNSPECIFIED");
  }
  const int64_t num_blocks =
      static_cast<int64_t>(EfficientNetBlockSpecs(c).size());
  for (int i = 0; i < c.tap_blocks_size(); ++i) {
    if (c.tap_blocks(i) < 0 || c.tap_blocks(i) >= num_blocks) {
      return absl::InvalidArgumentError(absl::StrCat(
          "efficientnet.tap_blocks[", i, "] = ", c.tap_blocks(i),
          " is outside the ", num_blocks, " blocks of this network"));
    }
  }
  return absl::OkStatus();
}

std::vector<MBConvSpec> EfficientNetBlockSpecs(const EfficientNetConfig& c) {
  const double width = AsPythonDouble(c.width_coefficient());
  const double depth = AsPythonDouble(c.depth_coefficient());
  const bool dynamic = c.padding() == EfficientNetConfig::DYNAMIC;
  const bool global = c.padding() == EfficientNetConfig::STATIC_GLOBAL;
  const int64_t nominal = c.nominal_image_size();
  // Input size of the current block under STATIC_PROPAGATED: the stem halves
  // it.
  int64_t size = CeilDiv(nominal, 2);

  std::vector<MBConvSpec> specs;
  for (int stage = 0; stage < 7; ++stage) {
    const BaseStage& base = kBaseStages[stage];
    const int64_t in = RoundFilters(base.in, width);
    const int64_t out = RoundFilters(base.out, width);
    const int64_t repeats = RoundRepeats(base.repeats, depth);
    for (int64_t r = 0; r < repeats; ++r) {
      MBConvSpec s;
      s.stage = stage;
      s.input_filters = r == 0 ? in : out;
      s.output_filters = out;
      s.expand_ratio = base.expand;
      s.kernel = base.kernel;
      s.stride = r == 0 ? base.stride : 1;
      s.squeeze_filters = std::max<int64_t>(
          1, static_cast<int64_t>(s.input_filters * kSeRatio));
      // The reference compares the first block's stride (a list) with 1, so
      // only repeats get the skip connection.
      s.residual = r > 0 && s.input_filters == s.output_filters;
      s.dynamic_padding = dynamic;
      if (!dynamic) {
        const int64_t at = global ? nominal : size;
        s.depthwise_padding = SamePadding(at, at, s.kernel, s.stride);
      }
      if (r == 0) size = CeilDiv(size, s.stride);
      specs.push_back(s);
    }
  }
  const double rate = c.drop_connect_rate();
  for (size_t i = 0; i < specs.size(); ++i) {
    specs[i].index = static_cast<int64_t>(i);
    specs[i].bn_momentum = c.batch_norm_momentum();
    specs[i].drop_connect_rate =
        rate * static_cast<double>(i) / static_cast<double>(specs.size());
  }
  return specs;
}

// ---------------------------------------------------------------------------
// MBConvBlock

MBConvBlockImpl::MBConvBlockImpl(const MBConvSpec& spec, double bn_eps)
    : spec_(spec) {
  const int64_t inp = spec.input_filters;
  const int64_t oup = spec.input_filters * spec.expand_ratio;
  if (spec.expand_ratio != 1) {
    expand_conv_ =
        register_module("_expand_conv", MakeConv(inp, oup, 1, 1, 1, false, {}));
    bn0_ =
        register_module("_bn0", MakeBatchNorm(oup, bn_eps, spec.bn_momentum));
  }
  depthwise_conv_ = register_module(
      "_depthwise_conv",
      MakeConv(oup, oup, spec.kernel, spec.stride, oup, false,
               ModulePadding(spec.depthwise_padding, spec.dynamic_padding)));
  bn1_ = register_module("_bn1", MakeBatchNorm(oup, bn_eps, spec.bn_momentum));
  se_reduce_ = register_module(
      "_se_reduce", MakeConv(oup, spec.squeeze_filters, 1, 1, 1, true, {}));
  se_expand_ = register_module(
      "_se_expand", MakeConv(spec.squeeze_filters, oup, 1, 1, 1, true, {}));
  project_conv_ = register_module(
      "_project_conv", MakeConv(oup, spec.output_filters, 1, 1, 1, false, {}));
  bn2_ = register_module(
      "_bn2", MakeBatchNorm(spec.output_filters, bn_eps, spec.bn_momentum));
}

Padding2d MBConvBlockImpl::DepthwisePadding(const torch::Tensor& x) const {
  if (!spec_.dynamic_padding) return spec_.depthwise_padding;
  return SamePadding(x.size(2), x.size(3), spec_.kernel, spec_.stride);
}

torch::Tensor MBConvBlockImpl::forward(const torch::Tensor& inputs) {
  torch::Tensor x = inputs;
  const Padding2d pad = DepthwisePadding(inputs);
  if (spec_.expand_ratio != 1)
    x = BatchNormSwish(expand_conv_->forward(x), bn0_);
  if (ModulePadding(pad, spec_.dynamic_padding).zero()) x = ZeroPad(x, pad);
  x = BatchNormSwish(depthwise_conv_->forward(x), bn1_);
  torch::Tensor s = x.mean({2, 3}, /*keepdim=*/true);
  s = se_expand_->forward(at::silu(se_reduce_->forward(s)));
  x = at::sigmoid(s) * x;
  x = bn2_->forward(project_conv_->forward(x));
  if (spec_.residual) {
    if (is_training() && spec_.drop_connect_rate > 0) {
      const double keep = 1.0 - spec_.drop_connect_rate;
      torch::Tensor mask =
          at::floor(keep + at::rand({x.size(0), 1, 1, 1}, x.options()));
      x = x / keep * mask;
    }
    x = x + inputs;
  }
  return x;
}

torch::Tensor MBConvBlockImpl::ForwardFused(const torch::Tensor& inputs) {
  const bool channels_last =
      inputs.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
  Padding2d explicit_pad;
  const std::vector<int64_t> conv_pad =
      SplitPadding(DepthwisePadding(inputs), &explicit_pad);
  torch::Tensor x;
  if (spec_.expand_ratio != 1) {
    auto [w, b] = Fold(expand_conv_, bn0_);
    x = SwishInto(at::conv2d(inputs, w, b), explicit_pad, channels_last);
  } else {
    x = ZeroPad(inputs, explicit_pad);
  }
  auto [wd, bd] = Fold(depthwise_conv_, bn1_);
  torch::Tensor h =
      at::conv2d(x, wd, bd, {spec_.stride, spec_.stride}, conv_pad, {1, 1},
                 depthwise_conv_->options.groups());
  at::silu_(h);
  torch::Tensor s = h.mean({2, 3}, /*keepdim=*/true);
  s = at::conv2d(s, se_reduce_->weight, se_reduce_->bias);
  at::silu_(s);
  torch::Tensor gate =
      at::conv2d(s, se_expand_->weight, se_expand_->bias).sigmoid_();
  auto [wp, bp] = Fold(project_conv_, bn2_);
  torch::Tensor out;
  if (h.size(0) == 1) {
    // project(h · g) = (W · diag(g)) h: scale the weight instead of h.
    out = at::conv2d(h, wp * gate.view({1, -1, 1, 1}), bp);
  } else {
    // Per-sample weights would need one convolution per image, which
    // measured slower than one pass over h.
    out = at::conv2d(h.mul_(gate), wp, bp);
  }
  if (spec_.residual) out.add_(inputs);
  return out;
}

// ---------------------------------------------------------------------------
// EfficientNet

EfficientNetImpl::EfficientNetImpl(const EfficientNetConfig& config,
                                   bool channels_last)
    : config_(ResolveEfficientNetConfig(config)),
      channels_last_(channels_last) {
  const double width = AsPythonDouble(config_.width_coefficient());
  const double eps = config_.batch_norm_epsilon();
  const bool dynamic = config_.padding() == EfficientNetConfig::DYNAMIC;
  specs_ = EfficientNetBlockSpecs(config_);

  const int64_t stem_out = RoundFilters(32, width);
  if (!dynamic) {
    const int64_t n = config_.nominal_image_size();
    stem_padding_ = SamePadding(n, n, 3, 2);
  }
  conv_stem_ = register_module("_conv_stem",
                               MakeConv(3, stem_out, 3, 2, 1, false,
                                        ModulePadding(stem_padding_, dynamic)));
  bn0_ = register_module(
      "_bn0", MakeBatchNorm(stem_out, eps, config_.batch_norm_momentum()));
  blocks_ = register_module("_blocks", torch::nn::ModuleList());
  for (const MBConvSpec& spec : specs_)
    blocks_->push_back(MBConvBlock(spec, eps));

  const int64_t last = specs_.back().output_filters;
  if (config_.include_head()) {
    feature_dim_ = RoundFilters(1280, width);
    conv_head_ = register_module(
        "_conv_head", MakeConv(last, feature_dim_, 1, 1, 1, false, {}));
    bn1_ = register_module(
        "_bn1",
        MakeBatchNorm(feature_dim_, eps, config_.batch_norm_momentum()));
  } else {
    feature_dim_ = last;
  }
  if (config_.tap_blocks_size() > 0) {
    taps_.assign(config_.tap_blocks().begin(), config_.tap_blocks().end());
  } else {
    for (size_t i = 0; i < specs_.size(); ++i) {
      if (i + 1 == specs_.size() || specs_[i + 1].stage != specs_[i].stage) {
        taps_.push_back(static_cast<int64_t>(i));
      }
    }
  }
}

std::vector<int64_t> EfficientNetImpl::map_channels() const {
  std::vector<int64_t> channels;
  for (int64_t t : taps_) channels.push_back(specs_[t].output_filters);
  return channels;
}

torch::Tensor EfficientNetImpl::Stem(const torch::Tensor& x, bool fused) {
  const bool dynamic = config_.padding() == EfficientNetConfig::DYNAMIC;
  const Padding2d pad =
      dynamic ? SamePadding(x.size(2), x.size(3), 3, 2) : stem_padding_;
  if (!fused) {
    const torch::Tensor padded =
        ModulePadding(pad, dynamic).zero() ? ZeroPad(x, pad) : x;
    return BatchNormSwish(conv_stem_->forward(padded), bn0_);
  }
  Padding2d explicit_pad;
  const std::vector<int64_t> conv_pad = SplitPadding(pad, &explicit_pad);
  auto [w, b] = Fold(conv_stem_, bn0_);
  torch::Tensor y =
      at::conv2d(ZeroPad(x, explicit_pad), w, b, {2, 2}, conv_pad);
  return at::silu_(y);
}

torch::Tensor EfficientNetImpl::Head(const torch::Tensor& x, bool fused) {
  if (!fused) return BatchNormSwish(conv_head_->forward(x), bn1_);
  auto [w, b] = Fold(conv_head_, bn1_);
  torch::Tensor y = at::conv2d(x, w, b);
  return at::silu_(y);
}

BackboneOutput EfficientNetImpl::Forward(const torch::Tensor& images) {
  CheckImages(images, "EfficientNet");
  const bool fused = UseFusedPath();
  torch::Tensor x = channels_last_
                        ? images.contiguous(at::MemoryFormat::ChannelsLast)
                        : images.contiguous();
  BackboneOutput out;
  std::vector<torch::Tensor> tapped(specs_.size());
  std::vector<bool> is_tap(specs_.size(), false);
  for (int64_t t : taps_) is_tap[t] = true;

  x = Stem(x, fused);
  for (size_t i = 0; i < specs_.size(); ++i) {
    auto block = blocks_->ptr<MBConvBlockImpl>(i);
    x = fused ? block->ForwardFused(x) : block->forward(x);
    if (is_tap[i]) tapped[i] = x;
  }
  for (int64_t t : taps_) out.maps.push_back(tapped[t]);
  out.head_map = config_.include_head() ? Head(x, fused) : x;
  torch::Tensor pooled = config_.global_pooling() == EfficientNetConfig::MAX
                             ? out.head_map.amax({2, 3})
                             : out.head_map.mean({2, 3});
  if (is_training() && config_.dropout_rate() > 0) {
    pooled = torch::nn::functional::dropout(
        pooled, torch::nn::functional::DropoutFuncOptions()
                    .p(config_.dropout_rate())
                    .training(true));
  }
  out.pooled = pooled;
  return out;
}

}  // namespace mammovl::vision
