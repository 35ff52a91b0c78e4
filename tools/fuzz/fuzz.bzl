"""mvl_fuzzer: one libFuzzer target that is also a smoke test.

The target is a cc_test named `*_fuzzer` whose main() is //tools/fuzz:fuzz_driver.
`bazel test` (gcc, default config) runs every seed once plus `smoke_runs`
deterministic mutations in a few seconds. Under `--config=fuzz` the same
binary hands its command line to libFuzzer when run without --smoke, which is
what tools/fuzz/run_campaign.sh does.
"""

load("@rules_cc//cc:defs.bzl", "cc_test")

def mvl_fuzzer(name, srcs, deps, corpus, data, dict = None, smoke_runs = 2000, max_len = 1 << 20, size = "small", **kwargs):
    """Declares `name` (must end in _fuzzer).

    Args:
      name: target name, `<parser>_fuzzer`.
      srcs: sources defining LLVMFuzzerTestOneInput.
      deps: libraries under test.
      corpus: seed folders or files, paths from the workspace root (they must
        be in `data`); the campaign script uses them as seeds too.
      data: the targets that provide the seed files (and `dict`).
      dict: a libFuzzer dictionary: a file in this package or a
        "//pkg:file" label (exported there), or None.
      smoke_runs: deterministic mutations the smoke run adds to the seeds.
      max_len: longest input, in bytes (libFuzzer's -max_len in campaigns).
      size: test size.
      **kwargs: passed to cc_test.
    """
    if not name.endswith("_fuzzer"):
        fail("fuzz target names end in _fuzzer: " + name)
    args = ["--smoke=%d" % smoke_runs, "--max_len=%d" % max_len]
    all_data = list(data)
    if dict:
        if dict.startswith("//"):
            dict_path = dict[2:].replace(":", "/")
        else:
            dict_path = "%s/%s" % (native.package_name(), dict)
        args.append("--dict=" + dict_path)
        all_data.append(dict)
    cc_test(
        name = name,
        srcs = srcs,
        deps = deps + [
            "//tools/fuzz:fuzz_check",
            "//tools/fuzz:fuzz_driver",
        ],
        data = all_data,
        args = args + corpus,
        size = size,
        linkstatic = True,
        tags = kwargs.pop("tags", []) + ["fuzzer"],
        **kwargs
    )
