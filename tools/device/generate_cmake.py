#!/usr/bin/python3
"""Writes a CMake build for the GPU machine from the Bazel graph.

The GPU machine has CUDA 13, CMake, Ninja and PyTorch's CUDA LibTorch but no
Bazel, so the BUILD files are turned into one CMakeLists.txt:

  bazel query --output=xml '<see generate.sh>' | generate_cmake.py \
      --bazelrc .bazelrc --cuda_bzl third_party/cuda/cuda_library.bzl > CMakeLists.txt

Every cc_library / cc_binary / cc_test / cc_proto_library / cuda_library of
the workspace becomes a CMake target named after its label (//core:npy ->
core__npy); binaries and tests land in <build>/runfiles/mammovl/<package>/ next
to symlinks of their data files, the layout Bazel gives tests (TEST_SRCDIR).
Third-party labels map to the GPU machine's libraries: //third_party:torch and
:torch_c10d to find_package(Torch) (the CUDA LibTorch), the CUDA runtime to
CUDA::cudart, the others to the link flags and include folders their Bazel
targets declare. sh_test targets need Bazel's runfiles and are listed, not
generated. Tests tagged "gpu" (manual on CPU machines) are built and get the
ctest label "gpu"; other manual targets (benchmarks) are built on request. The output is deterministic (sorted by label), so a stale committed
file shows up as a diff (generate.sh --check).
"""

import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET

CC_KINDS = ("cc_library", "cc_binary", "cc_test")
COMPILED = (".cc", ".cpp", ".cxx", ".c", ".cu")


def parse_rules(xml_text):
    rules = {}
    for rule in ET.fromstring(xml_text).findall("rule"):
        attrs = {}
        for a in rule:
            name = a.get("name")
            if a.tag == "list":
                attrs[name] = [e.get("value") for e in a if e.get("value") is not None]
            elif a.tag in ("string", "label", "boolean", "int"):
                attrs[name] = a.get("value")
        rules[rule.get("name")] = {"class": rule.get("class"), "attrs": attrs}
    return rules


def target_name(label):
    """//data/dicom:reader -> data__dicom__reader (valid CMake target name)."""
    pkg, _, name = label[2:].partition(":")
    return re.sub(r"[^A-Za-z0-9_]", "_", (pkg.replace("/", "__") + "__" + name).strip("_"))


def split(label):
    pkg, _, name = label[2:].partition(":")
    return pkg, name


def source_path(label):
    pkg, name = split(label)
    return "${MAMMOVL_ROOT}/" + (pkg + "/" if pkg else "") + name


def cmake_list(items, indent="    "):
    return "".join("\n" + indent + i for i in items)


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Generator:
    def __init__(self, rules, copts, cxxopts, cuda_archs):
        self.rules = rules
        self.copts = copts
        self.cxxopts = cxxopts
        self.cuda_archs = cuda_archs
        self.out = []
        self.runfiles = set()
        self.skipped = []

    def repo_root(self, repo):
        ext = self.rules.get("//external:" + repo)
        if not ext or "path" not in ext["attrs"]:
            raise SystemExit("generate_cmake: the query lacks //external:%s (its path)" % repo)
        return ext["attrs"]["path"]

    # --- third-party -------------------------------------------------------

    def third_party_target(self, label):
        """CMake target for a //third_party:x alias or an external cc_library."""
        if label in ("//third_party:torch", "//third_party:torch_c10d"):
            return "mammovl_" + split(label)[1]
        if label.startswith("@mammovl_cuda//:"):
            return {"cudart": "CUDA::cudart", "nccl": "mammovl_nccl"}[label.split(":")[1]]
        rule = self.rules.get(label)
        if rule and rule["class"] == "alias":
            return self.third_party_target(rule["attrs"]["actual"])
        return "ext_" + re.sub(r"[^A-Za-z0-9_]", "_", label.lstrip("@").replace("//:", "__"))

    def emit_external(self, label):
        repo = label[1:label.index("//")]
        root = self.repo_root(repo)
        a = self.rules[label]["attrs"]
        name = self.third_party_target(label)
        self.out.append("# %s (Bazel: %s)" % (label, self.rules["//external:" + repo]["class"]))
        self.out.append("add_library(%s INTERFACE)" % name)
        if a.get("includes"):
            self.out.append("target_include_directories(%s SYSTEM INTERFACE%s)" % (
                name, cmake_list(root + "/" + i for i in a["includes"])))
        if a.get("defines"):
            self.out.append("target_compile_definitions(%s INTERFACE%s)" % (name, cmake_list(a["defines"])))
        libs = list(a.get("linkopts", []))
        libs += [self.third_party_target(d if d.startswith("@") else "@" + repo + d)
                 for d in (d.replace(":", "//:", 1) if d.startswith(":") else d for d in a.get("deps", []))]
        if libs:
            self.out.append("target_link_libraries(%s INTERFACE%s)" % (name, cmake_list(libs)))
        self.out.append("")

    # --- project targets ---------------------------------------------------

    def dep_target(self, label):
        if label.startswith("//third_party:") or label.startswith("@"):
            return self.third_party_target(label)
        rule = self.rules.get(label)
        if rule is None:
            raise SystemExit("generate_cmake: %s is not in the query result" % label)
        return target_name(label)

    def files_of(self, label):
        """Source files a srcs/hdrs/data entry stands for (filegroups expanded)."""
        rule = self.rules.get(label)
        if rule is None:
            return [label]
        if rule["class"] == "filegroup":
            files = []
            for s in rule["attrs"].get("srcs", []):
                files += self.files_of(s)
            return files
        if rule["class"] == "cuda_objects":
            return rule["attrs"].get("srcs", [])
        return []  # a rule output (binary) or a rule that produces no sources

    def data_runfiles(self, rule):
        for d in rule["attrs"].get("data", []):
            r = self.rules.get(d)
            if r and r["class"] in ("cc_binary", "cc_test"):
                continue  # built into runfiles/ directly
            for f in self.files_of(d):
                self.runfiles.add(f)

    def emit_cc(self, label, rule):
        kind = rule["class"]
        a = rule["attrs"]
        name = target_name(label)
        pkg, short = split(label)
        srcs = []
        for s in a.get("srcs", []):
            srcs += self.files_of(s)
        compiled = [s for s in srcs if s.endswith(COMPILED)]
        headers = [s for s in srcs + a.get("hdrs", []) if not s.endswith(COMPILED)]
        deps = [self.dep_target(d) for d in a.get("deps", [])]
        tags = a.get("tags", [])
        self.out.append("# %s" % label)
        if kind == "cc_library":
            if compiled:
                self.out.append("add_library(%s STATIC%s)" % (name, cmake_list(source_path(s) for s in compiled + headers)))
                scope = "PUBLIC"
            else:
                self.out.append("add_library(%s INTERFACE)" % name)
                scope = "INTERFACE"
        else:
            # "manual" keeps a target out of `bazel build //...`; GPU tests are
            # manual on CPU machines but are what the GPU machine is for.
            exclude = " EXCLUDE_FROM_ALL" if "manual" in tags and "gpu" not in tags else ""
            self.out.append("add_executable(%s%s%s)" % (name, exclude, cmake_list(source_path(s) for s in compiled + headers)))
            self.out.append("set_target_properties(%s PROPERTIES OUTPUT_NAME %s RUNTIME_OUTPUT_DIRECTORY ${MAMMOVL_RUNFILES}/mammovl/%s)" % (name, short, pkg))
            scope = "PRIVATE"
        if a.get("includes"):
            self.out.append("target_include_directories(%s %s%s)" % (
                name, scope, cmake_list("${MAMMOVL_ROOT}/%s/%s" % (pkg, i) for i in a["includes"])))
        if a.get("defines"):
            self.out.append("target_compile_definitions(%s %s%s)" % (name, scope, cmake_list(a["defines"])))
        if a.get("copts") and scope != "INTERFACE":
            self.out.append("target_compile_options(%s PRIVATE%s)" % (name, cmake_list(a["copts"])))
        libs = deps + a.get("linkopts", [])
        if scope == "PRIVATE":
            libs = ["mammovl_common"] + libs
        elif scope == "PUBLIC":
            libs = ["mammovl_common"] + libs
        if libs:
            self.out.append("target_link_libraries(%s %s%s)" % (name, scope, cmake_list(libs)))
        if kind == "cc_test":
            self.data_runfiles(rule)
            args = a.get("args", [])
            self.out.append("mammovl_add_test(%s %s %s%s)" % (name, pkg or ".", short, "".join(" " + quote(x) for x in args)))
            if "gpu" in tags:
                self.out.append("set_tests_properties(%s PROPERTIES LABELS gpu)" % name)
            elif "manual" in tags:
                self.out.append("set_tests_properties(%s PROPERTIES LABELS manual DISABLED TRUE)" % name)
        elif kind == "cc_binary":
            self.data_runfiles(rule)
        self.out.append("")

    def emit_proto(self, label, rule):
        """proto_library -> a static library of the generated .pb.cc files."""
        a = rule["attrs"]
        name = target_name(label)
        protos = [s for s in a.get("srcs", [])]
        self.out.append("# %s" % label)
        self.out.append("mammovl_proto_library(%s%s)" % (name, cmake_list(split(p)[0] + "/" + split(p)[1] for p in protos)))
        deps = [target_name(d) for d in a.get("deps", []) if d.startswith("//")]
        if deps:
            self.out.append("target_link_libraries(%s PUBLIC%s)" % (name, cmake_list(deps)))
        self.out.append("")

    def generate(self):
        labels = sorted(self.rules)
        externals = set()
        for label in labels:
            r = self.rules[label]
            for d in r["attrs"].get("deps", []) + [r["attrs"].get("actual") or ""]:
                if d.startswith("@mammovl_system_libs//") or d.startswith("@com_google_protobuf//"):
                    externals.add(d)
        # Deps of external libraries (glog -> gflags).
        for e in list(externals):
            for d in self.rules.get(e, {"attrs": {}})["attrs"].get("deps", []):
                externals.add(e[:e.index("//")] + "//" + (d if d.startswith(":") else ":" + d.split(":")[-1]))
        for e in sorted(externals):
            if e not in self.rules:
                raise SystemExit("generate_cmake: %s is not in the query result" % e)
            self.emit_external(e)
        for label in labels:
            r = self.rules[label]
            if not label.startswith("//") or label.startswith("//third_party:") or label.startswith("//external:"):
                continue
            if r["class"] in CC_KINDS:
                self.emit_cc(label, r)
            elif r["class"] == "proto_library":
                self.emit_proto(label, r)
            elif r["class"] == "cc_proto_library":
                protos = [target_name(d) for d in r["attrs"].get("deps", [])]
                self.out.append("# %s" % label)
                self.out.append("add_library(%s INTERFACE)" % target_name(label))
                self.out.append("target_link_libraries(%s INTERFACE%s)" % (target_name(label), cmake_list(protos)))
                self.out.append("")
            elif r["class"] == "sh_test":
                self.skipped.append(label)
        body = "\n".join(self.out)
        head = HEADER.format(
            copts=cmake_list(quote("$<$<COMPILE_LANGUAGE:C,CXX>:%s>" % c) for c in self.copts),
            cxxopts=cmake_list(quote("$<$<COMPILE_LANGUAGE:CXX>:%s>" % c) for c in self.cxxopts),
            archs=";".join(self.cuda_archs),
        )
        runfiles = "mammovl_runfiles(%s)\n" % cmake_list(split(f)[0] + "/" + split(f)[1] for f in sorted(self.runfiles))
        skipped = "".join("#   %s\n" % s for s in self.skipped)
        return head + "\n" + body + "\n# Test data, linked into runfiles/mammovl/ as Bazel does.\n" + runfiles + \
            "\n# Not generated (sh_test: they need Bazel's runfiles of other targets):\n" + skipped


HEADER = """\
# GENERATED by tools/device/generate.sh from the Bazel BUILD files; do not
# edit. Regenerate after changing BUILD files: tools/device/generate.sh
# (a test fails while this file is stale). See tools/device/README.md.
#
# Build on the GPU machine (CUDA 13, CMake >= 3.24, Ninja, PyTorch 2.11):
#   cmake -S tools/device -B build-device -G Ninja \\
#     -DCMAKE_PREFIX_PATH="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
#   ninja -C build-device
#   ctest --test-dir build-device -L gpu    # the GPU tests
#   ctest --test-dir build-device -LE gpu   # everything else
cmake_minimum_required(VERSION 3.24)
project(mammovl LANGUAGES C CXX CUDA)

get_filename_component(MAMMOVL_ROOT "${{CMAKE_CURRENT_SOURCE_DIR}}/../.." ABSOLUTE)
set(MAMMOVL_RUNFILES "${{CMAKE_BINARY_DIR}}/runfiles")
set(MAMMOVL_GEN "${{CMAKE_BINARY_DIR}}/gen")
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CUDA_STANDARD 17)
# CUDA_ARCHS in third_party/cuda/cuda_library.bzl.
set(CMAKE_CUDA_ARCHITECTURES "{archs}")
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release)
endif()

# The CUDA LibTorch of the machine's PyTorch; no CPU fallback.
find_package(CUDAToolkit 13.0 REQUIRED)
find_package(Torch REQUIRED)
option(MAMMOVL_CHECK_WITH_CPU_TORCH
  "Only for checking this file on a machine without a CUDA LibTorch: accept a CPU LibTorch" OFF)
if(NOT TORCH_CUDA_LIBRARIES AND NOT TARGET torch_cuda)
  if(MAMMOVL_CHECK_WITH_CPU_TORCH)
    message(WARNING "MAMMOVL_CHECK_WITH_CPU_TORCH: building against the CPU LibTorch at ${{Torch_DIR}}; this is not the GPU build")
  else()
    message(FATAL_ERROR "The LibTorch found at ${{Torch_DIR}} has no CUDA; point CMAKE_PREFIX_PATH at PyTorch's CUDA build (torch.utils.cmake_prefix_path)")
  endif()
endif()
find_program(MAMMOVL_PROTOC protoc REQUIRED)

# Flags every target gets (the `build --copt/--cxxopt` lines of .bazelrc).
add_library(mammovl_common INTERFACE)
target_include_directories(mammovl_common INTERFACE "${{MAMMOVL_ROOT}}" "${{MAMMOVL_GEN}}")
target_compile_options(mammovl_common INTERFACE{copts}{cxxopts})

# //third_party:torch and :torch_c10d under --config=cuda.
add_library(mammovl_torch INTERFACE)
target_link_libraries(mammovl_torch INTERFACE ${{TORCH_LIBRARIES}} CUDA::cudart)
target_compile_definitions(mammovl_torch INTERFACE MAMMOVL_WITH_CUDA=1)
add_library(mammovl_nccl INTERFACE)
find_library(MAMMOVL_NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${{CUDAToolkit_LIBRARY_DIR}} REQUIRED)
target_link_libraries(mammovl_nccl INTERFACE ${{MAMMOVL_NCCL_LIBRARY}})
add_library(mammovl_torch_c10d INTERFACE)
target_link_libraries(mammovl_torch_c10d INTERFACE mammovl_torch mammovl_nccl)
target_compile_definitions(mammovl_torch_c10d INTERFACE USE_C10D_GLOO USE_C10D_NCCL)

enable_testing()

# mammovl_add_test(target package name args...): runs like `bazel test`.
function(mammovl_add_test target package name)
  add_test(NAME ${{target}} COMMAND ${{target}} ${{ARGN}}
           WORKING_DIRECTORY "${{MAMMOVL_RUNFILES}}/mammovl")
  set(tmp "${{CMAKE_BINARY_DIR}}/testtmp/${{target}}")
  file(MAKE_DIRECTORY "${{tmp}}/tmp" "${{tmp}}/outputs")
  set_tests_properties(${{target}} PROPERTIES ENVIRONMENT
    "TEST_SRCDIR=${{MAMMOVL_RUNFILES}};TEST_WORKSPACE=mammovl;TEST_TMPDIR=${{tmp}}/tmp;TEST_UNDECLARED_OUTPUTS_DIR=${{tmp}}/outputs")
endfunction()

# mammovl_proto_library(target a/b.proto...): protoc into gen/, one library.
function(mammovl_proto_library target)
  set(srcs)
  foreach(proto ${{ARGN}})
    string(REGEX REPLACE "\\\\.proto$" "" base "${{proto}}")
    add_custom_command(
      OUTPUT "${{MAMMOVL_GEN}}/${{base}}.pb.cc" "${{MAMMOVL_GEN}}/${{base}}.pb.h"
      COMMAND ${{CMAKE_COMMAND}} -E make_directory "${{MAMMOVL_GEN}}"
      COMMAND ${{MAMMOVL_PROTOC}} "--proto_path=${{MAMMOVL_ROOT}}" "--cpp_out=${{MAMMOVL_GEN}}" "${{MAMMOVL_ROOT}}/${{proto}}"
      DEPENDS "${{MAMMOVL_ROOT}}/${{proto}}"
      COMMENT "protoc ${{proto}}")
    list(APPEND srcs "${{MAMMOVL_GEN}}/${{base}}.pb.cc")
  endforeach()
  add_library(${{target}} STATIC ${{srcs}})
  target_link_libraries(${{target}} PUBLIC mammovl_common ext_com_google_protobuf__protobuf)
endfunction()

# mammovl_runfiles(paths...): symlinks source files into runfiles/mammovl/.
function(mammovl_runfiles)
  foreach(f ${{ARGN}})
    get_filename_component(dir "${{MAMMOVL_RUNFILES}}/mammovl/${{f}}" DIRECTORY)
    file(MAKE_DIRECTORY "${{dir}}")
    if(NOT EXISTS "${{MAMMOVL_RUNFILES}}/mammovl/${{f}}")
      file(CREATE_LINK "${{MAMMOVL_ROOT}}/${{f}}" "${{MAMMOVL_RUNFILES}}/mammovl/${{f}}" SYMBOLIC)
    endif()
  endforeach()
endfunction()
"""


def read_bazelrc(path):
    copts, cxxopts = [], []
    for line in open(path):
        m = re.match(r"^build --(copt|cxxopt)=(\S+)\s*$", line)
        if m:
            (copts if m.group(1) == "copt" else cxxopts).append(m.group(2))
    return copts, cxxopts


def read_cuda_archs(path):
    m = re.search(r"^CUDA_ARCHS = \[([^\]]*)\]", open(path).read(), re.M)
    if not m:
        raise SystemExit("generate_cmake: no CUDA_ARCHS = [...] in " + path)
    return re.findall(r'"(\w+)"', m.group(1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bazelrc", required=True)
    p.add_argument("--cuda_bzl", required=True)
    p.add_argument("--query_xml", default="-", help="bazel query --output=xml (default stdin)")
    args = p.parse_args()
    xml_text = sys.stdin.read() if args.query_xml == "-" else open(args.query_xml).read()
    copts, cxxopts = read_bazelrc(args.bazelrc)
    gen = Generator(parse_rules(xml_text), copts, cxxopts, read_cuda_archs(args.cuda_bzl))
    sys.stdout.write(gen.generate())


if __name__ == "__main__":
    main()
