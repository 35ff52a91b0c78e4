#!/usr/bin/env bash
# The one-command demo, shortened (--quick: 100 patients per archive, 600
# pretraining steps), run as a user runs it:
#  1. trained: interrupted (SIGTERM to the whole process group) once
#     pretraining has written a checkpoint, then run again: the finished
#     stages are skipped, pretraining resumes from its checkpoint, and the
#     run completes with the results table and report;
#  2. the same command with --steps 0 (reusing the finished data stages);
#  3. the zero-shot AUCs of (1) are clearly above chance and those of (2)
#     are at chance: the result is learned, not arranged.
set -euo pipefail

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

RUN="tools/demo/run_demo.sh"
BIN="$PWD"  # runfiles root: binaries at tools/..., train/..., eval/...
TMP="${TEST_TMPDIR:-$(mktemp -d)}/demo_integration"
rm -rf "$TMP"
mkdir -p "$TMP"
export MAMMOVL_THREADS="${MAMMOVL_THREADS:-2}"
# Thresholds of the shortened run (the full demo reaches more; README.md).
MIN_TRAINED_AUC="${MIN_TRAINED_AUC:-0.65}"

# ---- 1. trained, interrupted during pretraining, resumed
TRAINED="$TMP/trained"
setsid "$RUN" --bin "$BIN" --out "$TRAINED" --quick > "$TMP/first.log" 2>&1 &
pid=$!
# A finished checkpoint: step-NNNNNNNN (the trainer writes step-NNNNNNNN.tmp-PID
# first and renames it when complete).
ckpt_glob="$TRAINED/pretrain/checkpoints/step-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]"
deadline=$((SECONDS + 1800))
until compgen -G "$ckpt_glob" > /dev/null; do
  kill -0 "$pid" 2> /dev/null || { cat "$TMP/first.log"; fail "run ended before a checkpoint"; }
  [ "$SECONDS" -lt "$deadline" ] || fail "no checkpoint after 30 minutes"
  sleep 1
done
kill -TERM -- "-$pid"
wait "$pid" && fail "the interrupted run exited 0"
[ -f "$TRAINED/.stages/pretrain.done" ] && fail "pretraining marked done after an interruption"
for s in synth_reports synth_labelled preprocess_reports preprocess_labelled; do
  [ -f "$TRAINED/.stages/$s.done" ] || fail "stage $s has no marker before the interruption"
done
checkpoint="$(basename "$(compgen -G "$ckpt_glob" | sort | tail -1)")"
echo "interrupted during pretraining after $checkpoint"

"$RUN" --bin "$BIN" --out "$TRAINED" --quick > "$TMP/second.log" 2>&1 ||
  { cat "$TMP/second.log"; fail "the resumed run failed"; }
for s in synth_reports synth_labelled preprocess_reports preprocess_labelled; do
  grep -q "$s: done earlier, skipped" "$TMP/second.log" || fail "stage $s was not skipped on rerun"
done
grep -q "pretrain: resuming" "$TMP/second.log" || fail "pretraining did not resume"
grep -q "resumed from .*$checkpoint" "$TRAINED/logs/pretrain.log" || {
  grep -i resum "$TRAINED/logs/pretrain.log" || true
  fail "pretrain.log does not show the resume from $checkpoint"
}
grep -q "Report: $TRAINED/report.md" "$TMP/second.log" || fail "no report path printed"
grep -q "^finding .*zero-shot AUC" "$TMP/second.log" || fail "no results table printed"
for f in report.md loss_curve.png roc_mass.png roc_calcification.png results.tsv; do
  [ -s "$TRAINED/$f" ] || fail "missing $f"
done

# ---- 2. the same with --steps 0, on the same data stages
UNTRAINED="$TMP/untrained"
mkdir -p "$UNTRAINED/.stages"
cp -r "$TRAINED/corpus" "$TRAINED/png" "$UNTRAINED/"
for s in synth_reports synth_labelled preprocess_reports preprocess_labelled; do
  cp "$TRAINED/.stages/$s.done" "$UNTRAINED/.stages/"
done
"$RUN" --bin "$BIN" --out "$UNTRAINED" --quick --steps 0 > "$TMP/untrained.log" 2>&1 ||
  { cat "$TMP/untrained.log"; fail "the --steps 0 run failed"; }
grep -q "preprocess_labelled: done earlier, skipped" "$TMP/untrained.log" ||
  fail "--steps 0 did not reuse the data stages"
[ -d "$UNTRAINED/pretrain/checkpoints" ] && fail "--steps 0 trained"

# ---- 3. the gap
echo "trained:";   cat "$TRAINED/results.tsv"
echo "untrained:"; cat "$UNTRAINED/results.tsv"
awk -F'\t' -v min="$MIN_TRAINED_AUC" 'NR > 1 {
  if ($2 < min) { printf "trained zero-shot AUC for %s is %s < %s\n", $1, $2, min; bad = 1 }
  if ($3 < min) { printf "trained linear-probe AUC for %s is %s < %s\n", $1, $3, min; bad = 1 }
  n++
} END { exit bad || n != 2 }' "$TRAINED/results.tsv" || fail "the trained model did not learn enough"
awk -F'\t' 'NR > 1 {
  if ($2 < 0.35 || $2 > 0.65) { printf "untrained zero-shot AUC for %s is %s\n", $1, $2; bad = 1 }
  n++
} END { exit bad || n != 2 }' "$UNTRAINED/results.tsv" || fail "the untrained model is not at chance"
paste "$TRAINED/results.tsv" "$UNTRAINED/results.tsv" | awk -F'\t' 'NR > 1 {
  if ($2 - $7 < 0.1) { printf "gap for %s: %s vs %s\n", $1, $2, $7; bad = 1 }
} END { exit bad }' || fail "no gap between trained and untrained zero-shot AUC"
echo "PASS"
