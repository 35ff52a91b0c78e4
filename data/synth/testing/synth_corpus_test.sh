#!/usr/bin/env bash
# Generates a tiny corpus with synth_main (logging to a file) and checks it
# with Debian's pydicom/NumPy/OpenCV: decoding, tags, the PNG recipe, and that
# no fake patient identifier leaks into logs, tables or paths.
set -euo pipefail
synth="$1"
checker="$2"
out="${TEST_TMPDIR:-$(mktemp -d)}/corpus"
log="${TEST_TMPDIR:-/tmp}/synth.log"
"$synth" --out_dir="$out" --set='preset: TINY' --set='num_patients: 10' \
  --set='encoding { jpeg_ls_fraction: 0.25 jpeg2000_fraction: 0.25 implicit_vr_fraction: 0.25 }' \
  >"$log" 2>&1
/usr/bin/python3 "$checker" "$out" --log="$log"
