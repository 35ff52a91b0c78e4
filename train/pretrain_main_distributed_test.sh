#!/bin/bash
# Two pretrain_main processes under torchrun's environment (RANK, WORLD_SIZE,
# MASTER_ADDR, MASTER_PORT) on 127.0.0.1 with Gloo train the Mammo-CLIP demo
# together, the multi-view loss all-gathering its negatives over both ranks
# with gradient: both finish, rank 0 alone logs INFO lines and writes the
# checkpoint and metrics. (Equality with a single process on the combined
# batch is checked for the trainer and the losses in distributed_test and
# trainer_test.)
set -euo pipefail

BIN="$TEST_SRCDIR/$TEST_WORKSPACE/train/pretrain_main"
SYNTH="$TEST_SRCDIR/$TEST_WORKSPACE/tools/synth_main"
cd "$TEST_SRCDIR/$TEST_WORKSPACE"
T="$TEST_TMPDIR"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$SYNTH" --out_dir="$T/corpus" --set='preset: TINY' \
    --set='outputs { write_dicom: false }' 2> "$T/synth.log"
ARGS=(
  --config=configs/demo_mammoclip.pbtxt
  --set="data.dataset.image_root: \"$T/corpus/png\""
  --set="data.dataset.mammoclip_image_text.csv: \"$T/corpus/tables/mammoclip/clip_pretrain.csv\""
  --set='data { loader { batch_size: 2 num_workers: 1 } }'
  --set='train { max_steps: 6 num_threads: 1 logging { every_n_steps: 1 } }'
  --set='train { checkpoint { every_n_steps: 0 } distributed { timeout_s: 120 } }'
  --set='train.schedule: { warmup_cosine { warmup_steps: 1 } }'
  --set="run_dir: \"$T/run\""
)
PORT=$(( 20000 + RANDOM % 20000 ))
export MASTER_ADDR=127.0.0.1 MASTER_PORT=$PORT WORLD_SIZE=2
RANK=0 LOCAL_RANK=0 "$BIN" "${ARGS[@]}" 2> "$T/rank0.log" &
P0=$!
RANK=1 LOCAL_RANK=1 "$BIN" "${ARGS[@]}" 2> "$T/rank1.log" &
P1=$!
rc0=0; rc1=0
wait "$P0" || rc0=$?
wait "$P1" || rc1=$?
[ "$rc0" -eq 0 ] || { tail -20 "$T/rank0.log"; fail "rank 0 exit $rc0"; }
[ "$rc1" -eq 0 ] || { tail -20 "$T/rank1.log"; fail "rank 1 exit $rc1"; }
[ -f "$T/run/checkpoints/step-00000006/model.safetensors" ] || fail "no final checkpoint"
[ -f "$T/run/metrics.jsonl" ] || fail "no metrics"
[ "$(wc -l < "$T/run/metrics.jsonl")" -eq 6 ] || fail "want 6 metric rows"
grep -q 'rank 1 of 2' "$T/rank1.log" && fail "rank 1 logged INFO lines" || true
grep -q 'rank 0 of 2' "$T/rank0.log" || fail "rank 0 did not join a world of 2"
echo PASS
