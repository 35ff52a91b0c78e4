# Sourced by tests that run a second, throw-away Bazel on this workspace
# (tagged "local" and "external"). Defines:
#   nested_workspace DIR  - symlink farm of the workspace without its bazel-*
#                           output links (the second Bazel would load packages
#                           through them) and without user.bazelrc
#   nested_bazel ARGS...  - bazel with its own output base under TEST_TMPDIR,
#                           run in the farm; `nested_bazel shutdown` at the end
# Needs NESTED_TMP (a writable folder) and the workspace path in
# NESTED_WORKSPACE_SRC (e.g. from readlink -f of a runfile).

nested_workspace() {
  local farm="$1" entry base
  mkdir -p "$farm"
  for entry in "$NESTED_WORKSPACE_SRC"/* "$NESTED_WORKSPACE_SRC"/.bazelrc "$NESTED_WORKSPACE_SRC"/.bazelignore; do
    base="$(basename "$entry")"
    case "$base" in bazel-* | user.bazelrc) continue ;; esac
    [ -e "$entry" ] && ln -s "$entry" "$farm/$base"
  done
  NESTED_FARM="$farm"
}

nested_bazel_binary() {
  local bazel
  bazel="$(command -v bazel || true)"
  if [ -z "$bazel" ]; then
    echo "FAIL: no bazel on PATH (${PATH}); this test runs Bazel" >&2
    exit 1
  fi
  echo "$bazel"
}

nested_bazel() {
  (cd "$NESTED_FARM" && HOME="$NESTED_TMP/home" "$(nested_bazel_binary)" \
    --output_user_root="$NESTED_TMP/bazel_root" --output_base="$NESTED_TMP/bazel_base" "$@")
}
