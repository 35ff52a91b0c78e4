#!/usr/bin/env bash
# The CUDA installation that `--config=cuda` names in .bazelrc matches
# cuda.lock and compiles a kernel; every kind of mismatch fails naming the
# lock-file entry. Needs the CUDA toolkit the lock pins (see README.md); on a
# machine without it this test fails, saying so.
set -uo pipefail
dir="third_party/cuda"
verify="$dir/verify_lock.sh"
lock="$dir/cuda.lock"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect_failure NAME EXPECTED_SUBSTRING verify-args...
expect_failure() {
  local name="$1" want="$2"
  shift 2
  local out rc
  out=$("$verify" "$@" 2>&1)
  rc=$?
  if [ "$rc" -ne 1 ]; then
    fail "$name: exit status $rc, want 1; output: $out"
  elif [[ "$out" != *"$want"* ]]; then
    fail "$name: output does not name '$want': $out"
  else
    echo "ok: $name"
  fi
}

# What .bazelrc's --config=cuda asks for.
rc_value() {
  sed -n "s/^build:cuda --repo_env=$1=\(.*\)$/\1/p" .bazelrc
}
cuda_path=$(rc_value MAMMOVL_CUDA_PATH)
cuda_version=$(rc_value MAMMOVL_CUDA_VERSION)
torch_version=$(rc_value MAMMOVL_CUDA_TORCH_VERSION)
[ -n "$cuda_path" ] || fail ".bazelrc has no 'build:cuda --repo_env=MAMMOVL_CUDA_PATH=...'"
[ -n "$cuda_version" ] || fail ".bazelrc has no 'build:cuda --repo_env=MAMMOVL_CUDA_VERSION=...'"
[ -n "$torch_version" ] || fail ".bazelrc has no 'build:cuda --repo_env=MAMMOVL_CUDA_TORCH_VERSION=...'"

# 1. The pinned toolkit resolves.
if [ ! -x "$cuda_path/bin/nvcc" ]; then
  fail "no CUDA toolkit at $cuda_path (.bazelrc MAMMOVL_CUDA_PATH); this machine needs the one cuda.lock pins"
  exit 1
fi
if out=$("$verify" cuda "$lock" "$cuda_path" "$cuda_version" 2>&1); then
  echo "ok: $out"
else
  fail "the toolkit .bazelrc names does not match cuda.lock: $out"
fi

# 2. nvcc from it compiles the probe kernel for the pinned architecture.
if "$cuda_path/bin/nvcc" -ccbin /usr/bin/gcc -std=c++17 -I. \
    --generate-code=arch=compute_90,code=sm_90 -c "$dir/probe_kernels.cu" \
    -o "$tmp/probe_kernels.o" 2> "$tmp/nvcc.log" &&
    nm -C "$tmp/probe_kernels.o" | grep -q 'mammovl::cuda::ProbeSaxpy'; then
  echo "ok: nvcc compiles probe_kernels.cu"
else
  fail "nvcc could not compile probe_kernels.cu: $(cat "$tmp/nvcc.log")"
fi

# 3. Wrong version, wrong path.
expect_failure "wrong version" "cuda.lock:7: entry 'cuda.version 13.0'" \
  cuda "$lock" "$cuda_path" 12.4
expect_failure "missing path" "entry 'cuda.version'" \
  cuda "$lock" "$tmp/no-such-cuda" "$cuda_version"

# 4. A toolkit whose nvcc reports another release.
fake="$tmp/fake-cuda"
mkdir -p "$fake/bin"
printf '#!/bin/sh\necho "Cuda compilation tools, release 12.4, V12.4.131"\n' > "$fake/bin/nvcc"
chmod +x "$fake/bin/nvcc"
expect_failure "other nvcc release" "entry 'cuda.nvcc_version Cuda compilation tools, release 13.0" \
  cuda "$lock" "$fake" "$cuda_version"

# 5. The same toolkit with one changed file: the real tree through symlinks,
# except a different ptxas.
copy="$tmp/changed-cuda"
mkdir -p "$copy/bin"
for entry in "$cuda_path"/*; do
  [ "$(basename "$entry")" = bin ] || ln -s "$entry" "$copy/$(basename "$entry")"
done
for entry in "$cuda_path"/bin/*; do ln -s "$entry" "$copy/bin/$(basename "$entry")"; done
rm "$copy/bin/ptxas"
cp "$cuda_path/bin/ptxas" "$copy/bin/ptxas"
chmod u+w "$copy/bin/ptxas"
printf 'x' >> "$copy/bin/ptxas"
expect_failure "changed ptxas" "entry 'cuda.sha256 bin/ptxas'" \
  cuda "$lock" "$copy" "$cuda_version"

# 6. CUDA LibTorch: absent, CPU-only, unpinned checksums.
expect_failure "missing LibTorch" "entry 'torch.version'" \
  torch "$lock" "$tmp/no-such-torch" "$torch_version"
torch="$tmp/torch"
mkdir -p "$torch/lib"
printf "__version__ = '%s'\ncuda = None\n" "$torch_version" > "$torch/version.py"
expect_failure "CPU-only LibTorch" "entry 'torch.cuda_version 13.0'" \
  torch "$lock" "$torch" "$torch_version"
printf "__version__ = '%s'\ncuda = '13.0'\n" "$torch_version" > "$torch/version.py"
if grep -q '^torch\.sha256 ' "$lock"; then
  expect_failure "LibTorch differs from the pinned one" "entry 'torch.sha256 lib/" \
    torch "$lock" "$torch" "$torch_version"
else
  expect_failure "unpinned LibTorch checksums" "entry 'torch.sha256'" \
    torch "$lock" "$torch" "$torch_version"
fi

# 7. update_lock.sh re-pins a LibTorch, after which it verifies; then a change
# in one library names that library's entry.
for f in libtorch.so libtorch_cpu.so libtorch_cuda.so libc10.so libc10_cuda.so; do
  echo "$f" > "$torch/lib/$f"
done
mkdir -p "$torch/include/torch/csrc/api/include/torch"
echo "// version" > "$torch/include/torch/csrc/api/include/torch/version.h"
cp "$lock" "$tmp/repinned.lock"
if "$dir/update_lock.sh" torch "$torch" "$tmp/repinned.lock" > "$tmp/update.log" 2>&1 &&
    grep -q "^torch.sha256 lib/libtorch_cuda.so " "$tmp/repinned.lock" &&
    diff <(grep '^cuda\.' "$lock") <(grep '^cuda\.' "$tmp/repinned.lock") > /dev/null; then
  echo "ok: update_lock.sh pins LibTorch and keeps the CUDA entries"
else
  fail "update_lock.sh: $(cat "$tmp/update.log")"
fi
echo "changed" >> "$torch/lib/libc10_cuda.so"
expect_failure "changed libc10_cuda.so" "entry 'torch.sha256 lib/libc10_cuda.so'" \
  torch "$tmp/repinned.lock" "$torch" "$torch_version"

# 8. A lock-file syntax error is a usage error (2), not a pass.
printf 'cuda.version 13.0\ncuda.sha256 bin/nvcc nothex\n' > "$tmp/bad.lock"
"$verify" cuda "$tmp/bad.lock" "$cuda_path" "$cuda_version" > /dev/null 2>&1
[ $? -eq 2 ] && echo "ok: malformed entry rejected" || fail "malformed sha256 entry accepted"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
