#!/usr/bin/env bash
# valgrind memcheck on a representative subset (issue 13 §5): spec/support/memcheck.lua runs
# every reader and writer (PNG, JPEG, PGM/PPM, .npy, IDX plain and gzip, network files, CSV,
# checkpoints), hostile inputs that must fail, and a few MLP training steps, on the normal
# build; valgrind must report 0 errors.  Ends with "N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
if [ -n "${KAIRO_SANITIZED:-}" ]; then # valgrind and ASan do not mix
  echo "skipped: inside the sanitized run"; echo "0 passed, 0 failed"; exit 0
fi
if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind is absent: make deps installs it (mk/fuzz.mk)"; echo "0 passed, 1 failed"; exit 0
fi
unset LD_PRELOAD
log=$(mktemp) && trap 'rm -f "$log"' EXIT
out=$(OPENBLAS_NUM_THREADS=1 valgrind --tool=memcheck --error-exitcode=99 --leak-check=no \
        --log-file="$log" ${LUA:-lua5.4} spec/support/memcheck.lua 2>&1); rc=$?
summary=$(grep 'ERROR SUMMARY' "$log" | tail -1)
if [ $rc -eq 0 ] && grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
  echo "pass: memcheck: $(tail -1 <<<"$out"); ${summary#==*== }"; echo "1 passed, 0 failed"
else
  echo "FAIL: memcheck (exit $rc): $summary"; tail -60 "$log"; echo "$out" | tail -10
  echo "0 passed, 1 failed"
fi
