#!/usr/bin/env bash
# run.sh — fuzz one libFuzzer target for a while; fail on any finding.
#
#   run.sh [--fresh] [--report FILE] <name> <binary> <seconds> <seed dir> <work dir> [dictionary]
#
# The corpus grows in <work>/corpus (seeded from <seed dir>, kept between
# runs; --fresh empties <work> first, as the smoke tests do); findings (crash-*, leak-*, timeout-*, oom-*, slow-unit-*) land in
# <work>/findings/. Prints one line of figures (execs/s, coverage, corpus) and,
# on a finding, which kind, where the reproducer is and how to replay it; the
# full libFuzzer output is in <work>/log. --report also writes the figures
# line to FILE (./stack test prints build-fuzz/test-reports/*.txt). Exit 0: clean; 1: a finding; 2: the
# fuzzer could not run. Used by the ctest smoke tests (label fuzz) and by
# `./stack fuzz`.
set -uo pipefail

fresh=0 report=
while [ $# -gt 0 ]; do
    case "$1" in
        --fresh) fresh=1; shift ;;
        --report) report=${2:?--report needs a file}; shift 2 ;;
        *) break ;;
    esac
done
[ $# -ge 5 ] || { echo "usage: $0 <name> <binary> <seconds> <seed dir> <work dir> [dict]" >&2; exit 2; }
name=$1 bin=$2 secs=$3 seeds=$4 work=$5 dict=${6:-}
[ -x "$bin" ] || { echo "$name: no fuzzer binary at $bin (build the target nimbus_fuzz)" >&2; exit 2; }
[ "$fresh" = 1 ] && rm -rf "$work"
mkdir -p "$work/corpus" "$work/findings" || exit 2
log=$work/log
stamp=$work/.started
: >"$stamp"

args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$work/findings/")
[ -n "$dict" ] && args+=(-dict="$dict")

# Leaks are findings: libFuzzer checks after each input it keeps or that
# mallocs more than it frees; at exit too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$bin" "${args[@]}" "$work/corpus" "$seeds" >"$log" 2>&1
rc=$?

stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
done_line=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1)
field() { sed -n "s/.* $1: \([^ ]*\).*/\1/p" <<<"$done_line"; }
runs=$(stat number_of_executed_units)
eps=$(stat average_exec_per_sec)
figures=$(printf '%-26s %5ss %8s exec/s %10s runs  cov %-6s ft %-7s corpus %s' "$name" "$secs" \
    "${eps:-?}" "${runs:-?}" "$(field cov)" "$(field ft)" "$(field corp)")
echo "$figures"
if [ -n "$report" ]; then mkdir -p "$(dirname "$report")" && echo "fuzz smoke: $figures" >"$report"; fi

findings=$(find "$work/findings" -type f -newer "$stamp" 2>/dev/null | sort)
if [ -n "$findings" ] || [ "$rc" -ne 0 ]; then
    if [ -z "$findings" ]; then
        echo "$name: the fuzzer exited $rc without a reproducer; last lines of $log:" >&2
        tail -n 30 "$log" >&2
        exit 2
    fi
    while read -r f; do
        kind=$(basename "$f" | sed 's/-[0-9a-f]*$//')
        echo "FINDING in $name: $kind" >&2
        echo "  reproducer: $f" >&2
        echo "  replay:     $bin $f" >&2
    done <<<"$findings"
    # What the sanitizer or the property check said, with the stack.
    grep -m 1 -A 25 -E '^==[0-9]+==ERROR|runtime error|fuzz property failed|SUMMARY|ALARM' \
        "$log" | head -n 40 >&2
    echo "  full log:   $log" >&2
    exit 1
fi
exit 0
