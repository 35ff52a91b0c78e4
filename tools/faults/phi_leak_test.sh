#!/usr/bin/env bash
# No patient data in any output of the demo: run_demo.sh, shortened (few
# patients, few pretraining steps, few probe epochs), writes both synthetic
# archives as DICOM whose headers carry fake patient names, ids (MRNs) and
# birth dates, then preprocesses, pretrains, evaluates and reports. The
# identities are read back from the DICOM headers themselves, and every file
# the demo wrote except the DICOM archive (logs, reports, manifests, tables,
# CSVs, JSON, config copies, checkpoints, embedding arrays, PNGs and their
# text chunks, TensorBoard events) and every file name is searched for them.
set -euo pipefail

NAME=phi_leak
if [ -n "${TEST_SRCDIR:-}" ]; then cd "$TEST_SRCDIR/${TEST_WORKSPACE:-__main__}"; fi
# shellcheck source=tools/faults/common.sh
source tools/faults/common.sh
export MAMMOVL_THREADS="${MAMMOVL_THREADS:-2}"
OUT="$TMP/demo"
PATIENTS="${PHI_TEST_PATIENTS:-16}"
STEPS="${PHI_TEST_STEPS:-4}"
tools/demo/run_demo.sh --bin "$PWD" --out "$OUT" --patients "$PATIENTS" --steps "$STEPS" \
  > "$TMP/demo.log" 2>&1 || { tail -30 "$TMP/demo.log"; fail "the demo failed"; }
cp "$TMP/demo.log" "$OUT/logs/run_demo_stdout.log"  # the terminal output is an output too
[ -s "$OUT/report.md" ] || fail "the demo wrote no report"

# ---- the identities, read from the DICOM headers: (0010,0010) name,
# (0010,0020) id, (0010,0030) birth date, explicit or implicit VR.
export LC_ALL=C
tag_values() {  # $1: element number as \xNN\xNN (little endian)
  find "$OUT/corpus" -name '*.dcm' -print0 |
    xargs -0 grep -aohP "\x10\x00$1(?:[A-Z]{2}..|....)\K[ -~]+" |
    sed -e 's/ *$//' | sort -u
}
tag_values '\x10\x00' > "$TMP/names.txt"
tag_values '\x20\x00' > "$TMP/ids.txt"
tag_values '\x30\x00' > "$TMP/birth_dates.txt"
dicoms=$(find "$OUT/corpus" -name '*.dcm' | wc -l)
for f in names ids birth_dates; do
  n=$(wc -l < "$TMP/$f.txt")
  [ "$n" -ge "$PATIENTS" ] || fail "only $n $f read from $dicoms DICOM files (want >= $PATIENTS)"
done
grep -qvE '^[A-Z]+\^[A-Z]+$' "$TMP/names.txt" && fail "unexpected name format: $(head -3 "$TMP/names.txt")"
grep -qvE '^[0-9]{8}$' "$TMP/birth_dates.txt" && fail "unexpected birth date format"

# Fixed strings to look for: whole names and each name part, ids and their
# digits, birth dates as YYYYMMDD and YYYY-MM-DD (word-bounded, so a number
# that merely contains the digits does not count).
{
  cat "$TMP/names.txt"
  tr '^' '\n' < "$TMP/names.txt"
  cat "$TMP/ids.txt"
  sed -n 's/^[A-Z]*\([0-9]\{6,\}\)$/\1/p' "$TMP/ids.txt"
  cat "$TMP/birth_dates.txt"
  sed -E 's/^([0-9]{4})([0-9]{2})([0-9]{2})$/\1-\2-\3/' "$TMP/birth_dates.txt"
} | awk 'length($0) >= 4' | sort -u > "$TMP/needles.txt"
echo "$dicoms DICOM files: $(wc -l < "$TMP/names.txt") names, $(wc -l < "$TMP/ids.txt") ids," \
  "$(wc -l < "$TMP/birth_dates.txt") birth dates; $(wc -l < "$TMP/needles.txt") strings to find"

# A positive control: the search finds the identities in the DICOM files.
first_name=$(head -1 "$TMP/names.txt")
grep -rqaF -- "$first_name" "$OUT/corpus" --include='*.dcm' || fail "the search misses the DICOM headers"

# ---- every output but the DICOM archive
find "$OUT" -type f ! -name '*.dcm' > "$TMP/files.txt"
nfiles=$(wc -l < "$TMP/files.txt")
for kind in '/logs/[^/]*\.log$' '/report\.md$' '/manifest\.csv$' '/config\.pbtxt$' \
            '/metrics\.jsonl$' '\.npy$' '\.png$' '\.safetensors$' '\.json$' '/tables/.*\.csv$'; do
  grep -qE "$kind" "$TMP/files.txt" || fail "the demo wrote no $kind file; the search would be incomplete"
done
hits="$TMP/hits.txt"
tr '\n' '\0' < "$TMP/files.txt" | xargs -0 grep -aiwoF -f "$TMP/needles.txt" -- > "$hits" || true
if [ -s "$hits" ]; then
  head -20 "$hits" >&2
  fail "patient data found in $(cut -d: -f1 "$hits" | sort -u | wc -l) output files"
fi
# File and folder names.
if (cd "$OUT" && find . ! -name '*.dcm') | grep -aiwF -f "$TMP/needles.txt" > "$hits"; then
  head -5 "$hits" >&2
  fail "patient data found in file names"
fi
# PNG text chunks are searched as bytes above (tEXt); compressed text chunks
# could hide them, so none may exist.
if tr '\n' '\0' < "$TMP/files.txt" | xargs -0 grep -laE 'zTXt|iTXt' -- 2> /dev/null | grep -q '\.png$'; then
  fail "a PNG has compressed text chunks"
fi
echo "PASS: $nfiles output files and their names hold none of the patients' names, ids or birth dates"
