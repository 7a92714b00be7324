#!/usr/bin/env bash
# kairo-VERSION-1.rockspec: `luarocks make --tree DIR` with Debian's luarocks, offline, in a fresh
# copy of the checkout (so everything is compiled by LuaRocks's build), then the rock is used
# from the tree alone.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
passed=0 failed=0
check() { local what=$1; shift; if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi; }
if ! command -v luarocks >/dev/null; then
    echo "FAIL: luarocks is missing (make deps installs Debian's luarocks)"; echo "0 passed, 1 failed"; exit 0
fi
v=$(sed -n 's/^#define KR_VERSION "\(.*\)"/\1/p' "$root/core/kairo.h")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src"
(cd "$root" && git ls-files -co --exclude-standard -z | grep -zv '^data/' | xargs -0 tar cf - 2>/dev/null) | tar xf - -C "$tmp/src"
rm -rf "$tmp/src/build" "$tmp/src"/lua/*.so "$tmp/src"/lua/kairo/*.so
# No network: an unreachable proxy and no servers, so any download would fail.
(cd "$tmp/src" && http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
    nice luarocks --lua-version 5.4 --only-server=file:///nonexistent make --tree "$tmp/tree" \
    "kairo-$v-1.rockspec" >"$tmp/log" 2>&1)
rc=$?
check "luarocks make --tree succeeds offline (status $rc; $(tail -3 "$tmp/log" | tr '\n' ' '))" test $rc = 0
check "the build passed LuaRocks's CFLAGS (-O2 -fPIC)" grep -q -- '-O2 -fPIC' "$tmp/log"
check "the per-file -ftree-vectorize survives" sh -c "grep -- 'core/mlp.c' '$tmp/log' | grep -q -- '-ftree-vectorize'"
check "Debian's OpenBLAS paths were passed" grep -q -- '-L/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas' "$tmp/log"
check "luarocks lists kairo $v-1" sh -c "luarocks --lua-version 5.4 --tree '$tmp/tree' list --porcelain | grep -q '^kairo	$v-1'"
mkdir -p "$tmp/elsewhere"
out=$(cd "$tmp/elsewhere" && LUA_PATH="$tmp/tree/share/lua/5.4/?.lua;$tmp/tree/share/lua/5.4/?/init.lua" \
      LUA_CPATH="$tmp/tree/lib/lua/5.4/?.so" lua5.4 -e 'local kr = require "kairo"; print(kr._VERSION, kr.eye(3):sum())' 2>&1)
check "require \"kairo\" from the rock tree: $out" test "$out" = "$v	3.0"
out=$(cd "$tmp/elsewhere" && env -u LUA_PATH -u LUA_CPATH "$tmp/tree/bin/kairo" -e 'print(require("kairo")._VERSION)' 2>&1)
check "the tree's bin/kairo runs: $out" test "$out" = "$v"
echo "$passed passed, $failed failed"
