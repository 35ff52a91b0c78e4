#!/bin/bash
# Embedding extraction throughput, PNG on disk -> normalised embeddings with
# EfficientNet at 1520x912: MammoVL (//eval:embedding_benchmark) against the
# Python reference (tools/reference_bench/embedding_reference.py) on the same
# PNG files in the same job, alternating the two. Prints images/s of both and
# the ratio MammoVL / Python.
#
#   tools/bench/embedding_bench.sh                      # B5, 8 images, 2 rounds
#   tools/bench/embedding_bench.sh --model b2 --images 4 --rounds 1
# Both sides use glibc malloc without returning memory to the OS
# (MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_ huge), 2 intra-op threads and 2
# loader workers.
set -eu
cd "$(dirname "$0")/../.."
MODEL=b5
IMAGES=8
ROUNDS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --images) IMAGES="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
# fastbuild like vision_bench.sh: the time is in LibTorch kernels, not in our code.
bazel build //eval:embedding_benchmark >/dev/null
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
/usr/bin/python3 - "$DIR" "$IMAGES" <<'PY'
import sys, numpy as np, cv2
d, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
for i in range(n):
    img = (rng.random((1520, 912)) * 60).astype(np.uint8)
    cv2.circle(img, (456, 760), 300 + 10 * i, 180, -1)
    cv2.imwrite(f"{d}/{i:04d}.png", img)
PY
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000
echo "| round | MammoVL img/s | Python img/s | ratio |"
echo "|---|---|---|---|"
for r in $(seq 1 "$ROUNDS"); do
  OURS=$(MVL_BENCH_PNG_DIR="$DIR" bazel-bin/eval/embedding_benchmark --variant="$MODEL" \
         --benchmark_min_time=0 --benchmark_format=json 2>/dev/null |
         /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["benchmarks"][0]["items_per_second"])')
  THEIRS=$(/usr/bin/python3 tools/reference_bench/embedding_reference.py --png_dir "$DIR" \
           --model "$MODEL" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["images_per_s"])')
  /usr/bin/python3 -c "print('| $r | %.3f | %.3f | %.2f |' % ($OURS, $THEIRS, $OURS / $THEIRS))"
done
