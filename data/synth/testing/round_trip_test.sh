#!/usr/bin/env bash
# The synthetic corpus through preprocess_main and back into the adapters:
# DICOM files -> preprocess_main (Mammo-CLIP preset at the corpus' PNG frame)
# -> PNGs that must equal the corpus' own PNG release, byte for byte ->
# every dataset adapter reading its tables against those PNGs.
set -euo pipefail
synth="$1"
preprocess="$2"
adapters="$3"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
corpus="$tmp/corpus"
out="$tmp/preprocessed"
"$synth" --out_dir="$corpus" --set='preset: TINY' --set='num_patients: 10' \
  --set='encoding { jpeg_ls_fraction: 0.25 jpeg2000_fraction: 0.25 implicit_vr_fraction: 0.25 }' \
  >"$tmp/synth.log" 2>&1
"$preprocess" --set='preset: MAMMOCLIP' --set="input_dir: \"$corpus/dicom\"" \
  --set="output_dir: \"$out\"" --set='recipe { fixed_size { width: 152 height: 256 } }' \
  --set='num_workers: 2' >"$tmp/preprocess.log" 2>&1
dicoms="$(find "$corpus/dicom" -name '*.dcm' | wc -l)"
pngs="$(find "$out" -name '*.png' | wc -l)"
if [[ "$dicoms" != "$pngs" ]]; then
  echo "FAIL: $dicoms DICOM files but $pngs PNGs"; cat "$out/failures.csv" || true; exit 1
fi
differ=0
while IFS= read -r f; do
  rel="${f#"$out"/}"
  if ! cmp -s "$f" "$corpus/png/$rel"; then
    echo "differs from the corpus' PNG release: $rel"; differ=$((differ + 1))
  fi
done < <(find "$out" -name '*.png' | sort)
if [[ "$differ" != 0 ]]; then echo "FAIL: $differ PNGs differ"; exit 1; fi
echo "OK: $pngs PNGs from preprocess_main equal the corpus' PNG release"
"$adapters" "$corpus/tables" "$out"
