#!/usr/bin/env bash
# The synthetic mass detector end to end: writes a 400-patient corpus with
# synth_main, trains configs/detector/demo_synth_mass.pbtxt with
# detector_main, and requires held-out VOC AP@0.5 >= 0.5 in metrics.json
# plus the run's outputs. About 15 minutes on a shared 2-core machine.
set -euo pipefail
synth="$1"
detector="$2"
config="$3"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
corpus="$tmp/corpus"
run="$tmp/run"
"$synth" --out_dir="$corpus" --set='num_patients: 400' --set='outputs { write_dicom: false }' \
  >"$tmp/synth.log" 2>&1
csv="$corpus/tables/vindr/vindr_detection_v1_folds.csv"
"$detector" --config="$config" \
  --set="train_data.image_root: \"$corpus/png\"" --set="train_data.vindr.csv: \"$csv\"" \
  --set="test_data.image_root: \"$corpus/png\"" --set="test_data.vindr.csv: \"$csv\"" \
  --set="output_dir: \"$run\"" >"$tmp/detector.log" 2>&1
for f in metrics.json predictions.csv eval_curve.csv ap_curve.png loss_curve.png; do
  [[ -s "$run/$f" ]] || { echo "missing $run/$f"; exit 1; }
done
[[ $(ls "$run"/overlays/*.png | wc -l) -eq 8 ]] || { echo "expected 8 overlays"; exit 1; }
/usr/bin/python3 - "$run/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
ap = m["test"]["mean"]["voc_ap"]["0.5"]
print(f"held-out VOC AP@0.5 {ap:.3f} on {m['test_images']} images after {m['steps']} steps")
sys.exit(0 if ap >= 0.5 else 1)
PY
cat "$run/eval_curve.csv"
