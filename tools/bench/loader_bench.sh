#!/usr/bin/env bash
# Loader throughput: MammoVL's loader (C++ threads) against a Python
# reference (torch DataLoader with worker processes running the same OpenCV
# operations, tools/reference_bench/loader_reference.py), on the same PNGs,
# in the same job, alternating. Prints images/s, peak RSS and the ratio.
#
#   tools/bench/loader_bench.sh [workers] [batches]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
workers="${1:-2}"
batches="${2:-20}"
corpus="${MAMMOVL_BENCH_CORPUS:-/tmp/mammovl_loader_bench_corpus}"

bazel build -c opt //tools:synth_main //data/loader:loader_benchmark >/dev/null 2>&1
bin="$(bazel info -c opt bazel-bin 2>/dev/null)"
if [[ ! -d "$corpus/png" ]]; then
  echo "generating 64 PNGs of 1520x912 under $corpus"
  "$bin/tools/synth_main" --out_dir="$corpus" --set='num_patients: 16' --set='rows: 1600' \
    --set='columns: 1040' --set='outputs { write_dicom: false png_width: 912 png_height: 1520 }' \
    >/dev/null 2>&1
fi
export MAMMOVL_BENCH_PNG_DIR="$corpus/png"
# Both sides keep freed memory instead of unmapping and re-faulting it for
# every batch (shared/notes/cpu-performance.md, "Traps"); glibc reads these
# in C++ and in Python alike.
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000

probe() {  # 2048^3 fp32 GEMM on 2 threads, to date the machine's speed
  /usr/bin/python3 -c "
import time, torch
torch.set_num_threads(2); a = torch.randn(2048, 2048); a @ a
t = time.time(); a @ a; print(f'GEMM probe: {2 * 2048**3 / (time.time() - t) / 1e9:.0f} GFLOP/s')"
}

run_cpp() {  # $1: benchmark name; prints "images/s peak_rss_MiB"
  "$bin/data/loader/loader_benchmark" --benchmark_filter="BM_Loader/$1/$workers/" \
    --benchmark_format=csv 2>/dev/null | awk -F, '/BM_Loader/ {print $7, $12}' | tail -1
}

probe
for pipeline in mammoclip mama; do
  case "$pipeline" in
    mammoclip) name="mammoclip_1520x912" ;;
    mama) name="mama_518" ;;
  esac
  for round in 1 2; do
    cpp_line="$(run_cpp "$name")"
    py_line="$(/usr/bin/python3 tools/reference_bench/loader_reference.py --png_dir "$MAMMOVL_BENCH_PNG_DIR" \
      --pipeline "$pipeline" --workers "$workers" --batches "$batches")"
    cpp_ips="$(echo "$cpp_line" | awk '{print $1}')"
    cpp_rss="$(echo "$cpp_line" | awk '{printf "%.0f", $2}')"
    py_ips="$(echo "$py_line" | sed -E 's/.*: ([0-9.]+) img\/s.*/\1/')"
    printf '%-9s round %d: C++ %6.2f img/s, peak RSS %s MiB | %s | ratio %.2f\n' \
      "$pipeline" "$round" "$cpp_ips" "$cpp_rss" "$py_line" "$(awk -v a="$cpp_ips" -v b="$py_ips" 'BEGIN {print a / b}')"
  done
done
cpp_step="$(run_cpp mammoclip_1520x912_stepwise)"
echo "mammoclip stepwise (the reference's arithmetic step by step) C++: $(echo "$cpp_step" | awk '{print $1}') img/s"
