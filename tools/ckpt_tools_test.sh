#!/bin/bash
# Runs ckpt_inspect and ckpt_convert on the checkpoint fixtures and checks
# their output; the converted file is checked with Python as well.
set -euo pipefail

RUNFILES="${TEST_SRCDIR}/mammovl"
INSPECT="${RUNFILES}/tools/ckpt_inspect"
CONVERT="${RUNFILES}/tools/ckpt_convert"
DATA="${RUNFILES}/core/testdata"
CHECK="${RUNFILES}/tools/fixtures/check_safetensors.py"

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

# Mammo-CLIP checkpoint: structure with opaque objects, all model tensors.
out="$("${INSPECT}" --path="${DATA}/mammoclip_b2.tar")"
expect "format: torch.save (archive folder 'mammoclip_b2', 19 tensors in all)" "${out}"
expect "'config': <opaque omegaconf.dictconfig.DictConfig>" "${out}"
expect "'train_config': <opaque __main__.TrainConfig>" "${out}"
expect "'epoch': 3" "${out}"
expect "'model': {'image_encoder._conv_stem.weight': tensor(float32, [4, 3, 3, 3])" "${out}"
expect_re '^image_encoder\._bn0\.num_batches_tracked +\[\] +int64$' "${out}"
expect_re '^image_encoder\._conv_stem\.weight +\[4, 3, 3, 3\] +float32$' "${out}"
expect "total: 10 tensors, 844 bytes" "${out}"

# Prefix selection.
out="$("${INSPECT}" --path="${DATA}/mammoclip_b2.tar" --prefix=image_encoder.)"
expect "state dict (prefix 'image_encoder.' removed):" "${out}"
expect "_conv_stem.weight" "${out}"
expect "total: 5 tensors, 616 bytes" "${out}"

# Lightning and DDP wrappers.
out="$("${INSPECT}" --path="${DATA}/lightning.ckpt")"
expect "'pytorch-lightning_version': '1.9.0'" "${out}"
expect "model.head.weight" "${out}"
expect "total: 5 tensors" "${out}"
out="$("${INSPECT}" --path="${DATA}/ddp_state_dict.pt" --prefix=classifier.)"
expect "total: 2 tensors, 48 bytes" "${out}"

# Convert the image encoder, inspect the result, and let Python check it.
enc="${TEST_TMPDIR}/image_encoder.safetensors"
out="$("${CONVERT}" --input="${DATA}/mammoclip_b2.tar" --output="${enc}" \
  --prefix=image_encoder.)"
expect "wrote 5 tensors (616 bytes) to ${enc}" "${out}"
out="$("${INSPECT}" --path="${enc}")"
expect "format: safetensors" "${out}"
expect "metadata: format = pt" "${out}"
expect "total: 5 tensors, 616 bytes" "${out}"
/usr/bin/python3 "${CHECK}" "${enc}" "${DATA}/mammoclip_b2.tar.expected" image_encoder.

# Every dtype, through torch.save and through safetensors.
all="${TEST_TMPDIR}/plain.safetensors"
"${CONVERT}" --input="${DATA}/plain_state_dict.pt" --output="${all}" >/dev/null
/usr/bin/python3 "${CHECK}" "${all}" "${DATA}/plain_state_dict.pt.expected"
again="${TEST_TMPDIR}/again.safetensors"
"${CONVERT}" --input="${DATA}/all_dtypes.safetensors" --output="${again}" >/dev/null
/usr/bin/python3 "${CHECK}" "${again}" "${DATA}/all_dtypes.safetensors.expected"
views="${TEST_TMPDIR}/views.safetensors"
"${CONVERT}" --input="${DATA}/views.pt" --output="${views}" >/dev/null
/usr/bin/python3 "${CHECK}" "${views}" "${DATA}/views.pt.expected"

echo PASS
