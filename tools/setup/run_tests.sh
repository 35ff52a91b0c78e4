#!/usr/bin/env bash
# Runs the whole test suite (bazel test //...) plus the checks that need their
# own Bazel workspace, prints Bazel's per-target results, and ends with one
# line "N passed, N failed". Exits non-zero if anything failed.
#
# Environment:
#   MAMMOVL_DISK_CACHE  Bazel disk cache folder (default ~/.cache/mammovl/bazel-disk),
#                       kept outside the clone so fresh clones reuse objects.
#   MAMMOVL_BAZEL_ARGS  extra arguments for bazel test (e.g. --config=asan).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

cache="${MAMMOVL_DISK_CACHE:-$HOME/.cache/mammovl/bazel-disk}"
mkdir -p "$cache"
log="$(mktemp -t mammovl-test.XXXXXX.log)"

# The CUDA toolchain checks need the toolkit pinned in third_party/cuda/cuda.lock,
# which is not a Debian package: they run wherever it is installed.
filters=()
cuda_path="$(sed -n 's/^build:cuda --repo_env=MAMMOVL_CUDA_PATH=//p' .bazelrc)"
if [ ! -x "${cuda_path:-/usr/local/cuda}/bin/nvcc" ]; then
  echo "note: no CUDA toolkit at ${cuda_path:-/usr/local/cuda}; the CUDA toolchain tests (tag requires_cuda_toolkit) are not run"
  filters=(--test_tag_filters=-requires_cuda_toolkit)
fi

# shellcheck disable=SC2086
bazel test //... --disk_cache="$cache" --test_summary=short "${filters[@]}" \
  ${MAMMOVL_BAZEL_ARGS:-} 2>&1 | tee "$log"
bazel_rc=${PIPESTATUS[0]}

# Bazel prints one line per test target: "//pkg:name  (cached) PASSED in 0.1s".
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|INCOMPLETE|NO STATUS|FAILED TO BUILD|REMOTE FAILURE)' "$log")
if [ "$bazel_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A build or analysis error before any test ran.
  failed=1
  echo "bazel test exited with $bazel_rc before reporting test results"
fi

# The consumer example is its own workspace that pulls MammoVL in.
echo "== examples/consumer (separate workspace using MammoVL as an external repository)"
if (cd examples/consumer && bazel run //:consumer_main --disk_cache="$cache" 2>&1 | tail -n 20); then
  echo "//examples/consumer:consumer_main PASSED"
  passed=$((passed + 1))
else
  echo "//examples/consumer:consumer_main FAILED"
  failed=$((failed + 1))
fi
(cd examples/consumer && bazel shutdown >/dev/null 2>&1) || true

rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
