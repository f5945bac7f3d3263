#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan+UBSan) in
# build-fuzz and runs them on their committed corpora.
#   scripts/fuzz.sh TARGET [SECONDS]  fuzz one target (default 60 s); new
#                                     inputs go to build-fuzz/corpus/TARGET,
#                                     crashes to build-fuzz/crash/TARGET
#   scripts/fuzz.sh --replay          build all, run every committed input once
#   scripts/fuzz.sh --list            the target names
# libFuzzer's own failure code (77) is changed to 1: 77 means skipped.
# Exits 77 when clang or its libFuzzer runtime (libclang-rt-14-dev) is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# every tests/fuzz/fuzz_NAME.c is a target NAME
targets=($(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//'))
if [ "${1:-}" = --list ]; then printf '%s\n' "${targets[@]}"; exit 0; fi
[ $# -ge 1 ] || { echo "usage: scripts/fuzz.sh TARGET [SECONDS] | --replay | --list" >&2; exit 2; }

cc=${XPORT_FUZZ_CC:-$(command -v clang-14 || command -v clang || true)}
if [ -z "$cc" ]; then
  echo "fuzz: skipped: no clang (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){return 0;}' >"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>/dev/null; then
  echo "fuzz: skipped: $cc cannot link -fsanitize=fuzzer (install libclang-rt-14-dev)" >&2
  exit 77
fi

build=build-fuzz
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug \
        -DXPORT_FUZZ=ON -DXPORT_BUILD_TESTS=OFF -DXPORT_WERROR=OFF >/dev/null
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ "$1" = --replay ]; then
  cmake --build "$build" -j2 --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null
  fail=0
  for t in "${targets[@]}"; do
    dir=tests/fuzz/corpus/$t
    [ -d "$dir" ] || { echo "fuzz: $t: no corpus at $dir" >&2; fail=1; continue; }
    if "$build/tests/fuzz/fuzz_$t" -runs=0 -error_exitcode=1 "$dir" >"$build/replay-$t.log" 2>&1; then
      echo "fuzz: $t: $(ls "$dir" | wc -l) inputs replayed"
    else
      echo "fuzz: $t: FAILED (log: $build/replay-$t.log)" >&2
      tail -n 40 "$build/replay-$t.log" >&2
      fail=1
    fi
  done
  exit $fail
fi

t=$1
secs=${2:-60}
case " ${targets[*]} " in *" $t "*) ;; *) echo "fuzz: unknown target '$t' (scripts/fuzz.sh --list)" >&2; exit 2;; esac
cmake --build "$build" -j2 --target "fuzz_$t" >/dev/null
mkdir -p "$build/corpus/$t" "$build/crash/$t"
# new inputs land in the scratch corpus first; the committed one is read only
exec "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
     -max_len=65536 -timeout=10 -error_exitcode=1 -rss_limit_mb=1024 \
     -artifact_prefix="$build/crash/$t/" "$build/corpus/$t" "tests/fuzz/corpus/$t"
