#!/usr/bin/env bash
# Fuzzes every target of tests/fuzz in turn for an equal share of TOTAL
# seconds (default 3600: an hour in all) and prints each one's executions.
# Crashes land in build-fuzz/crash/TARGET; the exit code is non-zero when
# any target found one.
set -uo pipefail
cd "$(dirname "$0")/.."
total=${1:-3600}
targets=($(bash scripts/fuzz.sh --list))
share=$(( total / ${#targets[@]} ))
fail=0
printf '%-10s %8s %12s %s\n' target seconds executions result
for t in "${targets[@]}"; do
  log=build-fuzz/fuzz-$t.log
  mkdir -p build-fuzz
  bash scripts/fuzz.sh "$t" "$share" >"$log" 2>&1
  rc=$?
  [ $rc -eq 77 ] && { echo "fuzz_all: skipped: no clang with libFuzzer"; exit 77; }
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  res=ok
  [ $rc -ne 0 ] && { res="CRASH (see $log)"; fail=1; }
  printf '%-10s %8s %12s %s\n' "$t" "$share" "${execs:-?}" "$res"
done
exit $fail
