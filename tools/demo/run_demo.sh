#!/usr/bin/env bash
# The main job, end to end, on two synthetic archives: synth_main writes a
# report archive and a labelled VinDr-style archive as DICOM + tables,
# preprocess_main turns both into PNGs, pretrain_main trains a small
# Mammo-CLIP model on the reports, zs_eval_main scores mass and suspicious
# calcification zero-shot on the labelled archive's held-out test patients,
# classify_main fits linear probes on its training patients, and
# demo_report_main writes report.md (results table, loss curve, ROC curves)
# and prints the table. Every stage is one binary with one config in
# configs/demo/; README.md explains how to put your own data in their place.
#
#   tools/demo/run_demo.sh                  # everything, into ~/mammovl-demo
#   tools/demo/run_demo.sh --steps 0        # the same without pretraining
#   tools/demo/run_demo.sh --out /data/x --fresh
#
# Options:
#   --out DIR     output folder (default: $MAMMOVL_DEMO_DIR or ~/mammovl-demo)
#   --steps N     pretraining steps (default: the config's train.max_steps);
#                 0 evaluates the towers as initialised (the chance baseline)
#   --patients N  patients per synthetic archive (default: the configs' 200)
#   --quick       a shortened run (smaller archives, fewer steps, fewer
#                 probe epochs) for the integration test
#   --bin DIR     use binaries already built in DIR (laid out as bazel-bin);
#                 without it the script builds them with Bazel
#   --fresh       delete the output folder first
#
# Resuming: each finished stage leaves a marker (.stages/<stage>.done,
# written atomically after success) holding the stage's command line. A rerun
# skips stages whose marker matches and reruns everything after the first
# stage that is not done; an interrupted pretraining continues from its last
# checkpoint. Changing --steps or --quick reruns the stages it affects.
#
# Environment: MAMMOVL_DEMO_DIR (output folder), MAMMOVL_DISK_CACHE (Bazel
# disk cache, default ~/.cache/mammovl/bazel-disk), MAMMOVL_BAZEL_ARGS (extra
# bazel build arguments), MAMMOVL_THREADS (LibTorch threads, default: cores).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

out="${MAMMOVL_DEMO_DIR:-${HOME:-.}/mammovl-demo}"
steps=""
quick=0
patients=""
bin=""
fresh=0
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    --steps) steps="$2"; shift 2 ;;
    --steps=*) steps="${1#*=}"; shift ;;
    --patients) patients="$2"; shift 2 ;;
    --patients=*) patients="${1#*=}"; shift ;;
    --quick) quick=1; shift ;;
    --bin) bin="$2"; shift 2 ;;
    --bin=*) bin="${1#*=}"; shift ;;
    --fresh) fresh=1; shift ;;
    -h|--help) usage ;;
    *) echo "run_demo: unknown argument '$1'" >&2; usage ;;
  esac
done
if [ -n "$steps" ] && ! [[ "$steps" =~ ^[0-9]+$ ]]; then
  echo "run_demo: --steps wants a non-negative integer, got '$steps'" >&2
  exit 2
fi
if [ -n "$patients" ] && ! [[ "$patients" =~ ^[1-9][0-9]*$ ]]; then
  echo "run_demo: --patients wants a positive integer, got '$patients'" >&2
  exit 2
fi

cores="$(nproc 2>/dev/null || echo 2)"
threads="${MAMMOVL_THREADS:-$cores}"
# LibTorch's OpenMP threads sleep instead of spinning while they wait, so the
# data-loading threads get the cores (spinning costs 2-3x CPU time on 2 cores).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# glibc would hand every large activation back to the OS and page-fault it in
# again on the next step (a quarter of the CPU time); keep freed memory.
export MALLOC_MMAP_MAX_="${MALLOC_MMAP_MAX_:-0}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-100000000000}"

say() { printf '%s\n' "$*"; }
die() { printf 'run_demo: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- binaries
if [ -z "$bin" ]; then
  cache="${MAMMOVL_DISK_CACHE:-${HOME:-.}/.cache/mammovl/bazel-disk}"
  mkdir -p "$cache"
  say "== [build] bazel build (warm: seconds; cold: see README.md)"
  start=$SECONDS
  # shellcheck disable=SC2086
  (cd "$repo" && bazel build --disk_cache="$cache" ${MAMMOVL_BAZEL_ARGS:-} \
    //tools:synth_main //tools:preprocess_main //train:pretrain_main \
    //eval:zs_eval_main //eval:classify_main //tools/demo:demo_report_main)
  bin="$(cd "$repo" && bazel info --disk_cache="$cache" bazel-bin 2>/dev/null)"
  say "   build: $((SECONDS - start)) s"
fi
for b in tools/synth_main tools/preprocess_main train/pretrain_main eval/zs_eval_main \
         eval/classify_main tools/demo/demo_report_main; do
  [ -x "$bin/$b" ] || die "missing binary $bin/$b"
done
bin="$(cd "$bin" && pwd)"
cfg="$repo/configs/demo"

# ---------------------------------------------------------------- folder
if [ "$fresh" -eq 1 ] && [ -d "$out" ]; then
  say "run_demo: --fresh: deleting $out"
  rm -rf -- "$out"
fi
mkdir -p "$out/.stages" "$out/logs"
out="$(cd "$out" && pwd)"
cd "$out"
times="$out/logs/stage_times.tsv"

# Shortened settings (--quick) and the step override, as --set arguments.
synth_set=()
pretrain_set=()
probe_set=()
if [ "$quick" -eq 1 ]; then
  synth_set=(--set='num_patients: 100')
  pretrain_set=(--set='train { max_steps: 600 checkpoint { every_n_steps: 50 } }')
  probe_set=(--set='classifier { epochs: 20 }')
fi
if [ -n "$patients" ]; then
  synth_set+=(--set="num_patients: $patients")
fi
if [ -n "$steps" ]; then
  pretrain_set+=(--set="train { max_steps: $steps }")
fi
if [ -n "$steps" ] && [ "$steps" -gt 0 ] && [ "$steps" -lt 200 ]; then
  # The config's warm-up must stay shorter than the run.
  pretrain_set+=(--set="train { schedule { warmup_cosine { warmup_steps: $((steps / 10)) } } }")
fi
pretrain_set+=(--set="train { num_threads: $threads }")

# The tokenizer vocabulary the demo configs name (assets/ in the demo folder;
# a real run names its model's vocab.txt).
mkdir -p assets
cp -f "$repo/text/tokenizer/testdata/bert_cased_vocab.txt" assets/bert_cased_vocab.txt

# ---------------------------------------------------------------- stages
stage_names=(synth_reports synth_labelled preprocess_reports preprocess_labelled pretrain
             zero_shot probe_mass probe_calcification report)
total=${#stage_names[@]}
stage_no=0
dirty=0  # a stage ran: every later stage runs again

interrupted() {
  say ""
  say "run_demo: interrupted; run the same command again to resume (finished stages are kept)."
  exit 130
}
trap interrupted INT TERM

# run_stage NAME DESCRIPTION OUTPUT RESUME -- COMMAND...
# Skips the stage when its marker holds the same command line and no earlier
# stage ran in this invocation. Otherwise runs COMMAND (output to the terminal
# and logs/NAME.log) and writes the marker after success. OUTPUT is the
# stage's folder: deleted before a fresh start. RESUME says how an
# interrupted run of the same command continues: "-" (it cannot: start
# afresh), "" (the binary resumes by itself) or an argument to add.
run_stage() {
  local name="$1" what="$2" output="$3" resume_arg="$4"
  shift 4
  [ "$1" = "--" ] && shift
  stage_no=$((stage_no + 1))
  local marker="$out/.stages/$name.done" started="$out/.stages/$name.started"
  local signature
  signature="$(printf '%q ' "$@")"
  if [ "$dirty" -eq 0 ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$signature" ]; then
    say "== [$stage_no/$total] $name: done earlier, skipped ($what)"
    return 0
  fi
  local extra=()
  if [ "$dirty" -eq 0 ] && [ "$resume_arg" != "-" ] && [ -f "$started" ] &&
     [ "$(cat "$started")" = "$signature" ]; then
    [ -n "$resume_arg" ] && extra=("$resume_arg")
    say "== [$stage_no/$total] $name: resuming ($what)"
  else
    [ -n "$output" ] && rm -rf -- "$output"
    printf '%s' "$signature" > "$started.tmp" && mv -f "$started.tmp" "$started"
    say "== [$stage_no/$total] $name: $what"
  fi
  dirty=1
  rm -f "$marker"
  say "   log: $out/logs/$name.log"
  local t0=$SECONDS c0 c1 rc
  children_cpu; c0="$cpu_now"
  set +e
  "$@" "${extra[@]}" 2>&1 | tee "$out/logs/$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  children_cpu; c1="$cpu_now"
  if [ "$rc" -ne 0 ]; then
    die "stage $name failed (exit $rc); see $out/logs/$name.log. Fix the cause and rerun to resume."
  fi
  local wall=$((SECONDS - t0)) cpu
  cpu="$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", b - a }')"
  printf '%s\t%s\t%s\n' "$name" "$wall" "$cpu" >> "$times"
  printf '%s' "$signature" > "$marker.tmp" && mv -f "$marker.tmp" "$marker"
  say "   $name: done in ${wall} s wall, ${cpu} s CPU"
}

# Sets cpu_now to the user + system CPU seconds of every finished child of
# this shell (`times` must run in this shell, not in a command substitution).
children_cpu() {
  times > "$out/.stages/times.tmp"
  cpu_now="$(awk 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; ++i) { split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2] }
    printf "%.2f", t
  }' "$out/.stages/times.tmp")"
}

# ---------------------------------------------------------------- the job
say "MammoVL demo: output folder $out ($threads LibTorch threads)"
run_stage synth_reports "synthetic report archive (DICOM, reports, tables)" corpus/reports - -- \
  "$bin/tools/synth_main" --config="$cfg/synth_reports.pbtxt" --out_dir=corpus/reports \
  "${synth_set[@]}"
run_stage synth_labelled "synthetic labelled archive, VinDr layout (DICOM, tables)" \
  corpus/labelled - -- \
  "$bin/tools/synth_main" --config="$cfg/synth_labelled.pbtxt" --out_dir=corpus/labelled \
  "${synth_set[@]}"
run_stage preprocess_reports "DICOM -> PNG, report archive" png/reports "" -- \
  "$bin/tools/preprocess_main" --config="$cfg/preprocess.pbtxt" \
  --set='input_dir: "corpus/reports/dicom"' --set='output_dir: "png/reports"'
run_stage preprocess_labelled "DICOM -> PNG, labelled archive" png/labelled "" -- \
  "$bin/tools/preprocess_main" --config="$cfg/preprocess.pbtxt" \
  --set='input_dir: "corpus/labelled/dicom"' --set='output_dir: "png/labelled"'
if [ "$steps" = "0" ]; then
  # pretrain_main trains at least one step; the evaluation stages read the
  # experiment config from pretrain/ and find no checkpoint there.
  run_stage pretrain "no pretraining (--steps 0): towers as initialised" pretrain - -- \
    bash -c 'mkdir -p pretrain && cp "$1" pretrain/config.pbtxt' copy_config "$cfg/pretrain.pbtxt"
else
  run_stage pretrain "Mammo-CLIP pretraining on the reports" pretrain --resume -- \
    "$bin/train/pretrain_main" --config="$cfg/pretrain.pbtxt" "${pretrain_set[@]}"
fi
run_stage zero_shot "zero-shot mass / suspicious calcification, held-out test patients" \
  zero_shot - -- \
  "$bin/eval/zs_eval_main" --config="$cfg/zero_shot.pbtxt" \
  --set="model { num_threads: $threads }"
run_stage probe_mass "linear probe, mass" probe/mass - -- \
  "$bin/eval/classify_main" --config="$cfg/linear_probe.pbtxt" \
  --set="model { num_threads: $threads }" "${probe_set[@]}" \
  --set='classifier { label: "mass" }' --set='out_dir: "probe/mass"'
run_stage probe_calcification "linear probe, suspicious calcification" probe/calcification - -- \
  "$bin/eval/classify_main" --config="$cfg/linear_probe.pbtxt" \
  --set="model { num_threads: $threads }" "${probe_set[@]}" \
  --set='classifier { label: "calcification" }' --set='out_dir: "probe/calcification"'
dirty=1  # the report is cheap: always rewritten
run_stage report "results table and report.md" "" - -- \
  "$bin/tools/demo/demo_report_main" --demo_dir="$out"
