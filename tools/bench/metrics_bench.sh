#!/bin/bash
# Times eval/metrics against scikit-learn on the same inputs, in one job, and
# prints the speed-up per case. Run from the repository root:
#   tools/bench/metrics_bench.sh
set -euo pipefail
bazel build -c opt //eval:metrics_benchmark 2>/dev/null
# CSV columns: name, iterations, real_time, cpu_time, time_unit, ...
ours=$(bazel-bin/eval/metrics_benchmark --benchmark_format=csv --benchmark_min_time=0.5 2>/dev/null |
  awk -F, '/^"BM_/ {gsub(/"/, "", $1); f = $5 == "ns" ? 1e-6 : $5 == "us" ? 1e-3 : $5 == "s" ? 1e3 : 1;
           print $1, $3 * f}')
ref=$(/usr/bin/python3 tools/reference_bench/metrics_reference.py)
printf '%-30s %12s %12s %8s\n' case "ours (ms)" "sklearn (ms)" ratio
join <(echo "$ours" | sort) <(echo "$ref" | sort) |
  awk '{printf "%-30s %12.3f %12.3f %7.1fx\n", $1, $2, $3, $3 / $2}'
