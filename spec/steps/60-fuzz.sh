#!/usr/bin/env bash
# Fuzzing in the tests (issue 13 §5): every libFuzzer target (mk/fuzz.mk, clang with
# -fsanitize=fuzzer,address,undefined) replays its corpus spec/fuzz/NAME/ (seeds and past
# findings), then fuzzes FUZZ_STEP_SECONDS (default 4) from it into a scratch copy; the Lua
# mutation fuzzer (spec/fuzz/csv_fuzz.lua: kr.csv.read, checkpoints) runs as long.
# Longer runs: make fuzz FUZZ_SECONDS=600.  Ends with "N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
pass=0 fail=0
ok()  { echo "pass: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }
secs=${FUZZ_STEP_SECONDS:-4}
unset LD_PRELOAD # inside make asan: the fuzzers carry their own runtime
if ! command -v clang >/dev/null 2>&1; then
  echo "clang is absent: make deps installs clang libclang-rt-14-dev (mk/fuzz.mk)"
  echo "0 passed, 1 failed"; exit 0
fi
if ! make -s fuzz-build >/tmp/kairo-fuzz-build.$$ 2>&1; then
  tail -20 /tmp/kairo-fuzz-build.$$; rm -f /tmp/kairo-fuzz-build.$$
  echo "0 passed, 1 failed"; exit 0
fi
rm -f /tmp/kairo-fuzz-build.$$
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
for t in $(make -s --no-print-directory fuzz-targets); do
  bin=build-fuzz/fuzz_$t
  if out=$($bin -timeout=10 -rss_limit_mb=2048 spec/fuzz/$t/* 2>&1); then
    ok "$t replays its $(ls spec/fuzz/$t | wc -l) corpus inputs"
  else
    bad "$t on its corpus"; echo "$out" | tail -25
  fi
  mkdir -p "$tmp/$t"
  if out=$($bin -timeout=10 -rss_limit_mb=2048 -max_len=65536 -max_total_time=$secs -print_final_stats=1 \
             -artifact_prefix="$tmp/crash-$t-" "$tmp/$t" spec/fuzz/$t 2>&1); then
    ok "$t fuzzed ${secs} s ($(grep -o "number_of_executed_units: [0-9]*" <<<"$out" | grep -o "[0-9]*$") runs)"
  else
    bad "$t found a crash in ${secs} s"; echo "$out" | tail -40
    mkdir -p build-fuzz && cp "$tmp"/crash-$t-* build-fuzz/ 2>/dev/null
  fi
done
if out=$(${LUA:-lua5.4} spec/fuzz/csv_fuzz.lua "$secs" 2>&1); then
  ok "$(tail -1 <<<"$out")"
else
  bad "the Lua mutation fuzzer"; echo "$out" | tail -20
fi
echo "$pass passed, $fail failed"
