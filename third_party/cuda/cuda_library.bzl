"""`cuda_library`: a cc_library whose `.cu` sources nvcc compiles.

Under `--config=cuda` the `.cu` sources are compiled with the pinned toolkit
(@mammovl_cuda, verified against cuda.lock) for CUDA_ARCHS, and the library
links the CUDA runtime. In CPU builds the library has its headers and C++
sources only and no `.cu` object; code that calls the kernels is guarded by
`#ifdef MAMMOVL_WITH_CUDA`, which this library defines for its dependents under
`--config=cuda`.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

# SASS for the H100/H200 generation plus PTX for newer GPUs.
CUDA_ARCHS = ["90"]

CUDA_COPTS = [
    "-std=c++17",
    "-O2",
    "--expt-relaxed-constexpr",
    "-Xcompiler=-fPIC",
]

def _cuda_objects_impl(ctx):
    if not ctx.attr.toolkit:
        return [DefaultInfo(files = depset())]
    cc_toolchain = find_cpp_toolchain(ctx)
    nvcc = ctx.file.nvcc
    headers = []
    includes = []
    defines = []
    for dep in ctx.attr.deps:
        cc = dep[CcInfo].compilation_context
        headers.append(cc.headers)
        includes += cc.includes.to_list() + cc.quote_includes.to_list() + cc.system_includes.to_list()
        defines += cc.defines.to_list()
    inputs = depset(
        ctx.files.hdrs + ctx.files.toolkit,
        transitive = headers,
    )
    arch_flags = ["--generate-code=arch=compute_%s,code=[sm_%s,compute_%s]" % (a, a, a) for a in CUDA_ARCHS]
    objects = []
    for src in ctx.files.srcs:
        obj = ctx.actions.declare_file("_cuda_objs/%s/%s.o" % (ctx.label.name, src.basename[:-len(src.extension) - 1]))
        args = ctx.actions.args()
        args.add("-ccbin", cc_toolchain.compiler_executable)
        args.add_all(CUDA_COPTS)
        args.add_all(arch_flags)
        args.add_all(ctx.attr.copts)
        args.add("-I.")
        args.add("-I" + ctx.bin_dir.path)
        args.add_all(depset(includes), format_each = "-I%s")
        args.add_all(depset(defines + ctx.attr.defines), format_each = "-D%s")
        args.add("-c", src)
        args.add("-o", obj)
        ctx.actions.run(
            executable = nvcc,
            arguments = [args],
            inputs = depset([src], transitive = [inputs]),
            outputs = [obj],
            mnemonic = "CudaCompile",
            use_default_shell_env = True,
            progress_message = "Compiling CUDA %s" % src.short_path,
        )
        objects.append(obj)
    return [DefaultInfo(files = depset(objects))]

cuda_objects = rule(
    implementation = _cuda_objects_impl,
    attrs = {
        "srcs": attr.label_list(allow_files = [".cu"]),
        "hdrs": attr.label_list(allow_files = [".h", ".cuh"]),
        "deps": attr.label_list(providers = [CcInfo]),
        "copts": attr.string_list(),
        "defines": attr.string_list(),
        "toolkit": attr.label_list(allow_files = True),
        "nvcc": attr.label(allow_single_file = True, cfg = "host"),
        "_cc_toolchain": attr.label(default = "@bazel_tools//tools/cpp:current_cc_toolchain"),
    },
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    fragments = ["cpp"],
    doc = "Objects compiled by nvcc from .cu sources (none without --config=cuda).",
)

def cuda_library(name, srcs = [], hdrs = [], deps = [], copts = [], defines = [], **kwargs):
    """A cc_library with `.cu` sources; see the file comment.

    Args:
      name: target name.
      srcs: `.cu` sources plus any ordinary C++ sources.
      hdrs: public headers (`.h`/`.cuh`).
      deps: cc_library dependencies (their headers are visible to nvcc).
      copts: extra nvcc flags for the `.cu` sources.
      defines: defines for the `.cu` sources and the library's dependents.
      **kwargs: passed on to the cc_library (visibility, tags, testonly...).
    """
    cu_srcs = [s for s in srcs if s.endswith(".cu")]
    cc_srcs = [s for s in srcs if not s.endswith(".cu")]
    cuda_objects(
        name = name + "_cu",
        srcs = cu_srcs,
        hdrs = hdrs,
        deps = deps,
        copts = copts,
        defines = defines,
        toolkit = select({
            "@mammovl//third_party:cuda_enabled": ["@mammovl_cuda//:toolkit"],
            "//conditions:default": [],
        }),
        nvcc = select({
            "@mammovl//third_party:cuda_enabled": "@mammovl_cuda//:nvcc",
            "//conditions:default": None,
        }),
        visibility = ["//visibility:private"],
        testonly = kwargs.get("testonly", False),
    )
    native.cc_library(
        name = name,
        srcs = cc_srcs + select({
            "@mammovl//third_party:cuda_enabled": [":" + name + "_cu"],
            "//conditions:default": [],
        }),
        hdrs = hdrs,
        defines = defines + select({
            "@mammovl//third_party:cuda_enabled": ["MAMMOVL_WITH_CUDA=1"],
            "//conditions:default": [],
        }),
        deps = deps + select({
            "@mammovl//third_party:cuda_enabled": ["@mammovl_cuda//:cudart"],
            "//conditions:default": [],
        }),
        **kwargs
    )

def _cuda_not_configured_impl(ctx):
    fail(("\n--config=cuda needs @%s//:%s, but the CUDA installation is not configured: " +
          "--repo_env=MAMMOVL_CUDA_PATH/MAMMOVL_CUDA_VERSION (and MAMMOVL_CUDA_TORCH_PATH/" +
          "MAMMOVL_CUDA_TORCH_VERSION for LibTorch) are unset. `--config=cuda` in .bazelrc sets " +
          "them; see third_party/cuda/README.md.") % (ctx.label.workspace_name, ctx.label.name))

cuda_not_configured = rule(
    implementation = _cuda_not_configured_impl,
    doc = "Fails at analysis: the CUDA repositories were not configured.",
)
