#!/bin/bash
# The checkpoint tools report broken input on stderr, naming the file and the
# problem, exit with status 1, and leave no output file behind.
set -uo pipefail

RUNFILES="${TEST_SRCDIR}/mammovl"
INSPECT="${RUNFILES}/tools/ckpt_inspect"
CONVERT="${RUNFILES}/tools/ckpt_convert"
DATA="${RUNFILES}/core/testdata"

expect_failure() {  # expect_failure TEXT... -- COMMAND...
  local texts=()
  while [[ "$1" != "--" ]]; do texts+=("$1"); shift; done
  shift
  local err rc
  err="$("$@" 2>&1 >/dev/null)"
  rc=$?
  if [[ ${rc} -ne 1 ]]; then
    printf 'expected exit status 1, got %d from: %s\n%s\n' "${rc}" "$*" "${err}" >&2
    exit 1
  fi
  for text in "${texts[@]}"; do
    if ! grep -qF -- "${text}" <<<"${err}"; then
      printf 'expected stderr to contain: %s\ngot:\n%s\n' "${text}" "${err}" >&2
      exit 1
    fi
  done
}

bad="${DATA}/bad_tensor_exceeds_storage.pt"
expect_failure "DATA_LOSS" "${bad}" "tensor 'encoder.weight' needs 100 elements" \
  "storage holds 4" -- "${INSPECT}" --path="${bad}"

out="${TEST_TMPDIR}/out.safetensors"
expect_failure "DATA_LOSS" "${bad}" -- \
  "${CONVERT}" --input="${bad}" --output="${out}"
[[ ! -e "${out}" ]] || { echo "output written despite the error" >&2; exit 1; }

empty="${TEST_TMPDIR}/empty.ckpt"
: >"${empty}"
expect_failure "INVALID_ARGUMENT" "${empty}" "is empty" -- \
  "${CONVERT}" --input="${empty}" --output="${out}"

truncated="${TEST_TMPDIR}/truncated.tar"
head -c 3000 "${DATA}/mammoclip_b2.tar" >"${truncated}"
expect_failure "${truncated}" "truncated" -- "${INSPECT}" --path="${truncated}"

expect_failure "INVALID_ARGUMENT" "opcode 0x82" "offset 2" -- \
  "${INSPECT}" --path="${DATA}/bad_opcode.pt"
expect_failure "overlap" -- "${INSPECT}" --path="${DATA}/bad_overlap.safetensors"
expect_failure "NOT_FOUND" "'visual.'" "image_encoder._conv_stem.weight" -- \
  "${CONVERT}" --input="${DATA}/mammoclip_b2.tar" --output="${out}" --prefix=visual.
expect_failure "--path is required" -- "${INSPECT}"
expect_failure "--input and --output are required" -- "${CONVERT}" --input="${bad}"
[[ ! -e "${out}" ]] || { echo "output written despite the errors" >&2; exit 1; }

echo PASS
