#!/usr/bin/env bash
# generate_cmake.py on a small committed `bazel query --output=xml` graph
# (testdata/graph.xml: the probe kernels, core:npy and its test, a proto, a
# benchmark, an -O3 library and an sh_test with their dependencies).
set -uo pipefail
d="tools/device"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
gen() {
  /usr/bin/python3 "$d/generate_cmake.py" --bazelrc "$d/testdata/test.bazelrc" \
    --cuda_bzl "$d/testdata/cuda_library.bzl" --query_xml "$1"
}
if ! gen "$d/testdata/graph.xml" > "$tmp/out.cmake" 2> "$tmp/err"; then
  echo "FAIL: generator failed: $(cat "$tmp/err")" >&2
  exit 1
fi
has() {
  if grep -qF -- "$1" "$tmp/out.cmake"; then echo "ok: $2"; else
    echo "FAIL: $2: no line '$1'" >&2; failures=$((failures + 1)); fi
}
hasnt() {
  if grep -qF -- "$1" "$tmp/out.cmake"; then
    echo "FAIL: $2: unexpected '$1'" >&2; failures=$((failures + 1)); else echo "ok: $2"; fi
}
# Flags: plain `build --copt/--cxxopt` lines only, not config-specific ones.
has '"$<$<COMPILE_LANGUAGE:C,CXX>:-O2>"' "build --copt from .bazelrc"
has '"$<$<COMPILE_LANGUAGE:CXX>:-std=c++17>"' "build --cxxopt from .bazelrc"
hasnt 'NOT_ME' "build:cuda lines are not copied"
has 'set(CMAKE_CUDA_ARCHITECTURES "80;90")' "CUDA_ARCHS from cuda_library.bzl"
# cuda_library: the .cu source goes into the library, which links cudart.
has '${MAMMOVL_ROOT}/third_party/cuda/probe_kernels.cu' ".cu source of the cuda_library"
has '    CUDA::cudart)' "cuda_library links the CUDA runtime"
hasnt 'probe_kernels_cu' "the nvcc helper rule is not a CMake target"
# Libraries, tests, copts, third-party mapping.
has 'add_library(core__npy STATIC' "cc_library with sources"
has 'add_library(core__status INTERFACE)' "header-only cc_library"
has 'mammovl_add_test(core__npy_test core npy_test)' "cc_test registered with ctest"
has 'target_compile_options(data__image__intensity PRIVATE' "per-target copts"
has 'add_executable(eval__metrics_benchmark EXCLUDE_FROM_ALL' "manual binaries are not built by default"
has 'add_library(ext_mammovl_system_libs__absl INTERFACE)' "system library from its Bazel target"
has '/usr/include/opencv4' "includes of a system library under the repository path"
has '    ext_mammovl_system_libs__gtest)' "gtest_main's dependency on gtest"
has 'mammovl_proto_library(train__train_config_proto' "proto_library through protoc"
has '    train/train_config.proto)' "proto source path"
has '    core/testdata/npy/' "test data linked into runfiles"
has '#   //third_party/cuda:cuda_lock_test' "sh_test listed as not generated"
# Deterministic.
gen "$d/testdata/graph.xml" > "$tmp/again.cmake" 2>/dev/null
cmp -s "$tmp/out.cmake" "$tmp/again.cmake" && echo "ok: deterministic" ||
  { echo "FAIL: two runs differ" >&2; failures=$((failures + 1)); }
# A graph that lacks a dependency is an error naming it, not a partial build.
sed 's|name="//core:status">|name="//core:status_REMOVED">|' "$d/testdata/graph.xml" > "$tmp/broken.xml"
if gen "$tmp/broken.xml" > /dev/null 2> "$tmp/err"; then
  echo "FAIL: generator accepted a graph without //core:status" >&2; failures=$((failures + 1))
elif grep -qF "//core:status is not in the query result" "$tmp/err"; then
  echo "ok: missing dependency named"
else
  echo "FAIL: missing dependency not named: $(cat "$tmp/err")" >&2; failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "all checks passed"
