#!/usr/bin/env bash
# make install into a DESTDIR: the file list, a C program built with `pkg-config --cflags --libs
# kairo` and run against the installed libkairo.so.0, and `require "kairo"` (and bin/kairo)
# from the installed tree only, run from a folder outside the checkout.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok; else fail "$what"; fi; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest prefix=/opt/kairo
if ! make -C "$root" --no-print-directory install DESTDIR="$dest" PREFIX=$prefix >"$tmp/log" 2>&1; then
    cat "$tmp/log"; echo "0 passed, 1 failed"; exit 0
fi
ok
top=$dest$prefix
version=$(sed -n 's/^#define KR_VERSION "\(.*\)"/\1/p' "$root/core/kairo.h")
for f in lib/libkairo.so.$version lib/libkairo.so.0 lib/libkairo.so lib/libkairo.a \
         include/kairo/kairo.h include/kairo/tensor.h lib/pkgconfig/kairo.pc bin/kairo \
         share/man/man1/kairo.1 share/doc/kairo/LICENSE share/lua/5.4/kairo/init.lua; do
    check "installed $f" test -e "$top/$f"
done
check "no private header installed" test ! -e "$top/include/kairo/fileutil.h"
ls "$top"/lib/lua/5.4/kairo*.so "$top"/lib/lua/5.4/kairo/core.so >/dev/null 2>&1 || true
check "the C module installed" sh -c "ls '$top'/lib/lua/5.4/kairo.so '$top'/lib/lua/5.4/kairo/core.so 2>/dev/null | grep -q ."
check "SONAME libkairo.so.0" sh -c "readelf -d '$top/lib/libkairo.so.$version' | grep -q 'SONAME.*\[libkairo.so.0\]'"
# The Lua module exports its luaopen_* functions and nothing else.
mods=$(find "$top/lib/lua" -name '*.so')
others=$(for m in $mods; do nm -D --defined-only "$m" | awk '{print $3}'; done | grep -v '^luaopen_' | grep -v '^$' || true)
check "the Lua module exports only luaopen_* (extra: $others)" test -z "$others"

# A C program against the installed library, flags from pkg-config with PKG_CONFIG_PATH inside
# the DESTDIR (the .pc names /opt/kairo, so its prefix is redirected with --define-prefix).
export PKG_CONFIG_PATH=$top/lib/pkgconfig
cat >"$tmp/prog.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <kairo/kairo.h>
int main(void)
{
    int64_t shape[2] = {2, 3};
    kr_tensor t;
    if (kr_tensor_empty(&t, KR_F64, 2, shape) != KR_OK) return 1;
    double *p = kr_data(&t);
    for (int i = 0; i < 6; i++) p[i] = i + 1;
    printf("kairo %s numel %lld last %g\n", KR_VERSION, (long long)kr_numel(&t), p[5]);
    kr_tensor_release(&t);
    return 0;
}
C
flags=$(pkg-config --define-prefix --cflags --libs kairo 2>"$tmp/pc.err")
check "pkg-config --cflags --libs kairo ($(cat "$tmp/pc.err"))" test -n "$flags"
check "pkg-config --modversion is $version" test "$(pkg-config --modversion kairo)" = "$version"
if cc -o "$tmp/prog" "$tmp/prog.c" $flags 2>"$tmp/cc.err"; then
    ok
    out=$(cd "$tmp" && LD_LIBRARY_PATH=$top/lib ./prog 2>&1)
    check "the C program runs against the installed library: $out" \
        test "$out" = "kairo $version numel 6 last 6"
    check "the program uses the installed libkairo.so.0" \
        sh -c "cd '$tmp' && LD_LIBRARY_PATH='$top/lib' ldd ./prog | grep -q '$top/lib/libkairo.so.0'"
else
    fail "compiling against the installed headers: $(cat "$tmp/cc.err")"
fi

# require "kairo" with only the installed folders on the search paths, from outside the checkout.
mkdir -p "$tmp/elsewhere"
out=$(cd "$tmp/elsewhere" && LUA_PATH="$top/share/lua/5.4/?.lua;$top/share/lua/5.4/?/init.lua" \
      LUA_CPATH="$top/lib/lua/5.4/?.so" ROOT="$root" lua5.4 -e '
        local kr = require "kairo"
        local src = debug.getinfo(kr.cli.parse, "S").source
        local from_checkout = src:find(os.getenv("ROOT"), 1, true) ~= nil
        print(kr._VERSION, (kr.ones(2, 2) * kr.ones(2, 2)):sum(), from_checkout and "checkout" or "installed")' 2>&1)
check "require \"kairo\" from the installed tree: $out" test "$out" = "$version	8.0	installed"

# bin/kairo from its installed place, with no LUA_PATH of our own.
out=$(cd "$tmp/elsewhere" && env -u LUA_PATH -u LUA_CPATH "$top/bin/kairo" -e 'print(require("kairo")._VERSION)' 2>&1)
check "installed bin/kairo runs: $out" test "$out" = "$version"
printf 'print(kr.zeros(3):sum())\n' | (cd "$tmp/elsewhere" && "$top/bin/kairo" >"$tmp/repl.out" 2>&1)
check "installed bin/kairo REPL: $(tr '\n' ' ' <"$tmp/repl.out")" grep -q '^0' "$tmp/repl.out"

# uninstall leaves nothing of kairo's behind (only the empty folders).
make -C "$root" --no-print-directory uninstall DESTDIR="$dest" PREFIX=$prefix >"$tmp/log" 2>&1
left=$(find "$dest" -type f -o -type l)
check "uninstall removes every file (left: $left)" test -z "$left"

echo "$passed passed, $failed failed"
