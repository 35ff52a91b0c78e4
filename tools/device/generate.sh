#!/usr/bin/env bash
# Regenerates tools/device/CMakeLists.txt (the GPU machine's build) from the
# Bazel graph, or with --check fails when the committed file is stale.
#
#   tools/device/generate.sh          # rewrite CMakeLists.txt
#   tools/device/generate.sh --check  # exit 1 and show the diff if stale
#
# Environment: BAZEL (default: bazel), BAZEL_STARTUP_ARGS (e.g. --output_base).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="tools/device/CMakeLists.txt"

# Every C++/proto/CUDA rule of the workspace, the third-party libraries they
# name, and the local repositories those come from (for their paths).
query='kind("(cc_library|cc_binary|cc_test|cc_proto_library|proto_library|cuda_objects|alias|filegroup|sh_test) rule", //...)
  + kind("cc_library rule", @mammovl_system_libs//:all + @com_google_protobuf//:all)
  + //external:mammovl_system_libs + //external:com_google_protobuf'

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
"${BAZEL:-bazel}" ${BAZEL_STARTUP_ARGS:-} query --output=xml --noshow_progress "$query" > "$tmp/graph.xml"
/usr/bin/python3 tools/device/generate_cmake.py --bazelrc .bazelrc \
  --cuda_bzl third_party/cuda/cuda_library.bzl --query_xml "$tmp/graph.xml" > "$tmp/CMakeLists.txt"

if [ "${1:-}" = "--check" ]; then
  if ! diff -u "$out" "$tmp/CMakeLists.txt" > "$tmp/diff"; then
    head -n 60 "$tmp/diff" >&2
    echo "$out is stale: BUILD files changed since it was generated. Run tools/device/generate.sh and commit the result." >&2
    exit 1
  fi
  echo "$out is up to date"
else
  cp "$tmp/CMakeLists.txt" "$out"
  echo "wrote $out"
fi
