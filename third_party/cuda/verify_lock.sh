#!/usr/bin/env bash
# Verifies an installation against the pinned entries of a lock file.
#
#   verify_lock.sh cuda  LOCK CUDA_PATH  VERSION
#   verify_lock.sh torch LOCK TORCH_PATH VERSION
#
# CUDA_PATH is a CUDA toolkit (bin/nvcc, lib64/...); TORCH_PATH is the `torch`
# folder of a PyTorch package (include/, lib/, version.py). VERSION is the
# version the build asks for (--repo_env in .bazelrc). Every "<component>.*"
# entry of LOCK is checked; the first mismatch is reported on stderr naming
# the lock file line and entry, and the exit status is 1. Exit status 2 is a
# usage or lock-file syntax error. The Bazel repository rules in
# cuda_configure.bzl run this script, so `bazel build --config=cuda` and the
# tests check the same thing.
#
# Lock file lines (blank lines and # comments ignored):
#   cuda.version 13.0
#   cuda.nvcc_version Cuda compilation tools, release 13.0, V13.0.88
#   cuda.sha256 bin/nvcc <64 hex digits>
#   torch.version 2.11.0+cu130
#   torch.cuda_version 13.0
#   torch.sha256 lib/libtorch_cuda.so <64 hex digits>
set -uo pipefail

if [ "$#" -ne 4 ]; then
  echo "usage: $0 cuda|torch LOCK INSTALL_PATH VERSION" >&2
  exit 2
fi
component="$1"
lock="$2"
install="${3%/}"
want_version="$4"
lock_name="${MAMMOVL_LOCK_NAME:-$lock}"
update_hint="If the installation was changed on purpose, re-pin it with third_party/cuda/update_lock.sh and commit the lock file."

case "$component" in
  cuda) what="CUDA toolkit"; env_path="MAMMOVL_CUDA_PATH"; env_version="MAMMOVL_CUDA_VERSION" ;;
  torch) what="CUDA LibTorch"; env_path="MAMMOVL_CUDA_TORCH_PATH"; env_version="MAMMOVL_CUDA_TORCH_VERSION" ;;
  *) echo "$0: unknown component '$component' (cuda or torch)" >&2; exit 2 ;;
esac

if [ ! -r "$lock" ]; then
  echo "$what: lock file $lock_name cannot be read" >&2
  exit 2
fi

# mismatch LINE ENTRY MESSAGE
mismatch() {
  echo "$what does not match the lock file: $lock_name:$1: entry '$2': $3" >&2
  echo "(installation: --repo_env=$env_path=$install, version: --repo_env=$env_version=$want_version; see third_party/cuda/README.md. $update_hint)" >&2
  exit 1
}

if [ -z "$install" ] || [ ! -d "$install" ]; then
  line=$(grep -n "^$component\.version " "$lock" | head -n 1 | cut -d: -f1)
  mismatch "${line:-0}" "$component.version" \
    "the $what pinned here is expected at --repo_env=$env_path='$install', which is not a directory"
fi

# Installed version strings, computed on first use.
nvcc_line=""
torch_version=""
torch_cuda=""
read_torch_version() {
  local f="$install/version.py"
  if [ ! -r "$f" ]; then
    mismatch "$1" "$2" "$f is missing (not the torch folder of a PyTorch package?)"
  fi
  torch_version=$(sed -n "s/^__version__ = ['\"]\([^'\"]*\)['\"].*/\1/p" "$f" | head -n 1)
  torch_cuda=$(sed -n "s/^cuda = ['\"]\([^'\"]*\)['\"].*/\1/p" "$f" | head -n 1)
}

checked=0
n=0
while IFS= read -r raw || [ -n "$raw" ]; do
  n=$((n + 1))
  line="${raw%%#*}"
  line="$(echo "$line" | sed 's/[[:space:]]*$//')"
  [ -z "$line" ] && continue
  key="${line%% *}"
  value="${line#* }"
  [ "$key" = "$line" ] && { echo "$lock_name:$n: entry '$key' has no value" >&2; exit 2; }
  case "$key" in
    "$component".*) ;;
    cuda.* | torch.*) continue ;;
    *) echo "$lock_name:$n: unknown entry '$key'" >&2; exit 2 ;;
  esac
  checked=$((checked + 1))
  case "$key" in
    *.version)
      if [ "$value" != "$want_version" ]; then
        mismatch "$n" "$key $value" "the build asks for version '$want_version' (--repo_env=$env_version in .bazelrc), the lock pins '$value'"
      fi
      if [ "$component" = torch ]; then
        [ -n "$torch_version" ] || read_torch_version "$n" "$key $value"
        if [ "$torch_version" != "$value" ]; then
          mismatch "$n" "$key $value" "$install/version.py says __version__ = '$torch_version'"
        fi
      fi
      ;;
    cuda.nvcc_version)
      if [ -z "$nvcc_line" ]; then
        if [ ! -x "$install/bin/nvcc" ]; then
          mismatch "$n" "$key $value" "$install/bin/nvcc is missing or not executable"
        fi
        nvcc_line=$("$install/bin/nvcc" --version 2>&1 | grep -m 1 '^Cuda compilation tools')
      fi
      if [ "$nvcc_line" != "$value" ]; then
        mismatch "$n" "$key $value" "$install/bin/nvcc --version says '${nvcc_line:-<nothing>}'"
      fi
      ;;
    torch.cuda_version)
      [ -n "$torch_version" ] || read_torch_version "$n" "$key $value"
      if [ "$torch_cuda" != "$value" ]; then
        mismatch "$n" "$key $value" "$install/version.py says cuda = '${torch_cuda:-None}' (a CPU-only PyTorch?)"
      fi
      ;;
    *.sha256)
      rel="${value%% *}"
      hash="${value#* }"
      if [ "$rel" = "$value" ] || ! [[ "$hash" =~ ^[0-9a-f]{64}$ ]]; then
        echo "$lock_name:$n: entry '$key' needs '<relative path> <64 lowercase hex digits>', got '$value'" >&2
        exit 2
      fi
      file="$install/$rel"
      if [ ! -f "$file" ]; then
        mismatch "$n" "$key $rel" "$file does not exist"
      fi
      got=$(sha256sum "$file" | cut -d' ' -f1)
      if [ "$got" != "$hash" ]; then
        mismatch "$n" "$key $rel" "sha256 of $file is $got, the lock pins $hash"
      fi
      ;;
    *)
      echo "$lock_name:$n: unknown entry '$key'" >&2
      exit 2
      ;;
  esac
done < "$lock"

if [ "$checked" -eq 0 ] || ! grep -q "^$component\.sha256 " "$lock"; then
  line=$(grep -n "^$component\." "$lock" | head -n 1 | cut -d: -f1)
  mismatch "${line:-0}" "$component.sha256" "the lock file pins no checksums for the $what, so nothing can be verified; pin it with third_party/cuda/update_lock.sh on a machine that has it"
fi
echo "$what at $install matches $lock_name ($checked entries)"
