#!/bin/bash
# Instructions per small operation, counted by callgrind (repeatable whatever the machine's
# load): a run of N operations minus a run of none, divided by N, for kairo and for NumPy.
#
#   bash bench/instructions.sh            a + b and a:add_(b) on 4x4 float64 tensors
#   N=50000 bash bench/instructions.sh
# Needs valgrind (and /usr/bin/python3 with NumPy for the peer's column).
set -eu
cd "$(dirname "$0")/.."
N=${N:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/k.lua" <<'EOF'
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "lua/?.so;" .. package.cpath
local kr = require "kairo"
local op, n = arg[1], tonumber(arg[2])
local a, b = kr.ones(4, 4), kr.ones(4, 4)
local c = a + b
a:add_(b)
if op == "add" then for _ = 1, n do c = a + b end
else for _ = 1, n do a:add_(b) end end
EOF
cat > "$tmp/n.py" <<'EOF'
import sys
import numpy as np
op, n = sys.argv[1], int(sys.argv[2])
a, b = np.ones((4, 4)), np.ones((4, 4))
c = a + b
a += b
if op == "add":
    for _ in range(n): c = a + b
else:
    for _ in range(n): a += b
EOF

count() { # count FILE... : total instructions of the command
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$@" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_op() { # per_op OP PROGRAM SCRIPT
    local z m
    z=$(count "$2" "$3" "$1" 0)
    m=$(count "$2" "$3" "$1" "$N")
    echo $(( (m - z) / N ))
}
printf '%-16s %12s %12s\n' "4x4 float64" "kairo" "numpy"
for op in add add_; do
    k=$(per_op "$op" lua5.4 "$tmp/k.lua")
    if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
        p=$(per_op "$op" /usr/bin/python3 "$tmp/n.py")
    else
        p="-"
    fi
    label="a + b"; [ "$op" = add_ ] && label="a:add_(b)"
    printf '%-16s %12s %12s   instructions per operation (callgrind, N=%d)\n' "$label" "$k" "$p" "$N"
done
