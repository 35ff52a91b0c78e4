#include "losses/clip_loss.h"

#include <ATen/ATen.h>

#include "losses/contrastive.h"

namespace mammovl::losses {
namespace {

void CheckLogitScale(const at::Tensor& logit_scale) {
  TORCH_CHECK_VALUE(logit_scale.defined() && logit_scale.numel() == 1,
                    "logit_scale must be a scalar tensor");
}

}  // namespace

LossOutput ClipLoss(const at::Tensor& image, const at::Tensor& text,
                    const at::Tensor& logit_scale, const ClipLossConfig& config,
                    const GlobalBatch& batch, const at::Tensor& group_ids) {
  CheckSameEmbeddings(image, "image", text, "text");
  CheckLogitScale(logit_scale);
  const at::Tensor ids = config.use_group_ids() ? group_ids : at::Tensor();
  if (config.use_group_ids()) CheckGroupIds(ids, image.size(0));

  const at::Tensor v = L2Normalize(AtLeastFloat32(image));
  const at::Tensor t = L2Normalize(AtLeastFloat32(text));
  const at::Tensor scale = logit_scale.reshape({}).to(v.scalar_type()).exp();
  const Keys image_keys = MakeKeys(v, ids, batch, config.gather_negatives());
  const Keys text_keys = MakeKeys(t, ids, batch, config.gather_negatives());

  LossOutput out;
  const at::Tensor i2t = InfoNce(v, text_keys, scale, 0, ids);
  const at::Tensor t2i = InfoNce(t, image_keys, scale, 0, ids);
  out.total =
      config.image_to_text_weight() * i2t + config.text_to_image_weight() * t2i;
  out.terms = {{"i2t", i2t}, {"t2i", t2i}};
  return out;
}

LossOutput MammoClipLoss(const at::Tensor& image, const at::Tensor& image_view,
                         const at::Tensor& text, const at::Tensor& text_view,
                         const at::Tensor& logit_scale,
                         const MammoClipLossConfig& config,
                         const GlobalBatch& batch, bool training,
                         const at::Tensor& group_ids) {
  CheckSameEmbeddings(image, "image", image_view, "image_view");
  CheckSameEmbeddings(image, "image", text, "text");
  CheckSameEmbeddings(image, "image", text_view, "text_view");
  CheckLogitScale(logit_scale);
  const at::Tensor ids = config.use_group_ids() ? group_ids : at::Tensor();
  if (config.use_group_ids()) CheckGroupIds(ids, image.size(0));

  const at::Tensor i1 = L2Normalize(AtLeastFloat32(image));
  const at::Tensor i2 = L2Normalize(AtLeastFloat32(image_view));
  const at::Tensor t1 = L2Normalize(AtLeastFloat32(text));
  const at::Tensor t2 = L2Normalize(AtLeastFloat32(text_view));
  const at::Tensor s = logit_scale.reshape({}).to(i1.scalar_type()).exp();
  const bool gather = config.gather_negatives();
  const Keys ki1 = MakeKeys(i1, ids, batch, gather);
  const Keys ki2 = MakeKeys(i2, ids, batch, gather);
  const Keys kt1 = MakeKeys(t1, ids, batch, gather);
  const Keys kt2 = MakeKeys(t2, ids, batch, gather);
  const double eps = training ? config.label_smoothing() : 0.0;

  const at::Tensor i2t =
      (InfoNce(i1, kt1, s, eps, ids) + InfoNce(i2, kt1, s, eps, ids) +
       InfoNce(i1, kt2, s, eps, ids) + InfoNce(i2, kt2, s, eps, ids)) /
      4;
  const at::Tensor t2i =
      (InfoNce(t1, ki1, s, eps, ids) + InfoNce(t1, ki2, s, eps, ids) +
       InfoNce(t2, ki1, s, eps, ids) + InfoNce(t2, ki2, s, eps, ids)) /
      4;
  const at::Tensor i2i =
      (InfoNce(i1, ki2, s, 0, ids) + InfoNce(i2, ki1, s, 0, ids)) / 2;
  const at::Tensor t2t =
      (InfoNce(t2, kt1, s, 0, ids) + InfoNce(t1, kt2, s, 0, ids)) / 2;

  LossOutput out;
  out.total = (i2t + t2i) / 2 + config.image_image_weight() * i2i +
              config.text_text_weight() * t2t;
  out.terms = {{"i2t", i2t}, {"t2i", t2i}, {"i2i", i2i}, {"t2t", t2t}};
  return out;
}

}  // namespace mammovl::losses
