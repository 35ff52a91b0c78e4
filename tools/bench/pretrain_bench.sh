#!/bin/bash
# One pretraining step (forward, loss, backward, AdamW) of MammoVL
# (//train:pretrain_step_benchmark, built from configs/mammoclip_b5.pbtxt and
# configs/mama.pbtxt) against the PyTorch reference
# (tools/reference_bench/pretrain_step_reference.py) on the same shapes, in
# the same job. Prints a Markdown table: seconds per step (wall), process CPU
# seconds per step, ratios Python / MammoVL (> 1: MammoVL faster), peak RSS.
#
#   tools/bench/pretrain_bench.sh                      # full size (needs > 24 GiB for B5)
#   tools/bench/pretrain_bench.sh --height 380 --width 228 --size 112 --gpt2_layers 1
#   tools/bench/pretrain_bench.sh --recipes mama --iters 2
#
# Both sides run with the same glibc malloc settings and under `ulimit -v`
# (--mem_limit_gb, default 20), so a case too big for the machine fails by
# itself and is reported as failed.
set -u
cd "$(dirname "$0")/../.."
RECIPES="mammoclip_b5 mama"
ITERS=1; THREADS=2; BATCH=2; HEIGHT=1520; WIDTH=912; SIZE=518; LAYERS=2
TIMEOUT=3600; MEM_LIMIT_GB=20
while [ $# -gt 0 ]; do
  case "$1" in
    --recipes) RECIPES="$2"; shift 2 ;;
    --iters) ITERS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --batch) BATCH="$2"; shift 2 ;;
    --height) HEIGHT="$2"; shift 2 ;;
    --width) WIDTH="$2"; shift 2 ;;
    --size) SIZE="$2"; shift 2 ;;
    --gpt2_layers) LAYERS="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --mem_limit_gb) MEM_LIMIT_GB="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
PYTHON=/usr/bin/python3
ENVS=(MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000)
bazel build //train:pretrain_step_benchmark >&2 || exit 1
BIN=bazel-bin/train/pretrain_step_benchmark
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
SHAPE=(--batch="$BATCH" --height="$HEIGHT" --width="$WIDTH" --size="$SIZE"
       --gpt2_layers="$LAYERS" --iters="$ITERS" --threads="$THREADS")
echo "# pretrain step benchmark: batch=$BATCH ${HEIGHT}x${WIDTH} (Mammo-CLIP) ${SIZE}^2 (MaMA)" \
     "gpt2_layers=$LAYERS threads=$THREADS iters=$ITERS host=$(hostname) $(date -u +%FT%TZ)"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| recipe | Python s/step | MammoVL s/step | ratio (wall) | Python CPU s | MammoVL CPU s | ratio (CPU) | Python RSS MiB | MammoVL RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
for r in $RECIPES; do
  (ulimit -v $((MEM_LIMIT_GB * 1024 * 1024))
   env "${ENVS[@]}" timeout "$TIMEOUT" "$PYTHON" tools/reference_bench/pretrain_step_reference.py \
       --recipe "$r" "${SHAPE[@]}" > "$OUT/$r.py.json" 2> "$OUT/$r.py.err") ||
    echo "{\"failed\": 1}" > "$OUT/$r.py.json"
  (ulimit -v $((MEM_LIMIT_GB * 1024 * 1024))
   env "${ENVS[@]}" timeout "$TIMEOUT" "$BIN" "${SHAPE[@]}" --benchmark_filter="^$r/" \
       --benchmark_format=json > "$OUT/$r.cc.json" 2> "$OUT/$r.cc.err") ||
    echo "{\"failed\": 1}" > "$OUT/$r.cc.json"
  "$PYTHON" - "$r" "$OUT/$r.py.json" "$OUT/$r.cc.json" <<'PY'
import json, sys
r, py_path, cc_path = sys.argv[1:]
def load(p):
    try:
        return json.load(open(p))
    except ValueError:
        return {"failed": 1}
py, cc = load(py_path), load(cc_path)
p = None if "failed" in py else {"s": min(py["seconds"]), "cpu": py["process_cpu_s_per_iter"],
                                 "rss": py["peak_rss_mib"]}
c = None
if cc.get("benchmarks") and not cc["benchmarks"][0].get("error_occurred"):
    b = cc["benchmarks"][0]
    c = {"s": b["seconds_per_step"], "cpu": b["process_cpu_s_per_step"], "rss": int(b["peak_rss_mib"])}
f = lambda x, k: ("%.2f" % x[k]) if x else "failed"
ratio = lambda k: ("%.2f" % (p[k] / c[k])) if (p and c and c[k] > 0) else "-"
print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
    r, f(p, "s"), f(c, "s"), ratio("s"), f(p, "cpu"), f(c, "cpu"), ratio("cpu"),
    p["rss"] if p else "-", c["rss"] if c else "-"))
PY
done
echo
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
