#!/bin/bash
# Times the text side against its references in one job and prints ratios:
#  - tokenisation throughput (sentences/s): //text/tokenizer:tokenizer_benchmark
#    vs Hugging Face's Rust tokenizers through npm (tools/reference_bench/
#    tokenizer_reference.js), with 1 and 2 threads;
#  - BERT-base forward, batch 16 × 256: //text/bert:bert_benchmark vs the
#    PyTorch reference (tools/reference_bench/bert_reference.py), 2 threads.
# Run from the repository root after tools/setup/install_npm.sh:
#   tools/bench/text_bench.sh
set -euo pipefail
bazel build -c opt //text/tokenizer:tokenizer_benchmark //text/bert:bert_benchmark 2>/dev/null
gemm=$(/usr/bin/python3 -c 'import time, torch; torch.set_num_threads(2); a = torch.randn(2048, 2048)
a @ a; t = time.perf_counter(); a @ a; print(f"{2 * 2048 ** 3 / (time.perf_counter() - t) / 1e9:.0f}")')
echo "GEMM probe (2048^3 fp32, 2 threads): ${gemm} GFLOP/s; load: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== tokenisation (sentences/s, higher is better)"
printf '%-28s %8s %12s %12s %8s\n' case threads ours "HF (Rust)" ratio
for threads in 1 2; do
  ours=$(cd bazel-bin/text/tokenizer/tokenizer_benchmark.runfiles/mammovl &&
    ../../tokenizer_benchmark --benchmark_format=csv --benchmark_min_time=1 \
      --benchmark_filter="/${threads}/" 2>/dev/null |
    awk -F, '/^"BM_/ {split($1, n, "/"); gsub(/"/, "", n[1]); print n[1], $NF}')
  ref=$(RAYON_NUM_THREADS=$threads node tools/reference_bench/tokenizer_reference.js)
  join <(echo "$ours" | sort) <(echo "$ref" | sort) |
    awk -v t="$threads" '{printf "%-28s %8d %12.0f %12.0f %7.1fx\n", $1, t, $2, $3, $2 / $3}'
done

echo "== BERT-base forward, 16 x 256 (ms, lower is better)"
ours=$(bazel-bin/text/bert/bert_benchmark --benchmark_format=csv 2>/dev/null |
  awk -F, '/^"BM_/ {split($1, n, "/"); gsub(/"/, "", n[1]); print n[1], $3}')
ref=$(/usr/bin/python3 tools/reference_bench/bert_reference.py)
printf '%-34s %10s %12s %8s\n' case ours "PyTorch" ratio
echo "$ours" | while read -r name ms; do
  base=${name%Trimmed}
  r=$(echo "$ref" | awk -v n="$base" '$1 == n {print $2}')
  printf '%-34s %10.0f %12.0f %7.2fx\n' "$name" "$ms" "$r" "$(echo "$r / $ms" | bc -l)"
done
