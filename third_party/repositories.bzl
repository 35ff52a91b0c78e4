"""Declares the repositories MammoVL needs, all offline, from Debian packages.

MammoVL's own WORKSPACE calls `mammovl_repositories()`; another workspace that
pulls MammoVL in with `local_repository(name = "mammovl", path = ...)` calls
`mammovl_repositories(mammovl_path = <the same path>)`.
"""

load("//third_party/cuda:cuda_configure.bzl", "cuda_repository", "cuda_torch_repository")

def _shim(name, mammovl_path):
    if name not in native.existing_rules():
        native.local_repository(
            name = name,
            path = mammovl_path + "/third_party/" + name,
        )

def mammovl_repositories(mammovl_path = "."):
    """Declares shims and Debian system libraries unless already declared.

    Args:
      mammovl_path: path of the MammoVL checkout, relative to the calling
        workspace's root or absolute.
    """

    # Bazel's own @bazel_tools refers to these even for pure C++ builds and
    # would download them; local forwarders to the native rules stand in.
    for shim in ["rules_cc", "rules_java", "rules_proto", "remote_coverage_tools"]:
        _shim(shim, mammovl_path)

    # Bazel 4.2.3 from Debian ships @platforms in bazel-bootstrap-data.
    if "platforms" not in native.existing_rules():
        native.local_repository(
            name = "platforms",
            path = "/usr/share/bazel/platforms",
        )

    # libprotobuf-dev + protobuf-compiler (3.21).
    if "com_google_protobuf" not in native.existing_rules():
        native.new_local_repository(
            name = "com_google_protobuf",
            build_file = "@mammovl//third_party:protobuf.BUILD",
            path = "/usr",
        )

    # The other Debian -dev packages.
    if "mammovl_system_libs" not in native.existing_rules():
        native.new_local_repository(
            name = "mammovl_system_libs",
            build_file = "@mammovl//third_party:system_libs.BUILD",
            path = "/usr",
        )

    # The pinned CUDA toolkit and CUDA LibTorch for --config=cuda; they read
    # --repo_env and verify against third_party/cuda/cuda.lock.
    if "mammovl_cuda" not in native.existing_rules():
        cuda_repository(name = "mammovl_cuda")
    if "mammovl_cuda_torch" not in native.existing_rules():
        cuda_torch_repository(name = "mammovl_cuda_torch")
