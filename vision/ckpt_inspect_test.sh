#!/bin/bash
# tools/ckpt_inspect on the image-tower checkpoints of the references' layouts
# (vision/testdata/checkpoints, written by tools/fixtures/make_vision_fixtures.py):
# the Mammo-CLIP `.tar` with its unpicklable config object and the MaMA
# Lightning `.ckpt`, read whole and narrowed to the image encoder's prefix.
set -euo pipefail

RUNFILES="${TEST_SRCDIR}/mammovl"
INSPECT="${RUNFILES}/tools/ckpt_inspect"
DATA="${RUNFILES}/vision/testdata/checkpoints"

expect() {  # expect TEXT OUTPUT
  if ! grep -qF -- "$1" <<<"$2"; then
    printf 'expected to find: %s\nin:\n%s\n' "$1" "$2" >&2
    exit 1
  fi
}

expect_re() {  # expect_re EXTENDED_REGEX OUTPUT
  if ! grep -qE -- "$1" <<<"$2"; then
    printf 'expected a line matching: %s\nin:\n%s\n' "$1" "$2" >&2
    exit 1
  fi
}

# Mammo-CLIP: BreastClip state dict under "model", OmegaConf config kept opaque.
out="$("${INSPECT}" --path="${DATA}/mammoclip_b2s.tar")"
expect "format: torch.save (archive folder 'mammoclip_b2s', 232 tensors in all)" "${out}"
expect "'config': <opaque omegaconf.dictconfig.DictConfig>" "${out}"
expect "'epoch': 10" "${out}"
expect_re '^image_projection\.projection\.weight +\[16, 192\] +float32$' "${out}"
expect_re '^text_projection\.projection\.weight +\[16, 4\] +float32$' "${out}"
expect "total: 232 tensors" "${out}"

out="$("${INSPECT}" --path="${DATA}/mammoclip_b2s.tar" --prefix=image_encoder.)"
expect "state dict (prefix 'image_encoder.' removed):" "${out}"
expect_re '^_conv_stem\.weight +\[8, 3, 3, 3\] +float32$' "${out}"
expect_re '^_blocks\.9\._project_conv\.weight +\[48, 192, 1, 1\] +float32$' "${out}"
expect_re '^_conv_head\.weight +\[192, 48, 1, 1\] +float32$' "${out}"
expect_re '^_bn1\.num_batches_tracked +\[\] +int64$' "${out}"
expect "total: 226 tensors, 360632 bytes" "${out}"

# MaMA: Lightning checkpoint, argparse hyper-parameters kept opaque.
out="$("${INSPECT}" --path="${DATA}/mama_vits.ckpt")"
expect "'pytorch-lightning_version': '2.1.2'" "${out}"
expect "'hyper_parameters': <opaque argparse.Namespace>" "${out}"
expect "total: 52 tensors" "${out}"

out="$("${INSPECT}" --path="${DATA}/mama_vits.ckpt" --prefix=img_encoder_q.model.)"
expect_re '^register_tokens +\[1, 4, 32\] +float32$' "${out}"
expect_re '^pos_embed +\[1, 26, 32\] +float32$' "${out}"
expect_re '^blocks\.1\.ls2\.gamma +\[32\] +float32$' "${out}"
expect_re '^mask_token +\[1, 32\] +float32$' "${out}"
out="$("${INSPECT}" --path="${DATA}/mama_vits.ckpt" --prefix=img_encoder_q.local_embed.)"
expect_re '^head\.4\.running_var +\[16\] +float32$' "${out}"

# A prefix that matches nothing is an error naming the file.
if err="$("${INSPECT}" --path="${DATA}/mama_vits.ckpt" --prefix=image_encoder. 2>&1)"; then
  echo "expected ckpt_inspect to fail for a prefix that matches nothing" >&2
  exit 1
fi
expect "mama_vits.ckpt" "${err}"
echo "PASS"
