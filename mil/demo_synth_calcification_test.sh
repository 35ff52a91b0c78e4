#!/usr/bin/env bash
# FPN-MIL end to end on the synthetic corpus: writes the 300-patient corpus
# with synth_main, trains configs/fpn_mil_synth_demo.pbtxt (ResNet-18 fine-
# tuned with the MIL model) with mil_main, and requires a held-out test AUC
# >= 0.85 for calcification plus the detection results from the heatmaps.
# About 20 minutes on a shared 2-core machine.
set -euo pipefail
synth="$1"
mil="$2"
config="$3"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
corpus="$tmp/corpus"
run="$tmp/run"
"$synth" --out_dir="$corpus" --set='num_patients: 300' --set='outputs { write_dicom: false }' \
  >"$tmp/synth.log" 2>&1
"$mil" --config="$config" \
  --set="data { image_root: \"$corpus/png\" fpn_mil { csv: \"$corpus/tables/vindr/vindrmammo_grouped_df.csv\" } }" \
  --set="output_dir: \"$run\"" >"$tmp/mil.log" 2>&1
for f in best_model.safetensors results_summary.csv predictions_test.csv roi_eval_results.csv; do
  [[ -s "$run/$f" ]] || { echo "missing $run/$f"; exit 1; }
done
cat "$run/results_summary.csv" "$run/roi_eval_results.csv"
/usr/bin/python3 - "$run/results_summary.csv" <<'PY'
import csv, sys
rows = {(r["split"], r["head"]): r for r in csv.DictReader(open(sys.argv[1]))}
auc = float(rows[("test", "aggregated")]["auc"])
print(f"held-out test AUC (calcification, aggregated) {auc:.3f}")
sys.exit(0 if auc >= 0.85 else 1)
PY
