#!/usr/bin/env bash
# Failing writes, as on a full disk or a read-only output folder:
#  1. pretrain_main resumed with a file-size limit (RLIMIT_FSIZE, so write()
#     fails with EFBIG, SIGXFSZ ignored) that its next checkpoint exceeds:
#     the run exits non-zero naming the checkpoint file, the previous
#     checkpoint is untouched, no partial checkpoint or temporary file is
#     left, and --resume from it ends with exactly the weights of a run that
#     never failed;
#  2. preprocess_main under the same limit (PNGs bigger than the limit):
#     exit non-zero at the first PNG, the error names the PNG, no partial
#     PNG; a rerun without the limit resumes and matches a clean run;
#  3. a read-only output folder (preprocess_main and pretrain_main): a clear
#     "Permission denied" error naming the folder or file, exit non-zero, no
#     crash (checked as an unprivileged user when the test runs as root).
set -euo pipefail

NAME=write_failure
if [ -n "${TEST_SRCDIR:-}" ]; then cd "$TEST_SRCDIR/${TEST_WORKSPACE:-__main__}"; fi
# shellcheck source=tools/faults/common.sh
source tools/faults/common.sh
no_temp_files() {
  local left
  left="$(find "$1" \( -name '.*.tmp.*' -o -name '.*.part-*' -o -name '*.incomplete*' \) -print)"
  [ -z "$left" ] || fail "$2: temporary files left: $left"
}
# Runs "$@" with files limited to $LIMIT_KB KiB and SIGXFSZ ignored, so a
# write past the limit fails with EFBIG as it would with ENOSPC.
limited() {
  (
    trap '' XFSZ
    ulimit -f "$LIMIT_KB"
    exec "$@"
  )
}
crashed() { [ "$1" -ge 128 ] && [ "$1" -ne 255 ]; }  # killed by a signal

C="$TMP/corpus"
make_tiny_corpus "$C"

# ------------------------------------------------ 1. checkpoint write fails
pretrain_args "$C"
PRETRAIN+=(--set='train { logging { every_n_steps: 2 } checkpoint { every_n_steps: 2 keep_last: 0 } }')
"${PRETRAIN[@]}" --set='train { max_steps: 8 }' --set="run_dir: \"$TMP/clean\"" \
  2> "$TMP/clean.log" || fail "clean pretraining run failed: $(tail -3 "$TMP/clean.log")"
# The same run as it stood after step 4 (same schedule; later checkpoints
# removed).
cp -a "$TMP/clean" "$TMP/run"
rm -rf "$TMP/run/checkpoints/step-00000006" "$TMP/run/checkpoints/step-00000008"
CK="$TMP/run/checkpoints"
[ -f "$CK/step-00000004/model.safetensors" ] || fail "no checkpoint at step 4"
cp -a "$CK/step-00000004" "$TMP/step4_copy"
model_kb=$(($(stat -c %s "$CK/step-00000004/model.safetensors") / 1024))
# Below the checkpoint's size, above every log and metrics file.
LIMIT_KB=$((model_kb / 2))
rc=0
limited "${PRETRAIN[@]}" --set='train { max_steps: 8 }' --set="run_dir: \"$TMP/run\"" \
  2> "$TMP/full.log" || rc=$?
[ "$rc" -ne 0 ] || fail "a failed checkpoint write must fail the run (exit 0)"
crashed "$rc" && fail "pretrain_main crashed on a failed write (exit $rc): $(tail -5 "$TMP/full.log")"
grep -q 'safetensors' "$TMP/full.log" && grep -qi 'File too large' "$TMP/full.log" ||
  fail "the error does not name the checkpoint file and the cause: $(tail -5 "$TMP/full.log")"
echo "checkpoint write failure: exit $rc; $(grep -i 'File too large' "$TMP/full.log" | tail -1)"
for step in 00000006 00000008; do
  [ ! -e "$CK/step-$step" ] || fail "a checkpoint folder step-$step exists after the failed write"
done
diff -r "$TMP/step4_copy" "$CK/step-00000004" > /dev/null || fail "the previous checkpoint changed"
no_temp_files "$TMP/run" "after the failed checkpoint"
"${PRETRAIN[@]}" --set='train { max_steps: 8 }' --set="run_dir: \"$TMP/run\"" \
  2> "$TMP/resume.log" || fail "resume after the failed write failed: $(tail -3 "$TMP/resume.log")"
grep -q 'resumed from .*step-00000004' "$TMP/resume.log" || fail "did not resume from step 4"
cmp "$TMP/clean/checkpoints/step-00000008/model.safetensors" "$CK/step-00000008/model.safetensors" ||
  fail "weights after the failed write and resume differ from the clean run"
no_temp_files "$TMP/run" "after the resume"
echo "the previous checkpoint loads; resumed weights equal a clean run's"

# ------------------------------------------------------ 2. PNG write fails
PRE=(tools/preprocess_main --set="input_dir: \"$C/dicom\"" --set='num_workers: 2' --logtostderr)
"${PRE[@]}" --set="output_dir: \"$TMP/png_clean\"" 2> "$TMP/png_clean.log" ||
  fail "clean preprocessing failed"
LIMIT_KB=64  # PNGs here are ~250 KiB; manifest and config are smaller
rc=0
limited "${PRE[@]}" --set="output_dir: \"$TMP/png\"" 2> "$TMP/png_full.log" || rc=$?
[ "$rc" -ne 0 ] || fail "failed PNG writes must fail the run (exit 0)"
crashed "$rc" && fail "preprocess_main crashed on a failed write (exit $rc)"
grep -Eq 'cannot write [^ ]+\.png: File too large' "$TMP/png_full.log" ||
  fail "the error does not name the PNG: $(tail -3 "$TMP/png_full.log")"
echo "PNG write failure: exit $rc; $(grep -Eo 'cannot write [^ ]+\.png: File too large' "$TMP/png_full.log" | head -1)"
[ -z "$(find "$TMP/png" -name '*.png')" ] || fail "a PNG exists after the failed writes"
no_temp_files "$TMP/png" "after the failed PNG writes"
"${PRE[@]}" --set="output_dir: \"$TMP/png\"" 2> "$TMP/png_resume.log" || fail "rerun failed"
cmp "$TMP/png/manifest.csv" "$TMP/png_clean/manifest.csv" || fail "manifest differs from a clean run"
a=$(cd "$TMP/png_clean" && find . -name '*.png' | sort | xargs sha256sum)
b=$(cd "$TMP/png" && find . -name '*.png' | sort | xargs sha256sum)
[ "$a" == "$b" ] || fail "PNGs differ from a clean run"
[ "$(($(wc -l < "$TMP/png/failures.csv")))" -eq 1 ] || fail "write failures were recorded as bad inputs"
echo "the rerun completed the PNGs exactly"

# ------------------------------------------------ 3. read-only output folder
# A folder this process cannot write to: a chmod 0555 folder; as root (which
# ignores modes) the same folder as an unprivileged user; where that is not
# possible either (a user namespace, as in Bazel's sandbox), a folder on a
# read-only mount.
RO="$TMP/readonly"
mkdir -p "$RO"
chmod 0555 "$RO"
as_user=()
unwritable() { ! "${as_user[@]}" mkdir "$1/.probe_$$" 2> /dev/null || { rmdir "$1/.probe_$$"; false; }; }
if ! unwritable "$RO"; then
  chmod -R a+rX "$TMP"
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  if ! "${as_user[@]}" true 2> /dev/null || ! unwritable "$RO"; then
    as_user=()
    RO=""
    for d in "$PWD" /usr /etc /; do
      if unwritable "$d"; then RO="$d/mammovl_readonly_probe"; break; fi
    done
    [ -n "$RO" ] || fail "no way to make an unwritable folder here"
  fi
fi
echo "read-only folder: $RO ${as_user[*]:+(as ${as_user[*]})}"
rc=0
"${as_user[@]}" "${PRE[@]}" --set="output_dir: \"$RO/png\"" > "$TMP/ro_pre.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "preprocess_main into a read-only folder exited 0"
crashed "$rc" && fail "preprocess_main crashed on a read-only folder (exit $rc)"
grep -Eq "$RO.*(Permission denied|Read-only file system)" "$TMP/ro_pre.log" ||
  fail "preprocess: no clear error: $(tail -3 "$TMP/ro_pre.log")"
rc=0
"${as_user[@]}" "${PRETRAIN[@]}" --set='train { max_steps: 4 }' --set="run_dir: \"$RO/run\"" \
  > "$TMP/ro_train.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "pretrain_main into a read-only folder exited 0"
crashed "$rc" && fail "pretrain_main crashed on a read-only folder (exit $rc)"
grep -Eq "$RO.*(Permission denied|Read-only file system)" "$TMP/ro_train.log" ||
  fail "pretrain: no clear error: $(tail -3 "$TMP/ro_train.log")"
echo "read-only folder: $(grep -Eo "cannot create folder.*(Permission denied|Read-only file system)" "$TMP/ro_train.log" | head -1)"
echo "PASS"
