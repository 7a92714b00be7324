#!/usr/bin/env bash
# The build honours the user's CFLAGS, CPPFLAGS and LDFLAGS (kairo's flags added, not replaced),
# keeps the per-file optimisation flags, hides the binding's symbols, and plain `make` neither
# installs packages nor downloads anything.  Checked on `make -n` (what make would run).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
passed=0 failed=0
check() { local what=$1; shift; if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$root"
make -n -B --no-print-directory BUILD="$tmp/b" MODULE="$tmp/b/kairo.so" CFLAGS=-O0 \
    CPPFLAGS=-DUSER_CPP LDFLAGS=-Wl,-z,relro build 2>&1 | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' >"$tmp/n"
cc_lines=$(grep -E '^(cc|gcc|clang) .* -c ' "$tmp/n")
n=$(printf '%s\n' "$cc_lines" | grep -c .)
check "make -n lists compilations ($n)" test "$n" -gt 10
check "every compilation has -fPIC, the includes, -O0 and the user's CPPFLAGS" \
    test "$(printf '%s\n' "$cc_lines" | grep -- '-fPIC' | grep -- '-I/usr/include/lua5.4' | grep -- ' -O0' | grep -c -- '-DUSER_CPP')" = "$n"
check "mlp.o keeps -ftree-vectorize under CFLAGS=-O0" sh -c "grep -- 'core/mlp.c' '$tmp/n' | grep -q -- '-ftree-vectorize'"
check "optim.o keeps -fno-math-errno" sh -c "grep -- 'core/optim.c' '$tmp/n' | grep -q -- '-fno-math-errno'"
check "the binding is compiled with -fvisibility=hidden" sh -c "grep -- 'lua/kairo.c\|lua/init.c' '$tmp/n' | grep -q -- '-fvisibility=hidden'"
check "every link has the user's LDFLAGS" test "$(grep -E -- '-shared' "$tmp/n" | grep -vc -- '-Wl,-z,relro')" = 0
check "libkairo.so gets its SONAME" sh -c "grep -q -- '-soname,libkairo.so.0' '$tmp/n'"
make -n -B --no-print-directory all >"$tmp/all" 2>&1
check "plain make runs no apt-get and downloads nothing" sh -c "! grep -Eq 'apt-get|wget|curl|dpkg-deb' '$tmp/all'"
check "make deps installs (as root) and fetches the data" sh -c "make -n --no-print-directory deps | grep -q 'apt-get install'"
# One version: core/kairo.h, the rockspec's name and version field.
v=$(sed -n 's/^#define KR_VERSION "\(.*\)"/\1/p' core/kairo.h)
check "a rockspec for version $v" test -f "kairo-$v-1.rockspec"
check "the rockspec's version field is $v-1" grep -q "^version = \"$v-1\"" "kairo-$v-1.rockspec"
check "LICENSE is MIT" grep -q '^MIT License' LICENSE
echo "$passed passed, $failed failed"
