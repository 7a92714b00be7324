#!/usr/bin/env bash
# The sanitized suite in the tests (issue 13 §5): kairo built with ASan + UBSan (as `make
# asan` builds it), then the C programs of spec/c and the busted suites that reach every C
# file (tensor ops, linear algebra, activations, the MLP, losses, optimizers, random numbers,
# every reader and writer, images, checkpoints), without the long experiment suites, which
# call the same C through scripts (`make asan` runs everything: ~3x the plain suite).
# Ends with "N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
if [ -n "${KAIRO_SANITIZED:-}" ]; then
  echo "skipped: this is already the sanitized run"; echo "0 passed, 0 failed"; exit 0
fi
pass=0 fail=0
if ! make -s asan-build >/tmp/kairo-asan-build.$$ 2>&1; then
  tail -20 /tmp/kairo-asan-build.$$; rm -f /tmp/kairo-asan-build.$$
  echo "0 passed, 1 failed"; exit 0
fi
rm -f /tmp/kairo-asan-build.$$
export KAIRO_SANITIZED=1 KAIRO_CPATH="build-asan/?.so"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
preload="$(${CC:-cc} -print-file-name=libasan.so) $(${CC:-cc} -print-file-name=libubsan.so)"
for prog in build-asan/spec/*; do
  [ -x "$prog" ] || continue
  line=$(LD_PRELOAD= "$prog" 2>&1 | tail -1)
  if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    pass=$((pass + BASH_REMATCH[1])); fail=$((fail + BASH_REMATCH[2]))
    echo "$prog (sanitized): $line"
  else
    echo "$prog (sanitized) did not finish cleanly: $line"; fail=$((fail + 1))
  fi
done
specs=$(make -s --no-print-directory asan-specs)
out=$(LD_PRELOAD="$preload" ${LUA:-lua5.4} /usr/bin/busted -o spec/support/counting_handler.lua $specs 2>&1)
counts=$(grep '^@@kairo-counts' <<<"$out" | tail -1)
if [[ $counts =~ ^@@kairo-counts\ ([0-9]+)\ ([0-9]+)\ ([0-9]+)\ ([0-9]+) ]]; then
  pass=$((pass + BASH_REMATCH[1])); fail=$((fail + BASH_REMATCH[2] + BASH_REMATCH[3]))
  echo "sanitized busted ($specs): ${BASH_REMATCH[1]} passed, $((BASH_REMATCH[2] + BASH_REMATCH[3])) failed"
  [ $((BASH_REMATCH[2] + BASH_REMATCH[3])) -eq 0 ] || grep -v '^@@' <<<"$out" | tail -40
else
  echo "the sanitized busted run stopped early:"; tail -40 <<<"$out"; fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
