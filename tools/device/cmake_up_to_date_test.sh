#!/usr/bin/env bash
# Fails when tools/device/CMakeLists.txt no longer matches the BUILD files:
# runs tools/device/generate.sh --check, i.e. a real `bazel query` of the
# workspace (a separate, throw-away Bazel instance under TEST_TMPDIR) and the
# generator, and diffs the result against the committed file. Tagged
# "external" (BUILD files are not inputs Bazel could track) and "local" (runs
# Bazel).
set -euo pipefail
source third_party/cuda/nested_bazel.sh
NESTED_WORKSPACE_SRC="$(cd "$(dirname "$(readlink -f tools/device/generate.sh)")/../.." && pwd)"
NESTED_TMP="${TEST_TMPDIR:-$(mktemp -d)}"
nested_workspace "$NESTED_TMP/workspace"
HOME="$NESTED_TMP/home" BAZEL="$(nested_bazel_binary)" \
  BAZEL_STARTUP_ARGS="--batch --output_user_root=$NESTED_TMP/bazel_root --output_base=$NESTED_TMP/bazel_base" \
  "$NESTED_FARM/tools/device/generate.sh" --check
