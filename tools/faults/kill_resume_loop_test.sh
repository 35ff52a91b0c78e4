#!/usr/bin/env bash
# SIGKILL at random moments, resume, repeat: one of preprocess_main,
# pretrain_main or mil_main --mode=extract_features is started on a tiny
# synthetic corpus, killed with SIGKILL after a random (seeded) delay,
# started again in the same output folder, killed again, ... until a run
# completes. Every other kill lands anywhere in the run (start-up and resume
# included); the others land in the middle of the work, up to 500 ms after a
# new output appeared. Then every output is compared with an uninterrupted run's
# (byte for byte; checkpoints and feature files exactly) and no temporary or
# partial file may be left. Episodes repeat on fresh folders until at least
# KILLS kills were made.
#
#   kill_resume_loop_test.sh preprocess|pretrain|mil_extract [KILLS] [SEED]
#
# After every kill the outputs visible so far are checked too: each PNG or
# feature file present equals the reference, each checkpoint folder that has
# all its files loads as the reference's (a kill never leaves a corrupt file
# under a final name).
set -euo pipefail

WHAT="${1:?usage: kill_resume_loop_test.sh preprocess|pretrain|mil_extract [KILLS] [SEED]}"
KILLS="${2:-${KILLS:-20}}"
SEED="${3:-${SEED:-20261201}}"
RANDOM="$SEED"
NAME="kill_resume_$WHAT"
if [ -n "${TEST_SRCDIR:-}" ]; then cd "$TEST_SRCDIR/${TEST_WORKSPACE:-__main__}"; fi
# shellcheck source=tools/faults/common.sh
source tools/faults/common.sh
echo "$KILLS kills, seed $SEED"
C="$TMP/corpus"
make_tiny_corpus "$C"

# run_cmd OUT: prints nothing; sets CMD to the command line of a run into OUT
# (the same for a first start and a restart).
case "$WHAT" in
  preprocess)
    # slow_down_s spreads the 32 images over ~1 s so kills land mid-run.
    run_cmd() {
      CMD=(tools/preprocess_main --set="input_dir: \"$C/dicom\"" --set="output_dir: \"$1\""
           --set='num_workers: 2' --set='slow_down_s: 0.05' --logtostderr)
    }
    ;;
  pretrain)
    # Checkpoints every step, metrics rows every 2: resumes start inside a
    # logging window half the time.
    pretrain_args "$C"
    run_cmd() {
      CMD=("${PRETRAIN[@]}" --set='train { max_steps: 16 logging { every_n_steps: 2 } }'
           --set='train { checkpoint { every_n_steps: 1 keep_last: 0 } }'
           --set="run_dir: \"$1\"")
    }
    ;;
  mil_extract)
    # The demo config without its pretrained backbone (made by a step the
    # test does not run): a frozen random one extracts just as well.
    grep -v 'checkpoint { path:' configs/fpn_mil_synth_demo.pbtxt > "$TMP/mil.pbtxt"
    run_cmd() {
      CMD=(mil/mil_main --config="$TMP/mil.pbtxt" --mode=extract_features
           --set="data { image_root: \"$C/png\" fpn_mil { csv: \"$C/tables/vindr/vindrmammo_grouped_df.csv\" } }"
           --set="features { trainable: false cache_dir: \"$1/features\" }"
           --set="training { flip_augmentation: false }" --set="output_dir: \"$1/out\""
           --logtostderr)
    }
    ;;
  *) fail "unknown binary '$WHAT'" ;;
esac

# Files of OUT that must equal the reference, with run-specific lines
# (timings, wall clock) taken out: "relative-path<TAB>sha256" per line.
fingerprint() {
  local out
  out="$(cd "$1" && pwd)"
  (
    cd "$out"
    find . -type f ! -name 'run_stats.json' ! -name '*.log' | LC_ALL=C sort | while IFS= read -r f; do
      case "$f" in
        */state.pbtxt) sum=$(grep -v '^wall_time:' "$f" | sha256sum) ;;
        */metrics.jsonl) sum=$(sed -E 's/"samples_per_s": [^,}]*,? ?//' "$f" | sha256sum) ;;
        */metrics.csv) sum=$(cut -d, -f1-2 "$f" | sha256sum) ;;  # step, loss
        *.pbtxt | *.csv | *.json) sum=$(sed "s|$out|@OUT@|g" "$f" | sha256sum) ;;
        *) sum=$(sha256sum < "$f") ;;
      esac
      printf '%s\t%s\n' "$f" "${sum%% *}"
    done
  )
}

temp_files() {  # temporary or partial files (and checkpoint staging folders) under $1
  find "$1" \( -name '.*.tmp.*' -o -name '*.part*' -o -name '*.incomplete' -o -name '*.tmp' \
    -o -name '*.tmp-*' \) -print
}

# After a kill: every final-named file present must be one the reference
# also has with the same content (checkpoint files, PNGs and feature files
# are written whole or not at all). Files inside a checkpoint staging
# folder (step-N.tmp-PID, renamed into place only when complete) are not
# final; the next start removes the folder.
check_partial() {
  local out="$1" f rel
  while IFS= read -r f; do
    rel="${f#"$out"/}"
    case "$rel" in
      *.tmp-*/*) ;;
      *.png | *.safetensors)
        [ -f "$REF/$rel" ] || fail "after kill $kills: unexpected file $rel"
        case "$rel" in
          */optimizer.safetensors | */model.safetensors | *.png.safetensors | *.png)
            cmp -s "$f" "$REF/$rel" || fail "after kill $kills: $rel differs from the reference (corrupt?)" ;;
        esac
        ;;
    esac
  done < <(find "$out" -type f ! -name '.*')
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
random_below() { echo $(((RANDOM * 32768 + RANDOM) % $1)); }

# -------------------------------------------------------------- reference
REF="$TMP/reference"
run_cmd "$REF"
t0=$(now_ms)
"${CMD[@]}" > "$TMP/reference.log" 2>&1 || fail "uninterrupted run failed: $(tail -5 "$TMP/reference.log")"
ref_ms=$(($(now_ms) - t0))
fingerprint "$REF" > "$TMP/reference.fp"
[ "$(wc -l < "$TMP/reference.fp")" -gt 3 ] || fail "reference run wrote almost nothing"
if [ -n "$(temp_files "$REF")" ]; then fail "temporary files left by a clean run: $(temp_files "$REF")"; fi
echo "reference run: $ref_ms ms, $(wc -l < "$TMP/reference.fp") files"

# ------------------------------------------------------------- kill loop
kills=0
episodes=0
starts=0
progress_kills=0  # kills after which more final outputs existed than at the start
while [ "$kills" -lt "$KILLS" ]; do
  episodes=$((episodes + 1))
  OUT="$TMP/episode_$episodes"
  run_cmd "$OUT"
  attempts=0
  while :; do
    attempts=$((attempts + 1))
    starts=$((starts + 1))
    before=$( (find "$OUT" -type f ! -name '.*' 2> /dev/null || true) | wc -l)
    # Once enough kills were made, or after many attempts in one episode (a
    # slow machine must not make the loop endless), let the run finish.
    if [ "$kills" -ge "$KILLS" ] || [ "$attempts" -gt $((KILLS * 3)) ]; then
      "${CMD[@]}" >> "$TMP/episode_$episodes.log" 2>&1 || fail "final run failed"
      break
    fi
    setsid "${CMD[@]}" >> "$TMP/episode_$episodes.log" 2>&1 &
    pid=$!
    if [ $((starts % 2)) -eq 1 ]; then
      # Anywhere in the run, start-up and resume included: a random delay
      # up to the uninterrupted run's wall time.
      deadline=$(($(now_ms) + $(random_below "$ref_ms")))
    else
      # In the middle of the work: once a new output has appeared, a random
      # delay up to 500 ms (mid-step, mid-write, mid-rename).
      deadline=$(($(now_ms) + 3 * ref_ms))
      while kill -0 "$pid" 2> /dev/null && [ "$(now_ms)" -lt "$deadline" ] &&
            [ "$( (find "$OUT" -type f ! -name '.*' 2> /dev/null || true) | wc -l)" -le "$before" ]; do
        sleep 0.02
      done
      deadline=$(($(now_ms) + $(random_below 500)))
    fi
    while kill -0 "$pid" 2> /dev/null && [ "$(now_ms)" -lt "$deadline" ]; do
      sleep 0.01
    done
    if kill -9 "$pid" 2> /dev/null; then
      # Every other kill takes the whole process group (workers included);
      # otherwise the workers must notice their parent's death by themselves.
      [ $((kills % 2)) -eq 0 ] && kill -9 -- "-$pid" 2> /dev/null || true
      wait "$pid" 2> /dev/null || true
      kills=$((kills + 1))
      for _ in $(seq 1 100); do
        pgrep -g "$pid" > /dev/null || break
        sleep 0.05
      done
      pgrep -g "$pid" > /dev/null && fail "processes of a killed run outlived it by 5 s"
      after=$( (find "$OUT" -type f ! -name '.*' 2> /dev/null || true) | wc -l)
      [ "$after" -gt "$before" ] && progress_kills=$((progress_kills + 1))
      [ -d "$OUT" ] && check_partial "$OUT"
      continue
    fi
    # The run ended before the kill.
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || fail "a resumed run exited with $rc: $(tail -5 "$TMP/episode_$episodes.log")"
    break
  done
  fingerprint "$OUT" > "$TMP/episode_$episodes.fp"
  if ! diff "$TMP/reference.fp" "$TMP/episode_$episodes.fp" > "$TMP/episode_$episodes.diff"; then
    cat "$TMP/episode_$episodes.diff" >&2
    fail "episode $episodes: outputs differ from the uninterrupted run"
  fi
  if [ -n "$(temp_files "$OUT")" ]; then
    fail "episode $episodes: temporary files left: $(temp_files "$OUT" | head -5)"
  fi
  echo "episode $episodes: $attempts starts, outputs identical to the reference ($kills kills so far)"
done
echo "PASS: $WHAT, seed $SEED: $kills SIGKILLs ($progress_kills after new outputs appeared)" \
  "in $episodes episodes, $starts starts; all outputs identical to an uninterrupted run," \
  "no temporary files left"
