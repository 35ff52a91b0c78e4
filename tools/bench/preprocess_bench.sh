#!/usr/bin/env bash
# Benchmark of DICOM -> PNG preprocessing (Mammo-CLIP preset): MammoVL's
# preprocess_main against the Python reference of the same recipe
# (tools/reference_bench/preprocess_reference.py: pydicom + NumPy + OpenCV),
# on the same generated full-size files, in one job.
#
#   tools/bench/preprocess_bench.sh [COUNT] [J2K_COUNT]
#
# Generates COUNT uncompressed and J2K_COUNT JPEG 2000 lossless images of
# 3328x2560 and 4096x3328 (16-bit words, 12 bits stored) into a temporary
# folder, then for each set runs, interleaved, the reference with 1 and 2
# processes and preprocess_main with 1 and 2 workers, each after a warm-up
# image, and prints images/s, the ratio and the seconds per stage. A GEMM
# probe (NumPy 2048^3) is printed with the results, since host speed drifts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
COUNT="${1:-12}"
J2K_COUNT="${2:-4}"
PY=/usr/bin/python3
WORK="$(mktemp -d /tmp/mammovl_preprocess_bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

bazel build -c opt //tools:preprocess_main >/dev/null 2>&1 || bazel build -c opt //tools:preprocess_main
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)/tools/preprocess_main"

echo "generating inputs in $WORK ..."
"$PY" tools/bench/make_bench_inputs.py "$WORK/in" --count="$COUNT" --j2k_count="$J2K_COUNT" \
  >/dev/null 2>&1

probe() {
  "$PY" - <<'PYEOF'
import time, numpy as np
a = np.random.rand(2048, 2048).astype(np.float32); b = a.copy(); a @ b
t = time.perf_counter(); a @ b; dt = time.perf_counter() - t
print("GEMM probe (NumPy 2048^3 fp32): %.0f GFLOP/s" % (2 * 2048 ** 3 / dt / 1e9))
PYEOF
}

ours() {  # set workers -> prints run_stats.json path
  local set="$1" workers="$2"
  local out="$WORK/out_${set}_ours_$workers"
  rm -rf "$out"
  "$BIN" --set="input_dir: \"$WORK/in/$set\"" --set="output_dir: \"$out\"" \
    --set="num_workers: $workers" --set="extensions: \".dcm\"" --logtostderr >"$out.log" 2>&1
  echo "$out/run_stats.json"
}

ref() {  # set processes -> prints the JSON line
  local set="$1" procs="$2"
  local out="$WORK/out_${set}_ref_$procs"
  rm -rf "$out"
  "$PY" tools/reference_bench/preprocess_reference.py --preset=mammoclip --output_dir="$out" \
    --processes="$procs" "$WORK/in/$set"/*.dcm 2>/dev/null | tail -1
}

probe
nproc_now=$(nproc)
echo "cores: $nproc_now, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for set in raw_3328x2560 raw_4096x3328 j2k_3328x2560 j2k_4096x3328; do
  # Warm-up: one image each way (page cache, first-touch memory).
  mkdir -p "$WORK/warm/$set"
  cp "$(ls "$WORK/in/$set"/*.dcm | head -1)" "$WORK/warm/$set/"
  "$BIN" --set="input_dir: \"$WORK/warm/$set\"" --set="output_dir: \"$WORK/warm_out_$set\"" \
    --logtostderr >/dev/null 2>&1
  "$PY" tools/reference_bench/preprocess_reference.py --output_dir="$WORK/warm_ref" \
    "$WORK/warm/$set"/*.dcm >/dev/null 2>&1
  for workers in 1 2; do
    r=$(ref "$set" "$workers")
    o=$(cat "$(ours "$set" "$workers")")
    # Same pixels: the PNGs of both sides are identical.
    same=$(cd "$WORK/out_${set}_ref_$workers" && for f in *.png; do
      cmp -s "$f" "$WORK/out_${set}_ours_$workers/$f" || echo "differs: $f"; done | wc -l)
    "$PY" - "$set" "$workers" "$r" "$o" "$same" <<'PYEOF'
import json, sys
name, workers, ref, ours, differ = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
ri, oi = ref["images_per_s"], ours["images_per_s"]
rs, os_ = ref["stage_s_per_image"], ours["stage_s_per_image"]
ms = lambda d, *k: 1000 * sum(d.get(x, 0.0) for x in k)
print(f"{name} x{workers}: MammoVL {oi:6.2f} img/s | Python {ri:6.2f} img/s | ratio {oi / ri:5.2f}x"
      f" | PNGs identical: {'yes' if differ == 0 else 'NO (%d differ)' % differ}")
print(f"   ms/img  read+decode  intensity  crop  resize  encode  write"
      f"\n   MammoVL {ms(os_, 'io', 'parse', 'decode'):11.1f} {ms(os_, 'intensity'):10.1f} {ms(os_, 'crop'):5.1f}"
      f" {ms(os_, 'resize'):7.1f} {ms(os_, 'encode'):7.1f} {ms(os_, 'write'):6.1f}"
      f"\n   Python  {ms(rs, 'decode'):11.1f} {ms(rs, 'intensity'):10.1f} {ms(rs, 'crop'):5.1f}"
      f" {ms(rs, 'resize'):7.1f} {ms(rs, 'encode'):7.1f} {ms(rs, 'write'):6.1f}")
PYEOF
  done
done
probe
