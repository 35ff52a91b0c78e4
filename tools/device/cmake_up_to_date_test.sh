#!/usr/bin/env bash
# Fails when tools/device/CMakeLists.txt no longer matches the BUILD files:
# runs tools/device/generate.sh --check, i.e. a real `bazel query` of the
# workspace (a separate, throw-away Bazel instance under TEST_TMPDIR) and the
# generator, and diffs the result against the committed file. Tagged
# "external" (BUILD files are not inputs Bazel could track) and "local" (runs
# Bazel).
set -euo pipefail
script="$(readlink -f tools/device/generate.sh)"
workspace="$(cd "$(dirname "$script")/../.." && pwd)"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"

# The workspace without its bazel-* output links (a second Bazel instance
# would otherwise load packages through them) and without local settings.
farm="$tmp/workspace"
mkdir -p "$farm"
for entry in "$workspace"/* "$workspace"/.bazelrc "$workspace"/.bazelignore; do
  base="$(basename "$entry")"
  case "$base" in bazel-* | user.bazelrc) continue ;; esac
  [ -e "$entry" ] && ln -s "$entry" "$farm/$base"
done

bazel="$(command -v bazel || true)"
if [ -z "$bazel" ]; then
  echo "FAIL: no bazel on PATH (${PATH}); this test runs bazel query" >&2
  exit 1
fi
HOME="$tmp/home" BAZEL="$bazel" \
  BAZEL_STARTUP_ARGS="--batch --output_user_root=$tmp/bazel_root --output_base=$tmp/bazel_base" \
  "$farm/tools/device/generate.sh" --check
