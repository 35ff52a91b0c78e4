#!/bin/bash
# Forward + backward time of the losses (//losses:losses_benchmark) against
# the same computations in Python PyTorch (tools/reference_bench/
# losses_reference.py), in one job, with the same thread count (default 2). Prints per case the
# milliseconds per forward + backward (wall clock and process CPU) of both and
# the ratios Python / MammoVL (> 1: MammoVL faster).
# Run from the repository root:
#   tools/bench/losses_bench.sh [--threads N]
set -euo pipefail
export MVL_BENCH_THREADS=2
if [ "${1:-}" = "--threads" ]; then MVL_BENCH_THREADS="$2"; fi
cd "$(dirname "$0")/../.."
# The time is spent inside ATen; the default build (-O2, see .bazelrc) shares
# the test build's cache.
bazel build //losses:losses_benchmark 2>/dev/null
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000
# CSV columns: name, iterations, real_time, cpu_time, time_unit, ...
ours=$(bazel-bin/losses/losses_benchmark --benchmark_format=csv --benchmark_min_time=1 \
         2>/dev/null |
  awk -F, '/^"BM_/ {gsub(/"/, "", $1); sub(/\/.*/, "", $1); f = $5 == "ns" ? 1e-6 : $5 == "us" ? 1e-3 : $5 == "s" ? 1e3 : 1;
           print $1, $3 * f, $4 * f}')
ref=$(/usr/bin/python3 tools/reference_bench/losses_reference.py)
echo "threads: $MVL_BENCH_THREADS, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %10s %10s %7s   %10s %10s %7s\n' case "ours wall" "py wall" ratio \
  "ours cpu" "py cpu" ratio
join <(echo "$ours" | sort) <(echo "$ref" | sort) |
  awk '{printf "%-28s %10.3f %10.3f %6.2fx   %10.3f %10.3f %6.2fx\n", $1, $2, $4, $4 / $2,
        $3, $5, $5 / $3}'
