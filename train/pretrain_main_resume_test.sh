#!/bin/bash
# pretrain_main killed with SIGKILL at a random step and restarted with
# --resume ends with exactly the weights of an uninterrupted run (single
# thread, fixed seed): the checkpoint carries weights, optimiser, schedule,
# RNG states and the loader position, and MaMA's caption masking is seeded
# by step. Also checks that the effective config is saved next to the
# checkpoints and that a bad config fails with a message and exit code 2.
set -euo pipefail

BIN="$TEST_SRCDIR/$TEST_WORKSPACE/train/pretrain_main"
SYNTH="$TEST_SRCDIR/$TEST_WORKSPACE/tools/synth_main"
cd "$TEST_SRCDIR/$TEST_WORKSPACE"
T="$TEST_TMPDIR"

"$SYNTH" --out_dir="$T/corpus" --set='preset: TINY' \
    --set='outputs { write_dicom: false }' 2> "$T/synth.log"

E="$T/corpus/tables/embed"
ARGS=(
  --config=configs/demo_mama.pbtxt
  --set="data.dataset.image_root: \"$T/corpus/png\""
  --set="data.dataset.embed.metadata_csv: \"$E/EMBED_OpenData_metadata.csv\""
  --set="data.dataset.embed.clinical_csv: \"$E/EMBED_OpenData_clinical.csv\""
  --set="data.dataset.embed.legend_csv: \"$E/AWS_Open_Data_Clinical_Legend.csv\""
  --set='data { loader { batch_size: 4 num_workers: 1 } }'
  --set='train { max_steps: 40 num_threads: 1 logging { every_n_steps: 4 tensorboard: false } }'
  --set='train { checkpoint { every_n_steps: 4 keep_last: 0 } }'
  --set='train.schedule: { warmup_cosine { warmup_steps: 4 min_lr: 1e-4 } }'
)

fail() { echo "FAIL: $*" >&2; exit 1; }

# A bad override is reported before any work, with exit code 2.
set +e
"$BIN" "${ARGS[@]}" --set='train { no_such_field: 1 }' --set="run_dir: \"$T/bad\"" \
    2> "$T/bad.log"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad config: exit code $rc, want 2"
grep -q no_such_field "$T/bad.log" || fail "bad config: error does not name the field"

# Uninterrupted run.
"$BIN" "${ARGS[@]}" --set="run_dir: \"$T/a\"" 2> "$T/a.log" || {
  tail -20 "$T/a.log"; fail "uninterrupted run failed"; }
FINAL="checkpoints/step-00000040/model.safetensors"
[ -f "$T/a/$FINAL" ] || fail "no final checkpoint in run a"
[ -f "$T/a/config.pbtxt" ] || fail "no config.pbtxt in run a"
grep -q 'late_loss_step: 0' "$T/a/config.pbtxt" || fail "config.pbtxt is not the effective config"

# Interrupted run: SIGKILL once the checkpoint of a random step in 8..20
# exists (the run is then a few steps further), then resume.
KILL_AT=$(( (RANDOM % 4 + 2) * 4 ))
echo "killing after the checkpoint of step $KILL_AT"
"$BIN" "${ARGS[@]}" --set="run_dir: \"$T/b\"" 2> "$T/b1.log" &
PID=$!
WANT=$(printf '%s/b/checkpoints/step-%08d' "$T" "$KILL_AT")
for _ in $(seq 1 6000); do
  [ -d "$WANT" ] && break
  kill -0 "$PID" 2> /dev/null || break
  sleep 0.05
done
kill -9 "$PID" 2> /dev/null || true
wait "$PID" 2> /dev/null || true
[ -d "$WANT" ] || { tail -20 "$T/b1.log"; fail "checkpoint $WANT never appeared"; }
[ ! -f "$T/b/$FINAL" ] || fail "run b finished before it was killed"
"$BIN" "${ARGS[@]}" --set="run_dir: \"$T/b\"" --resume 2> "$T/b2.log" || {
  tail -20 "$T/b2.log"; fail "resumed run failed"; }
grep -q 'resum' "$T/b2.log" || fail "the second run did not resume"

cmp "$T/a/$FINAL" "$T/b/$FINAL" || fail "resumed weights differ from the uninterrupted run"
cmp "$T/a/checkpoints/step-00000040/optimizer.safetensors" \
    "$T/b/checkpoints/step-00000040/optimizer.safetensors" || fail "optimiser state differs"
echo "PASS (killed after step $KILL_AT)"
