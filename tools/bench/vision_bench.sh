#!/bin/bash
# Image-encoder throughput of MammoVL (//vision:vision_benchmark) against the
# Python reference (tools/reference_bench/vision_reference.py, Debian
# python3-torch), case by case in the same job, alternating the two so that
# drift of a shared machine hits both. Prints a Markdown table with images/s
# (best iteration, wall clock), the ratio MammoVL / Python, and the ratio of
# process CPU seconds per iteration (less sensitive to other load).
#
#   tools/bench/vision_bench.sh                       # all 12 cases
#   tools/bench/vision_bench.sh --cases "b2:infer:1 vit:train:4" --iters 3
#   tools/bench/vision_bench.sh --alloc jemalloc      # glibc|keep|jemalloc|tcmalloc
#   tools/bench/vision_bench.sh --mem_limit_gb 20     # address-space cap per process
#
# --alloc applies the same allocator setting to both processes:
#   glibc     plain glibc malloc (returns big blocks to the OS: page faults)
#   keep      glibc with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=huge (default)
#   jemalloc  LD_PRELOAD libjemalloc.so.2, dirty/muzzy decay off (libjemalloc2)
#   tcmalloc  LD_PRELOAD libtcmalloc_minimal.so.4 (libtcmalloc-minimal4)
# Each process runs under `ulimit -v` (--mem_limit_gb, default 12) so that a
# case too big for the machine fails by itself instead of waking the kernel's
# OOM killer on a shared host; such a case is reported as failed. Training
# EfficientNet-B5 at 1520×912 needs far more than 12 GiB at batch 4.
set -u
cd "$(dirname "$0")/../.."

CASES="b2:infer:1 b2:infer:4 b5:infer:1 b5:infer:4 vit:infer:1 vit:infer:4 \
b2:train:1 b2:train:4 b5:train:1 b5:train:4 vit:train:1 vit:train:4"
ITERS=2
THREADS=2
ALLOC=keep
TIMEOUT=1800
MEM_LIMIT_GB=12
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) CASES="$2"; shift 2 ;;
    --iters) ITERS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --alloc) ALLOC="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --mem_limit_gb) MEM_LIMIT_GB="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

PYTHON=/usr/bin/python3
LIBDIR=/usr/lib/x86_64-linux-gnu
ENVS=()
case "$ALLOC" in
  glibc) ;;
  keep) ENVS=(MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000) ;;
  jemalloc) ENVS=(LD_PRELOAD=$LIBDIR/libjemalloc.so.2
                  MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1) ;;
  tcmalloc) ENVS=(LD_PRELOAD=$LIBDIR/libtcmalloc_minimal.so.4) ;;
  *) echo "unknown --alloc $ALLOC" >&2; exit 2 ;;
esac

bazel build //vision:vision_benchmark >&2 || exit 1
BIN=bazel-bin/vision/vision_benchmark
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

gemm_probe() {
  "$PYTHON" - "$THREADS" <<'EOF'
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
a = torch.randn(2048, 2048)
a @ a
t = time.perf_counter(); n = 5
for _ in range(n): a @ a
print("%.0f" % (n * 2 * 2048 ** 3 / (time.perf_counter() - t) / 1e9))
EOF
}

echo "# vision benchmark: threads=$THREADS iters=$ITERS alloc=$ALLOC host=$(hostname) $(date -u +%FT%TZ)"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg); GEMM 2048^3 probe: $(gemm_probe) GFLOP/s"
echo
echo "| model | mode | batch | Python img/s | MammoVL img/s | ratio (wall) | ratio (CPU s) | Python peak RSS MiB | MammoVL peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
for c in $CASES; do
  IFS=: read -r model mode batch <<< "$c"
  py="$OUT/$c.py.json"
  cc="$OUT/$c.cc.json"
  (ulimit -v $((MEM_LIMIT_GB * 1024 * 1024))
   env "${ENVS[@]}" timeout "$TIMEOUT" "$PYTHON" tools/reference_bench/vision_reference.py \
       --model "$model" --mode "$mode" --batch "$batch" --iters "$ITERS" --threads "$THREADS" \
       > "$py" 2> "$OUT/$c.py.err") || echo "{\"failed\": \"exit $?\"}" > "$py"
  (ulimit -v $((MEM_LIMIT_GB * 1024 * 1024))
   env "${ENVS[@]}" timeout "$TIMEOUT" "$BIN" --threads="$THREADS" --iters="$ITERS" \
       --benchmark_filter="^$model/$mode/$batch/" --benchmark_format=json \
       > "$cc" 2> "$OUT/$c.cc.err") || echo "{\"failed\": \"exit $?\"}" > "$cc"
  "$PYTHON" - "$model" "$mode" "$batch" "$py" "$cc" <<'EOF'
import json, sys
model, mode, batch, py_path, cc_path = sys.argv[1:]
def load(path):
    try:
        return json.load(open(path))
    except ValueError:
        return {"failed": "no output"}
py, cc = load(py_path), load(cc_path)
def cc_case(d):
    if "benchmarks" not in d or not d["benchmarks"]:
        return None
    b = d["benchmarks"][0]
    if b.get("error_occurred"):
        return None
    return {"ips": b["images_per_s"], "cpu": b["process_cpu_s_per_iter"],
            "rss": int(b["peak_rss_mib"])}
c = cc_case(cc)
p = None if "failed" in py else {"ips": py["images_per_s"], "cpu": py["process_cpu_s_per_iter"],
                                 "rss": py["peak_rss_mib"]}
fmt = lambda x, k: ("%.3f" % x[k]) if x else "failed"
ratio = ("%.2f" % (c["ips"] / p["ips"])) if (c and p) else "-"
cpu_ratio = ("%.2f" % (p["cpu"] / c["cpu"])) if (c and p and c["cpu"] > 0) else "-"
print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
    model, mode, batch, fmt(p, "ips"), fmt(c, "ips"), ratio, cpu_ratio,
    p["rss"] if p else "-", c["rss"] if c else "-"))
EOF
done
echo
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
