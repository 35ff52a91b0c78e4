#include "losses/mama_loss.h"

#include <ATen/ATen.h>

#include "losses/clip_loss.h"
#include "losses/contrastive.h"
#include "losses/ntxent_loss.h"
#include "losses/sla_loss.h"

namespace mammovl::losses {

bool MamaLateTermsOn(const MamaLossConfig& config, int64_t global_step) {
  return global_step >= config.late_loss_step();
}

LossOutput MamaLoss(const LossInputs& inputs, const at::Tensor& logit_scale,
                    const at::Tensor& local_scale, const MamaLossConfig& config,
                    const LossContext& context) {
  ClipLossConfig clip;
  clip.set_image_to_text_weight(1.0);
  clip.set_text_to_image_weight(1.0);
  clip.set_gather_negatives(config.gather_global_negatives());

  const LossOutput it =
      ClipLoss(inputs.image, inputs.text, logit_scale, clip, context.batch);
  LossOutput out;
  out.total = it.total;
  out.terms = {{"it", it.total}};
  if (!MamaLateTermsOn(config, context.global_step)) return out;

  if (config.multiview_weight() > 0) {
    SimClrLossConfig simclr;
    simclr.set_temperature(config.simclr_temperature());
    simclr.set_gather_negatives(config.gather_global_negatives());
    const LossOutput ii = NtXentLoss(inputs.image_ssl, inputs.image_view_ssl,
                                     simclr, context.batch);
    out.total = out.total + config.multiview_weight() * ii.total;
    out.terms.push_back({"ii", ii.total});
  }
  if (config.partner_clip_weight() > 0) {
    CheckSameEmbeddings(inputs.image, "image", inputs.image_view, "image_view");
    const LossOutput partner = ClipLoss(inputs.image_view, inputs.text,
                                        logit_scale, clip, context.batch);
    out.total = out.total + config.partner_clip_weight() * partner.total;
    out.terms.push_back({"it_partner", partner.total});
  }
  if (config.sla_weight() > 0) {
    SlaLossConfig sla_config;
    sla_config.set_gather_negatives(config.gather_local_negatives());
    const LossOutput sla = SlaLoss(inputs.image_local, inputs.text_local,
                                   inputs.text_local_padding, local_scale,
                                   sla_config, context.batch);
    out.total = out.total + config.sla_weight() * sla.total;
    out.terms.push_back({"sla", sla.total});
  }
  return out;
}

}  // namespace mammovl::losses
