#!/usr/bin/env bash
# The GPU tests (tag "gpu", run on the GPU machine) compile and link in this
# build, and list every case they will run there. They are not run here: a
# CPU machine has no device, and they fail rather than skip without one.
set -uo pipefail
bin="tools/device/loss_gpu_parity_test"
cases=$(ls -d losses/testdata/*/ | xargs -n 1 basename | grep -v '^sinkhorn$' | sort)
listed=$("$bin" --gtest_list_tests | sed -n 's/^  CpuAndGpuAgree\/\([A-Za-z0-9_]*\).*/\1/p' | sort)
if [ -z "$cases" ]; then
  echo "FAIL: no golden loss cases under losses/testdata" >&2
  exit 1
fi
if [ "$cases" != "$listed" ]; then
  echo "FAIL: $bin lists other cases than losses/testdata has:" >&2
  diff <(echo "$cases") <(echo "$listed") >&2
  exit 1
fi
# Without a device it must fail, naming why (not pass, not skip).
if out=$("$bin" --gtest_filter='AllCases/LossGpuParityTest.CpuAndGpuAgree/clip_mean' 2>&1); then
  if ! echo "$out" | grep -q '\[  PASSED  \] 1 test'; then
    echo "FAIL: exit 0 without a passing test: $out" >&2
    exit 1
  fi
  echo "ok: a CUDA device is present and clip_mean passed"
elif echo "$out" | grep -q "needs a CUDA device"; then
  echo "ok: without a CUDA device the GPU test fails, saying so"
else
  echo "FAIL: unexpected failure: $out" >&2
  exit 1
fi
echo "ok: $(echo "$listed" | wc -l) loss cases listed"

# The encoders' parity test: one case per backbone, same no-device failure.
vision="tools/device/vision_gpu_parity_test"
encoders=$("$vision" --gtest_list_tests | sed -n 's/^  CpuAndGpuAgree\/\([a-z]*\).*/\1/p' | tr '\n' ' ')
if [ "$encoders" != "efficientnet resnet vit " ]; then
  echo "FAIL: $vision lists '$encoders', want 'efficientnet resnet vit '" >&2
  exit 1
fi
if out=$("$vision" --gtest_filter='*/resnet' 2>&1); then
  echo "$out" | grep -q '\[  PASSED  \] 1 test' || { echo "FAIL: $out" >&2; exit 1; }
  echo "ok: a CUDA device is present and resnet passed"
elif echo "$out" | grep -q "needs a CUDA device"; then
  echo "ok: the encoders' GPU test fails without a device, saying so"
else
  echo "FAIL: unexpected failure: $out" >&2
  exit 1
fi
