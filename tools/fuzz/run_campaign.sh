#!/usr/bin/env bash
# Fuzzing campaign: builds the *_fuzzer targets with --config=fuzz (clang,
# libFuzzer, ASan, UBSan; in its own Bazel output base so the normal build's
# cache stays warm), runs each one for a fixed time on its seed corpus and
# dictionary, and writes a Markdown table of executions, exec/s, coverage,
# corpus size and findings.
#
#   tools/fuzz/run_campaign.sh [--time=SECONDS] [--jobs=N] [--out=DIR] [TARGET...]
#
#   --time   seconds per target (default 1800, the acceptance bar)
#   --jobs   parallel libFuzzer workers per target (default 1; >1 uses -fork)
#   --out    campaign folder (default /tmp/mammovl-fuzz): corpus/<target>
#            (kept between runs, so later campaigns continue), findings/<target>
#            (crash-*, leak-*, timeout-*, oom-* inputs), logs/<target>.log,
#            table.md
#   TARGET   labels such as //core:pickle_fuzzer (default: every test tagged
#            "fuzzer")
#
# Environment: BAZEL (default bazel), FUZZ_OUTPUT_BASE (default
# ~/.cache/mammovl-fuzz-output-base), NICE (default 19).
# Reproduce a finding: <fuzzer binary> <finding file> (also in the gcc build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

time_s=1800
jobs=1
out=/tmp/mammovl-fuzz
targets=()
for arg in "$@"; do
  case "$arg" in
    --time=*) time_s="${arg#--time=}" ;;
    --jobs=*) jobs="${arg#--jobs=}" ;;
    --out=*) out="${arg#--out=}" ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "run_campaign: unknown flag $arg" >&2; exit 2 ;;
    *) targets+=("$arg") ;;
  esac
done

bazel_cmd=("${BAZEL:-bazel}" "--output_base=${FUZZ_OUTPUT_BASE:-$HOME/.cache/mammovl-fuzz-output-base}")
# Queries go to the normal Bazel server: it knows its bazel-* symlinks.
query_cmd=("${BAZEL:-bazel}" query --noshow_progress)
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <("${query_cmd[@]}" 'attr(tags, "\bfuzzer\b", tests(//...))' 2>/dev/null)
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "run_campaign: no fuzz targets" >&2
  exit 2
fi

echo "run_campaign: building ${#targets[@]} targets with --config=fuzz" >&2
"${bazel_cmd[@]}" build --config=fuzz --symlink_prefix=/ --noshow_progress "${targets[@]}"
bin="$("${bazel_cmd[@]}" info --config=fuzz bazel-bin 2>/dev/null)"

# Seeds, dictionary and input size of each target: the smoke-run arguments
# of its BUILD rule (tools/fuzz/fuzz.bzl).
spec="$(mktemp)"
trap 'rm -f "$spec"' EXIT
"${query_cmd[@]}" --output=xml "set(${targets[*]})" 2>/dev/null |
  /usr/bin/python3 -c '
import sys, xml.etree.ElementTree as ET
for rule in ET.parse(sys.stdin).getroot().iter("rule"):
    args = [e.get("value") for l in rule.iter("list") if l.get("name") == "args" for e in l]
    dict_ = next((a[7:] for a in args if a.startswith("--dict=")), "")
    max_len = next((a[10:] for a in args if a.startswith("--max_len=")), "1048576")
    seeds = [a for a in args if not a.startswith("-")]
    print("\t".join([rule.get("name"), dict_, max_len] + seeds))
' > "$spec"

mkdir -p "$out/logs"
table="$out/table.md"
{
  echo "| target | seconds | executions | exec/s | cov | ft | corpus (files) | findings |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
} > "$table"

status=0
while IFS=$'\t' read -r label dict max_len seeds_line; do
  IFS=$'\t' read -r -a seeds <<< "$seeds_line"
  pkg="${label#//}"; pkg="${pkg%%:*}"; name="${label##*:}"
  corpus="$out/corpus/$name"; findings="$out/findings/$name"; log="$out/logs/$name.log"
  mkdir -p "$corpus" "$findings"
  flags=(-max_total_time="$time_s" -max_len="$max_len" -timeout=30 -rss_limit_mb=2560
         -print_final_stats=1 -artifact_prefix="$findings/")
  [ -n "$dict" ] && flags+=(-dict="$dict")
  [ "$jobs" -gt 1 ] && flags+=(-fork="$jobs")
  echo "run_campaign: $label for ${time_s}s" >&2
  start=$(date +%s)
  rc=0
  LSAN_OPTIONS="suppressions=$root/tools/fuzz/lsan.supp:print_suppressions=0" \
  ASAN_OPTIONS="abort_on_error=1:detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    nice -n "${NICE:-19}" "$bin/$pkg/$name" "${flags[@]}" "$corpus" "${seeds[@]}" > "$log" 2>&1 || rc=$?
  seconds=$(( $(date +%s) - start ))
  execs="$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)"
  rate="$(grep -ao 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)"
  last="$(grep -aE '(cov|ft): [0-9]+' "$log" | tail -1 || true)"
  cov="$(grep -oE 'cov: [0-9]+' <<< "$last" | grep -oE '[0-9]+' || true)"
  ft="$(grep -oE 'ft: [0-9]+' <<< "$last" | grep -oE '[0-9]+' || true)"
  files=$(find "$corpus" -type f | wc -l)
  found=$(find "$findings" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -newermt "@$start" | wc -l)
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    what="$found new (exit $rc): $(find "$findings" -type f -newermt "@$start" -printf '%f ' | cut -c1-120)"
  else
    what="none"
  fi
  echo "| $name | $seconds | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | $files | $what |" | tee -a "$table"
done < "$spec"

echo >&2
echo "run_campaign: table in $table (logs in $out/logs)" >&2
cat "$table"
exit "$status"
