#!/usr/bin/env bash
# Re-pins one component of the lock file after a deliberate upgrade:
#
#   third_party/cuda/update_lock.sh cuda  /usr/local/cuda
#   third_party/cuda/update_lock.sh torch /usr/lib/python3.12/site-packages/torch
#
# Replaces the component's version and sha256 entries with what the
# installation has, then runs verify_lock.sh on it. Review and commit the diff
# together with the matching --repo_env lines in .bazelrc.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
component="${1:?usage: update_lock.sh cuda|torch INSTALL_PATH}"
install="${2:?usage: update_lock.sh cuda|torch INSTALL_PATH}"
install="${install%/}"
lock="${3:-$here/cuda.lock}"

case "$component" in
  cuda)
    files=(bin/nvcc bin/nvcc.profile bin/cudafe++ bin/ptxas bin/fatbinary
      bin/nvlink bin/bin2c nvvm/bin/cicc nvvm/libdevice/libdevice.10.bc
      lib64/libcudart_static.a lib64/libcudart.so.13 lib64/libcudadevrt.a)
    nvcc_line=$("$install/bin/nvcc" --version | grep -m 1 '^Cuda compilation tools')
    version=$(echo "$nvcc_line" | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
    entries=("cuda.version $version" "cuda.nvcc_version $nvcc_line")
    ;;
  torch)
    files=(lib/libtorch.so lib/libtorch_cpu.so lib/libtorch_cuda.so lib/libc10.so
      lib/libc10_cuda.so include/torch/csrc/api/include/torch/version.h)
    version=$(sed -n "s/^__version__ = ['\"]\([^'\"]*\)['\"].*/\1/p" "$install/version.py")
    cuda=$(sed -n "s/^cuda = ['\"]\([^'\"]*\)['\"].*/\1/p" "$install/version.py")
    entries=("torch.version $version" "torch.cuda_version $cuda")
    ;;
  *) echo "unknown component '$component' (cuda or torch)" >&2; exit 2 ;;
esac
for f in "${files[@]}"; do
  entries+=("$component.sha256 $f $(sha256sum "$install/$f" | cut -d' ' -f1)")
done

# Drop the component's old entries; put the new ones where the first was.
tmp="$(mktemp)"
printf '%s\n' "${entries[@]}" > "$tmp.new"
awk -v c="$component." -v new="$tmp.new" '
  index($0, c) == 1 { if (!done) { while ((getline l < new) > 0) print l; done = 1 } next }
  { print }
  END { if (!done) while ((getline l < new) > 0) print l }
' "$lock" > "$tmp"
mv "$tmp" "$lock"
rm -f "$tmp.new"
"$here/verify_lock.sh" "$component" "$lock" "$install" "$version"
echo "Now set --repo_env=MAMMOVL_$( [ "$component" = cuda ] && echo CUDA || echo CUDA_TORCH )_VERSION=$version in .bazelrc if it changed."
