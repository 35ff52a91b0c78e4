#!/usr/bin/env bash
# End-to-end checks of preprocess_main as a separate process:
#  1. a run's logs (glog files and stderr) and outputs never contain the
#     fixtures' patient names, ids or birth dates;
#  2. kill -9 during a run, then a restart: the outputs equal an
#     uninterrupted run's and no partial or corrupt PNG ever exists;
#  3. exit codes: 0 with tolerated failures, non-zero when the failure
#     policy is exceeded or the config is invalid.
set -euo pipefail

BIN="tools/preprocess_main"
MAMMO="data/preprocess/testdata/mammo"
BAD="data/dicom/testdata/bad"
TMP="${TEST_TMPDIR:-$(mktemp -d)}/preprocess_main_test"
rm -rf "$TMP"
mkdir -p "$TMP"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Input tree: the six synthetic mammograms copied into 4 studies (24 files)
# plus bad files.
IN="$TMP/in"
for s in 1 2 3 4; do
  for f in "$MAMMO"/*/*.dcm; do
    mkdir -p "$IN/study$s"
    cp "$f" "$IN/study$s/$(basename "$(dirname "$f")")_$(basename "$f")"
  done
done
mkdir -p "$IN/broken"
cp "$BAD/truncated_pixels.dcm" "$BAD/empty.dcm" "$BAD/j2k_truncated_codestream.dcm" "$IN/broken/"
TOTAL=$(find "$IN" -name '*.dcm' | wc -l)
# The inputs do carry the identities the log check looks for.
grep -qF "PID-SECRET-0001" "$IN/study1/studyA_img01.dcm" || fail "fixtures lack patient ids"
grep -qF "Doe^Jane" "$IN/study1/studyA_img01.dcm" || fail "fixtures lack patient names"

# Small outputs keep the test fast; the recipe is otherwise Mammo-CLIP's.
COMMON=(--set="input_dir: \"$IN\"" --set='recipe { fixed_size { width: 114 height: 190 } }'
        --set='num_workers: 2')

# ---------------------------------------------------------------- 1. logs
LOGS="$TMP/logs"
mkdir -p "$LOGS"
"$BIN" "${COMMON[@]}" --set="output_dir: \"$TMP/ref\"" --log_dir="$LOGS" --v=1 \
  >"$LOGS/stdout.txt" 2>"$LOGS/stderr.txt" || fail "reference run failed: $(tail -5 "$LOGS/stderr.txt")"
ls "$LOGS"/*INFO* >/dev/null 2>&1 || fail "no glog files were written"
grep -q "preprocess done" "$LOGS"/*INFO* || fail "the log lacks the summary line"
for secret in "Doe" "Roe^Richard" "Moe" "PID-SECRET" "19510203" "19620304" "19730405"; do
  if grep -rqF -- "$secret" "$LOGS" "$TMP/ref"/*.csv "$TMP/ref"/*.pbtxt "$TMP/ref"/*.json; then
    fail "patient data '$secret' found in logs or outputs: $(grep -rlF -- "$secret" "$LOGS" "$TMP/ref")"
  fi
done
[ "$(($(wc -l <"$TMP/ref/manifest.csv") - 1))" -eq 24 ] || fail "expected 24 manifest rows"
[ "$(($(wc -l <"$TMP/ref/failures.csv") - 1))" -eq 3 ] || fail "expected 3 failures"
echo "logs: no patient names, ids or birth dates in $(ls "$LOGS" | wc -l) log files"

# ------------------------------------------------------ 2. kill -9 + resume
check_pngs_complete() {  # every PNG present is byte-identical to the reference
  local out="$1"
  while IFS= read -r png; do
    local rel="${png#"$out"/}"
    cmp -s "$png" "$TMP/ref/$rel" || fail "partial or wrong PNG after kill: $rel"
  done < <(find "$out" -name '*.png')
}

compare_with_reference() {
  local out="$1"
  cmp -s "$out/manifest.csv" "$TMP/ref/manifest.csv" || fail "manifest differs after resume"
  cmp -s "$out/failures.csv" "$TMP/ref/failures.csv" || fail "failures differ after resume"
  local a b
  a=$(cd "$TMP/ref" && find . -name '*.png' | sort | xargs sha256sum)
  b=$(cd "$out" && find . -name '*.png' | sort | xargs sha256sum)
  [ "$a" == "$b" ] || fail "PNG tree differs after resume"
  if find "$out" -name '.*part-*' | grep -q .; then fail "temporary files left after resume"; fi
}

# Kill at three points: before any PNG, after ~5, after ~15 of 24.
for target in 0 5 15; do
  OUT="$TMP/killed_$target"
  # Own session, so that kill -9 can also take the whole process group.
  setsid "$BIN" "${COMMON[@]}" --set="output_dir: \"$OUT\"" --set='slow_down_s: 0.5' \
    --logtostderr >"$TMP/killed_$target.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do  # up to 60 s
    n=$(find "$OUT" -name '*.png' 2>/dev/null | wc -l || true)
    if [ -e "$OUT/manifest.csv" ] && [ "$n" -ge "$target" ]; then break; fi
    sleep 0.1
  done
  if [ "$target" == "5" ]; then
    kill -9 -- "-$PID" 2>/dev/null || true   # parent and workers at once
  else
    kill -9 "$PID" 2>/dev/null || true       # parent only; workers must die with it
  fi
  wait "$PID" 2>/dev/null || true
  sleep 0.3
  if pgrep -f "output_dir: \"$OUT\"" >/dev/null; then fail "workers outlived the killed run"; fi
  mkdir -p "$OUT"
  check_pngs_complete "$OUT"
  done_before=$(find "$OUT" -name '*.png' | wc -l)
  [ "$done_before" -lt "$((TOTAL - 3))" ] || fail "the run finished before it was killed"
  "$BIN" "${COMMON[@]}" --set="output_dir: \"$OUT\"" --logtostderr >"$TMP/resumed_$target.log" 2>&1 ||
    fail "resumed run failed: $(tail -5 "$TMP/resumed_$target.log")"
  compare_with_reference "$OUT"
  echo "kill -9 with $done_before/$TOTAL PNGs written: resume reproduced the reference"
done

# ------------------------------------------------------------- 3. exit codes
if "$BIN" "${COMMON[@]}" --set="output_dir: \"$TMP/policy\"" --max_failures=1 \
  --logtostderr >"$TMP/policy.log" 2>&1; then
  fail "exceeding max_failures must exit non-zero"
fi
grep -q "failure policy exceeded" "$TMP/policy.log" || fail "no policy message"
if "$BIN" --set='preset: CUSTOM' --set="input_dir: \"$IN\"" --set="output_dir: \"$TMP/x\"" \
  --logtostderr >"$TMP/invalid.log" 2>&1; then
  fail "an invalid recipe must exit non-zero"
fi
grep -q "recipe.intensity" "$TMP/invalid.log" || fail "the error does not name the field"
[ ! -e "$TMP/x/manifest.csv" ] || fail "an invalid config must not start work"
"$BIN" --shard=1/2 "${COMMON[@]}" --set="output_dir: \"$TMP/sharded\"" --logtostderr \
  >"$TMP/shard1.log" 2>&1 || fail "shard 1/2 failed"
"$BIN" --shard=0/2 "${COMMON[@]}" --set="output_dir: \"$TMP/sharded\"" --logtostderr \
  >"$TMP/shard0.log" 2>&1 || fail "shard 0/2 failed"
"$BIN" --mode=merge_manifests --set="output_dir: \"$TMP/sharded\"" --logtostderr \
  >"$TMP/merge.log" 2>&1 || fail "merge failed"
cmp -s "$TMP/sharded/manifest.csv" "$TMP/ref/manifest.csv" || fail "merged shards differ"
echo "exit codes and shards: ok"
echo "PASS"
