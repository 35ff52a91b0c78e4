#!/usr/bin/env bash
# `--config=cuda` end to end in Bazel (analysis only, in a throw-away Bazel
# instance on this workspace): the pinned toolkit resolves and a cuda_library
# analyses; a wrong --repo_env version or path stops the build naming the
# cuda.lock entry; a LibTorch target without the pinned CUDA LibTorch is
# refused, not built against the CPU LibTorch. Tagged "local" and "external".
set -uo pipefail
source third_party/cuda/nested_bazel.sh
NESTED_WORKSPACE_SRC="$(cd "$(dirname "$(readlink -f third_party/cuda/cuda.lock)")/../.." && pwd)"
NESTED_TMP="${TEST_TMPDIR:-$(mktemp -d)}"
nested_workspace "$NESTED_TMP/workspace"
trap 'nested_bazel shutdown > /dev/null 2>&1' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect RC_WANT SUBSTRING bazel-args...
expect() {
  local want="$1" text="$2" out rc
  shift 2
  out=$(nested_bazel build --nobuild --noshow_progress "$@" 2>&1)
  rc=$?
  if { [ "$want" = 0 ] && [ "$rc" -ne 0 ]; } || { [ "$want" != 0 ] && [ "$rc" -eq 0 ]; }; then
    fail "bazel build $*: exit $rc: $(echo "$out" | tail -n 15)"
  elif [[ "$out" != *"$text"* ]]; then
    fail "bazel build $*: output does not contain '$text': $(echo "$out" | tail -n 15)"
  else
    echo "ok: bazel build --nobuild $*"
  fi
}

expect 0 "Analyzed target //third_party/cuda:probe_test" --config=cuda //third_party/cuda:probe_test
expect 1 "cuda.lock:7: entry 'cuda.version 13.0'" \
  --config=cuda --repo_env=MAMMOVL_CUDA_VERSION=12.4 //third_party/cuda:probe_test
expect 1 "entry 'cuda.version': the CUDA toolkit pinned here is expected at --repo_env=MAMMOVL_CUDA_PATH='/nonexistent/cuda'" \
  --config=cuda --repo_env=MAMMOVL_CUDA_PATH=/nonexistent/cuda //third_party/cuda:probe_test
if [ -d "$(sed -n 's/^build:cuda --repo_env=MAMMOVL_CUDA_TORCH_PATH=//p' "$NESTED_FARM/.bazelrc")" ]; then
  expect 0 "Analyzed target //core:torch_status" --config=cuda //core:torch_status
else
  expect 1 "cuda_libtorch_missing_see_third_party_cuda_cuda_lock" --config=cuda //core:torch_status
fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "all checks passed"
