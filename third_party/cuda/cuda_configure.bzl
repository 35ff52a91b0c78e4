"""Repository rules for the pinned CUDA toolkit and the CUDA build of LibTorch.

Both take their installation and version from `--repo_env` (set by
`--config=cuda` in .bazelrc) and run verify_lock.sh against cuda.lock before
anything is built with them. Nothing is downloaded or auto-detected: without
the --repo_env settings the repositories hold only targets that explain how to
configure them, and any mismatch with the lock file fails the build naming the
lock-file entry.
"""

_CUDA_ENV = ["MAMMOVL_CUDA_PATH", "MAMMOVL_CUDA_VERSION"]
_TORCH_ENV = ["MAMMOVL_CUDA_TORCH_PATH", "MAMMOVL_CUDA_TORCH_VERSION"]

def _verify(rctx, component, path, version):
    result = rctx.execute(
        ["/bin/bash", str(rctx.path(rctx.attr._verifier)), component, str(rctx.path(rctx.attr.lock)), path, version],
        environment = {"MAMMOVL_LOCK_NAME": "third_party/cuda/cuda.lock"},
        quiet = True,
    )
    return result.return_code, (result.stderr + result.stdout).strip()

def _cuda_repository_impl(rctx):
    path = rctx.os.environ.get("MAMMOVL_CUDA_PATH", "")
    version = rctx.os.environ.get("MAMMOVL_CUDA_VERSION", "")
    if not path and not version:
        rctx.file("BUILD", rctx.read(rctx.attr._unconfigured_build))
        return
    code, message = _verify(rctx, "cuda", path, version)
    if code != 0:
        fail("\n--config=cuda: " + message)
    for sub in ["bin", "include", "lib64", "nvvm"]:
        rctx.symlink(path + "/" + sub, sub)
    rctx.file("BUILD", rctx.read(rctx.attr._toolkit_build))
    rctx.file("version.bzl", "CUDA_VERSION = %r\nCUDA_PATH = %r\n" % (version, path))

cuda_repository = repository_rule(
    implementation = _cuda_repository_impl,
    attrs = {
        "lock": attr.label(default = "@mammovl//third_party/cuda:cuda.lock", allow_single_file = True),
        "_verifier": attr.label(default = "@mammovl//third_party/cuda:verify_lock.sh", allow_single_file = True),
        "_toolkit_build": attr.label(default = "@mammovl//third_party/cuda:toolkit.BUILD", allow_single_file = True),
        "_unconfigured_build": attr.label(default = "@mammovl//third_party/cuda:unconfigured.BUILD", allow_single_file = True),
    },
    environ = _CUDA_ENV,
    local = True,
)

def _cuda_torch_repository_impl(rctx):
    path = rctx.os.environ.get("MAMMOVL_CUDA_TORCH_PATH", "")
    version = rctx.os.environ.get("MAMMOVL_CUDA_TORCH_VERSION", "")
    if not path and not version:
        rctx.file("BUILD", rctx.read(rctx.attr._unconfigured_build))
        return
    code, message = _verify(rctx, "torch", path, version)
    if code != 0:
        # Not found or not the pinned build: every target that needs LibTorch
        # is incompatible under --config=cuda (skipped by `//...`, an error
        # when named), and each load of this package prints why.
        rctx.file("BUILD", rctx.read(rctx.attr._missing_build).replace(
            "%{MESSAGE}",
            message.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n"),
        ))
        return
    for sub in ["include", "lib"]:
        rctx.symlink(path + "/" + sub, sub)
    rctx.file("BUILD", rctx.read(rctx.attr._torch_build))

cuda_torch_repository = repository_rule(
    implementation = _cuda_torch_repository_impl,
    attrs = {
        "lock": attr.label(default = "@mammovl//third_party/cuda:cuda.lock", allow_single_file = True),
        "_verifier": attr.label(default = "@mammovl//third_party/cuda:verify_lock.sh", allow_single_file = True),
        "_torch_build": attr.label(default = "@mammovl//third_party/cuda:cuda_torch.BUILD", allow_single_file = True),
        "_missing_build": attr.label(default = "@mammovl//third_party/cuda:cuda_torch_missing.BUILD", allow_single_file = True),
        "_unconfigured_build": attr.label(default = "@mammovl//third_party/cuda:unconfigured.BUILD", allow_single_file = True),
    },
    environ = _TORCH_ENV,
    local = True,
)
