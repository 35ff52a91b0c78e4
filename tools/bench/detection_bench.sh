#!/bin/bash
# Times detection/ (anchors, NMS, RetinaNet loss, post-processing, VOC and
# COCO AP) against the Python reference on the same inputs, in one job, and
# prints the speed-up per case. Run from the repository root:
#   tools/bench/detection_bench.sh
set -euo pipefail
bazel build -c opt //detection:detection_benchmark 2>/dev/null
# CSV columns: name, iterations, real_time, cpu_time, time_unit, ...
ours=$(bazel-bin/detection/detection_benchmark --benchmark_format=csv --benchmark_min_time=0.5 2>/dev/null |
  awk -F, '/^"BM_/ {gsub(/"/, "", $1); f = $5 == "ns" ? 1e-6 : $5 == "us" ? 1e-3 : $5 == "s" ? 1e3 : 1;
           print $1, $3 * f}')
ref=$(/usr/bin/python3 tools/reference_bench/detection_reference.py)
printf '%-32s %12s %12s %8s\n' case "ours (ms)" "Python (ms)" ratio
join <(echo "$ours" | sort) <(echo "$ref" | sort) |
  awk '{printf "%-32s %12.3f %12.3f %7.1fx\n", $1, $2, $3, $3 / $2}'
