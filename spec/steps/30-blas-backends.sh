#!/bin/bash
# The GEMM-heavy suites once more with each GEMM library forced (KAIRO_BLAS=openblas, =blis):
# the normal run mixes them by shape (core/gemm_backend.c), these runs make every product go
# through one.  BLIS comes with `make`'s deps (libblis4), so its absence is a failure here.
cd "$(dirname "$0")/../.." || exit 1
LUA=${LUA:-lua5.4}
BUSTED=${BUSTED:-/usr/bin/busted}
SUITES="spec/matmul_spec.lua spec/nn_spec.lua spec/gradcheck_spec.lua spec/blas_backend_spec.lua"
if ! ldconfig -p | grep -q 'libblis\.so\.4'; then
  echo "libblis.so.4 is missing (Debian package libblis4, installed by make's deps step)"
  echo "0 passed, 1 failed"
  exit 1
fi
passed=0 failed=0
for mode in openblas blis; do
  out=$(KAIRO_BLAS=$mode $LUA $BUSTED -o spec/support/counting_handler.lua $SUITES 2>&1)
  counts=$(printf '%s\n' "$out" | sed -n 's/^@@kairo-counts \([0-9]*\) \([0-9]*\) \([0-9]*\) [0-9]*$/\1 \2 \3/p')
  if [ -z "$counts" ]; then
    printf '%s\n' "$out" | tail -20
    echo "KAIRO_BLAS=$mode: busted did not report its counts"
    failed=$((failed + 1))
    continue
  fi
  read -r s f e <<<"$counts"
  [ $((f + e)) -gt 0 ] && printf '%s\n' "$out" | grep -v '^@@kairo-counts' | tail -40
  echo "KAIRO_BLAS=$mode: $s passed, $((f + e)) failed"
  passed=$((passed + s)) failed=$((failed + f + e))
done
echo "$passed passed, $failed failed"
