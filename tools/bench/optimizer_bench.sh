#!/bin/bash
# Times train/optimizer (AdamW step, gradient clipping) against torch.optim
# on the same parameter shapes, in one job, and prints the speed-up per case.
# Run from the repository root:
#   tools/bench/optimizer_bench.sh
set -euo pipefail
bazel build -c opt //train:optimizer_benchmark 2>/dev/null
# Best of 10 single-call repetitions on each side (the reference takes the best
# of 10 too): on a shared machine the minimum is the stable statistic.
# CSV columns: name, iterations, real_time, cpu_time, time_unit, ...
ours=$(bazel-bin/train/optimizer_benchmark --benchmark_format=csv --benchmark_min_time=0 \
  --benchmark_repetitions=10 2>/dev/null |
  awk -F, '/^"BM_[A-Za-z]+"/ {gsub(/"/, "", $1); f = $5 == "ns" ? 1e-6 : $5 == "us" ? 1e-3 : $5 == "s" ? 1e3 : 1;
           t = $3 * f; if (!($1 in best) || t < best[$1]) best[$1] = t}
           END {for (k in best) print k, best[k]}')
ref=$(/usr/bin/python3 tools/reference_bench/optimizer_reference.py)
printf '%-20s %12s %12s %8s\n' case "ours (ms)" "torch (ms)" ratio
join <(echo "$ours" | sort) <(echo "$ref" | sort) |
  awk '{printf "%-20s %12.2f %12.2f %7.2fx\n", $1, $2, $3, $3 / $2}'
